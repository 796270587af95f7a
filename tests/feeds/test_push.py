"""WebSub subscriber against a real local hub: intent verification, signed content, bad signatures, leases."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from newswatch.config import FetchConfig
from newswatch.feeds.fetch import make_session
from newswatch.feeds.netguard import AddressGuard
from newswatch.feeds.push import (
    WebSubError,
    WebSubSettings,
    WebSubSubscriber,
    discover,
    parse_link_header,
    signature_valid,
)
from tests.feedserver import FeedServer

TOPIC = "https://news.example/feed.atom"
FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>News</title>
<entry><title>Pushed item</title><id>tag:news.example,2025:1</id><link href="https://news.example/1"/></entry></feed>"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalHub:
    """A minimal WebSub hub: accepts a subscription (202), verifies intent with a challenge, then can publish."""

    base: str = ""
    lease: int = 120
    refuse: bool = False
    subscribers: dict[str, dict[str, str]] = field(default_factory=dict)  # topic -> {callback, secret}
    verifications: list[tuple[int, bool]] = field(default_factory=list)  # (status, challenge echoed)
    runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hub", self._hub)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.base = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()

    async def mount(self, server: FeedServer) -> None:
        """Serve the hub at ``/hub`` on a feed server's origin instead of a port of its own.

        The service's session reaches a private address only when the config lists it, so a local hub must
        live beside a listed feed (as a self-hosted site's hub does).
        """
        server.handle("/hub", self._hub)
        self.base = server.url("")
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session:
            await self._session.close()
        if self.runner:
            await self.runner.cleanup()

    @property
    def url(self) -> str:
        return self.base + "/hub"

    async def _hub(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if self.refuse:
            return web.Response(status=400, text="topic not allowed here")
        params = {k: str(v) for k, v in form.items()}
        # Verify asynchronously after accepting, as most hubs do (§5.3).
        task = asyncio.create_task(self._verify(params))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=202)

    async def _verify(self, params: dict[str, str]) -> None:
        assert self._session is not None
        challenge = secrets.token_hex(8)
        query = {
            "hub.mode": params["hub.mode"],
            "hub.topic": params["hub.topic"],
            "hub.challenge": challenge,
            "hub.lease_seconds": str(self.lease),
        }
        async with self._session.get(params["hub.callback"], params=query) as resp:
            text = await resp.text()
            ok = 200 <= resp.status < 300 and text == challenge
            self.verifications.append((resp.status, ok))
        if ok and params["hub.mode"] == "subscribe":
            self.subscribers[params["hub.topic"]] = {
                "callback": params["hub.callback"],
                "secret": params.get("hub.secret", ""),
            }

    async def verify_foreign(self, callback: str, topic: str, mode: str = "subscribe") -> int:
        """A verification request for something the subscriber never asked for."""
        assert self._session is not None
        query = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": "c", "hub.lease_seconds": "60"}
        async with self._session.get(callback, params=query) as resp:
            return resp.status

    async def publish(self, topic: str, body: bytes, *, signature: str | None = "sha256") -> int:
        """Distribute content to the topic's subscriber; ``signature`` is the method, "bad", or None."""
        assert self._session is not None
        sub = self.subscribers[topic]
        headers = {
            "Content-Type": "application/atom+xml",
            "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"',
        }
        if signature == "bad":
            headers["X-Hub-Signature"] = "sha256=" + "0" * 64
        elif signature is not None:
            digest = hmac.new(sub["secret"].encode(), body, getattr(hashlib, signature)).hexdigest()
            headers["X-Hub-Signature"] = f"{signature}={digest}"
        async with self._session.post(sub["callback"], data=body, headers=headers) as resp:
            return resp.status


@dataclass
class Received:
    items: list[tuple[str, bytes, str | None]] = field(default_factory=list)
    event: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, topic: str, body: bytes, content_type: str | None) -> None:
        self.items.append((topic, body, content_type))
        self.event.set()


@pytest.fixture
async def hub() -> AsyncIterator[LocalHub]:
    h = LocalHub()
    await h.start()
    yield h
    await h.close()


@pytest.fixture
async def received() -> Received:
    return Received()


@pytest.fixture
async def subscriber(received: Received) -> AsyncIterator[WebSubSubscriber]:
    port = free_port()
    settings = WebSubSettings(
        callback_url=f"http://127.0.0.1:{port}/websub",
        secret="s3cret-for-tests-only",
        listen=f"127.0.0.1:{port}",
    )
    sub = WebSubSubscriber(settings, received)
    await sub.start()
    yield sub
    await sub.close()


async def wait_for(predicate: Any) -> None:
    """Until ``predicate()`` holds, at most 2 s (the state belongs to another server: polling is simplest)."""
    async with asyncio.timeout(2.0):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_subscribe_verify_and_receive_signed_content_within_2s(
    hub: LocalHub, subscriber: WebSubSubscriber, received: Received
) -> None:
    async with aiohttp.ClientSession() as session:
        sub = await subscriber.subscribe(session, hub.url, TOPIC)
    await wait_for(lambda: TOPIC in hub.subscribers)
    assert hub.verifications == [(200, True)]
    assert sub.state == "active" and sub.lease_seconds == hub.lease
    assert subscriber.active(TOPIC)
    # The hub was given our per-topic callback and a derived secret, never the configured one.
    assert hub.subscribers[TOPIC]["callback"] == subscriber.callback_for(TOPIC)
    assert hub.subscribers[TOPIC]["secret"] == subscriber.secret_for(TOPIC) != "s3cret-for-tests-only"

    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await hub.publish(TOPIC, FEED) == 202
    async with asyncio.timeout(2.0):
        await received.event.wait()
    assert loop.time() - start < 2.0
    assert received.items == [(TOPIC, FEED, "application/atom+xml")]
    assert sub.notifications == 1 and sub.last_content_at is not None


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
async def test_every_spec_signature_method_is_accepted(
    hub: LocalHub, subscriber: WebSubSubscriber, received: Received, method: str
) -> None:
    async with aiohttp.ClientSession() as session:
        await subscriber.subscribe(session, hub.url, TOPIC)
    await wait_for(lambda: TOPIC in hub.subscribers)
    assert await hub.publish(TOPIC, FEED, signature=method) == 202
    await wait_for(lambda: bool(received.items))


@pytest.mark.parametrize("signature", ["bad", None, "md5"])
async def test_bad_or_missing_signature_is_ignored_but_acknowledged(
    hub: LocalHub, subscriber: WebSubSubscriber, received: Received, signature: str | None
) -> None:
    async with aiohttp.ClientSession() as session:
        sub = await subscriber.subscribe(session, hub.url, TOPIC)
    await wait_for(lambda: TOPIC in hub.subscribers)
    # §7.1.2: locally ignored; a 2xx anyway so a forger cannot tell.
    assert await hub.publish(TOPIC, b"<feed>forged</feed>", signature=signature) == 202
    await asyncio.sleep(0.2)
    assert received.items == []
    assert sub.rejected == 1 and subscriber.stats.rejected == 1
    # A good one afterwards still gets through.
    assert await hub.publish(TOPIC, FEED) == 202
    await wait_for(lambda: bool(received.items))
    assert received.items[0][1] == FEED


async def test_verification_for_topics_we_did_not_ask_for_is_refused(
    hub: LocalHub, subscriber: WebSubSubscriber
) -> None:
    async with aiohttp.ClientSession() as session:
        await subscriber.subscribe(session, hub.url, TOPIC)
    await wait_for(lambda: TOPIC in hub.subscribers)
    callback = subscriber.callback_for(TOPIC)
    other = subscriber.callback_for("https://other.example/feed")
    assert await hub.verify_foreign(callback, "https://other.example/feed") == 404  # wrong topic
    assert await hub.verify_foreign(other, "https://other.example/feed") == 404  # never subscribed
    assert await hub.verify_foreign(callback, TOPIC, mode="unsubscribe") == 404  # we did not ask to leave
    assert subscriber.active(TOPIC)


async def test_unsubscribe_is_verified(hub: LocalHub, subscriber: WebSubSubscriber) -> None:
    async with aiohttp.ClientSession() as session:
        await subscriber.subscribe(session, hub.url, TOPIC)
        await wait_for(lambda: TOPIC in hub.subscribers)
        await subscriber.unsubscribe(session, TOPIC)
    await wait_for(lambda: len(hub.verifications) == 2)
    assert hub.verifications[-1] == (200, True)
    sub = subscriber.subscription(TOPIC)
    assert sub is not None and sub.state == "unsubscribed" and not subscriber.active(TOPIC)


async def test_content_for_an_unknown_callback_is_gone(subscriber: WebSubSubscriber) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(subscriber.callback_for("https://x.example/"), data=b"x") as resp,
    ):
        assert resp.status == 410


async def test_hub_refusal_is_an_error(hub: LocalHub, subscriber: WebSubSubscriber) -> None:
    hub.refuse = True
    async with aiohttp.ClientSession() as session:
        with pytest.raises(WebSubError, match=r"answered HTTP 400: topic not allowed here"):
            await subscriber.subscribe(session, hub.url, TOPIC)
        with pytest.raises(WebSubError, match="unreachable"):
            await subscriber.subscribe(session, f"http://127.0.0.1:{free_port()}/hub", TOPIC)


async def test_hub_at_an_unlisted_private_address_is_refused(
    hub: LocalHub, subscriber: WebSubSubscriber
) -> None:
    # A hub named by a feed is as untrusted as a redirect: the service's session does not reach it.
    async with make_session(FetchConfig(), AddressGuard(["https://news.example/feed.atom"])) as session:
        with pytest.raises(WebSubError, match=r"unreachable: .*127\.0\.0\.1:\d+ refused: loopback address"):
            await subscriber.subscribe(session, hub.url, TOPIC)
    assert hub.subscribers == {} and hub.verifications == []


async def test_denial_is_recorded(subscriber: WebSubSubscriber) -> None:
    async with aiohttp.ClientSession() as session:
        hub_port = free_port()
        with pytest.raises(WebSubError):
            await subscriber.subscribe(session, f"http://127.0.0.1:{hub_port}/hub", TOPIC)
        params = {"hub.mode": "denied", "hub.topic": TOPIC, "hub.reason": "no pushes for you"}
        async with session.get(subscriber.callback_for(TOPIC), params=params) as resp:
            assert resp.status == 200
    sub = subscriber.subscription(TOPIC)
    assert sub is not None and sub.state == "denied" and sub.denied_reason == "no pushes for you"


# --------------------------------------------------------------------------------------------------------------
# Leases, with a hand-driven clock


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_renew_due_before_lease_expiry(hub: LocalHub, received: Received) -> None:
    clock = Clock()
    port = free_port()
    settings = WebSubSettings(f"http://127.0.0.1:{port}/cb", "another-long-secret", f"127.0.0.1:{port}", 3600)
    subscriber = WebSubSubscriber(settings, received, clock=clock)
    await subscriber.start()
    hub.lease = 3600
    try:
        async with aiohttp.ClientSession() as session:
            await subscriber.subscribe(session, hub.url, TOPIC)
        await wait_for(lambda: TOPIC in hub.subscribers)
        assert subscriber.renew_due() == []
        clock.now += 3600 - 400  # 400 s left: inside the 360 s / 10 % margin? not yet
        assert subscriber.renew_due() == []
        clock.now += 100  # 300 s left
        assert [s.topic for s in subscriber.renew_due()] == [TOPIC]
        clock.now += 400  # expired: no longer active, still due
        assert not subscriber.active(TOPIC)
        assert [s.topic for s in subscriber.renew_due()] == [TOPIC]
    finally:
        await subscriber.close()


async def test_unverified_subscription_is_retried_but_not_hammered(received: Received) -> None:
    clock = Clock()
    settings = WebSubSettings("https://public.example/websub", "another-long-secret", lease=3600)
    subscriber = WebSubSubscriber(settings, received, clock=clock)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(WebSubError):
            await subscriber.subscribe(session, f"http://127.0.0.1:{free_port()}/hub", TOPIC)
    assert subscriber.renew_due() == []
    clock.now += 400
    assert [s.topic for s in subscriber.renew_due()] == [TOPIC]


async def test_lease_that_ran_out_unrenewed_is_dropped(hub: LocalHub, received: Received) -> None:
    clock = Clock()
    port = free_port()
    settings = WebSubSettings(f"http://127.0.0.1:{port}/cb", "another-long-secret", f"127.0.0.1:{port}", 3600)
    subscriber = WebSubSubscriber(settings, received, clock=clock)
    await subscriber.start()
    hub.lease = 3600
    try:
        async with aiohttp.ClientSession() as session:
            await subscriber.subscribe(session, hub.url, TOPIC)
            await wait_for(lambda: TOPIC in hub.subscribers)
            clock.now += 3600 + 359  # expired, but still inside the 360 s renewal margin: kept, and due
            assert [s.topic for s in subscriber.renew_due()] == [TOPIC] and len(subscriber) == 1
            clock.now += 1  # the margin is over and nobody renewed: gone
            assert subscriber.renew_due() == [] and len(subscriber) == 0
            assert subscriber.subscription(TOPIC) is None
            # Its callback now tells the hub to stop.
            assert await hub.publish(TOPIC, FEED) == 410
        assert received.items == []
    finally:
        await subscriber.close()


async def test_unsubscribed_topic_is_dropped(hub: LocalHub, subscriber: WebSubSubscriber) -> None:
    async with aiohttp.ClientSession() as session:
        await subscriber.subscribe(session, hub.url, TOPIC)
        await wait_for(lambda: TOPIC in hub.subscribers)
        await subscriber.unsubscribe(session, TOPIC)
    await wait_for(lambda: len(hub.verifications) == 2)
    assert subscriber.prune() == 1 and len(subscriber) == 0


async def test_subscription_table_is_bounded(hub: LocalHub, received: Received) -> None:
    # A feed naming a new rel="self" topic on every poll: the table keeps the most recent few, not all.
    clock = Clock()
    port = free_port()
    settings = WebSubSettings(f"http://127.0.0.1:{port}/cb", "another-long-secret", f"127.0.0.1:{port}", 3600)
    subscriber = WebSubSubscriber(settings, received, clock=clock, max_subscriptions=3)
    await subscriber.start()
    hub.lease = 3600
    topics = [f"https://churn.example/feed?v={i}" for i in range(6)]
    try:
        async with aiohttp.ClientSession() as session:
            for topic in topics:
                clock.now += 60
                await subscriber.subscribe(session, hub.url, topic)
                await wait_for(lambda t=topic: t in hub.subscribers)  # type: ignore[misc]
                assert len(subscriber) <= 3
            assert [t for t in topics if subscriber.subscription(t)] == topics[3:]
            assert all(subscriber.active(t) for t in topics[3:])
            # Pushes for a dropped topic are refused with 410; kept ones still arrive.
            assert await hub.publish(topics[0], FEED) == 410
            assert await hub.publish(topics[5], FEED) == 202
        await wait_for(lambda: bool(received.items))
        assert [t for t, _, _ in received.items] == [topics[5]]
    finally:
        await subscriber.close()


def test_callback_and_secret_are_stable_per_topic_and_unguessable() -> None:
    async def ignore(topic: str, body: bytes, ctype: str | None) -> None:
        return None

    a = WebSubSubscriber(WebSubSettings("https://h.example/websub/", "0123456789abcdef-one"), ignore)
    b = WebSubSubscriber(WebSubSettings("https://h.example/websub/", "0123456789abcdef-one"), ignore)
    c = WebSubSubscriber(WebSubSettings("https://h.example/websub/", "0123456789abcdef-two"), ignore)
    assert a.callback_for(TOPIC) == b.callback_for(TOPIC)  # survives a restart
    assert a.callback_for(TOPIC).startswith("https://h.example/websub/")
    assert a.callback_for(TOPIC) != a.callback_for(TOPIC + "?x")
    assert a.callback_for(TOPIC) != c.callback_for(TOPIC)
    assert len(a.secret_for(TOPIC)) < 200


@pytest.mark.parametrize(
    ("callback_url", "secret", "message"),
    [("ftp://x/", "0123456789abcdef", "http"), ("https://x/", "short", "16 characters")],
)
def test_settings_are_validated(callback_url: str, secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WebSubSettings(callback_url, secret)


# --------------------------------------------------------------------------------------------------------------
# Signatures and discovery


def test_signature_valid() -> None:
    body = b"payload"
    good = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signature_valid("k", body, f"sha256={good}")
    assert signature_valid("k", body, f"SHA256={good.upper()}")
    assert not signature_valid("k", body + b"x", f"sha256={good}")
    assert not signature_valid("other", body, f"sha256={good}")
    assert not signature_valid("k", body, "")
    assert not signature_valid("k", body, f"md5={hashlib.md5(body).hexdigest()}")
    assert not signature_valid("k", body, "sha256")


def test_parse_link_header() -> None:
    links = parse_link_header(
        [
            '<https://hub.example/>; rel="hub", <https://f.example/feed>; rel=self',
            '<https://b.example/>; rel="hub other"',
        ]
    )
    assert links == [
        ("https://hub.example/", frozenset({"hub"})),
        ("https://f.example/feed", frozenset({"self"})),
        ("https://b.example/", frozenset({"hub", "other"})),
    ]


ATOM_WITH_HUB = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<link rel="hub" href="https://pubsubhubbub.example/"/><link rel="self" href="https://f.example/atom"/>
<link rel="alternate" href="https://f.example/"/>
<entry><link rel="hub" href="https://entry-level.example/"/></entry></feed>"""
RSS_WITH_HUB = b"""<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title>t</title><link>https://f.example/</link><atom:link rel="hub" href="/hub"/>
<atom:link rel="self" href="https://f.example/rss" type="application/rss+xml"/></channel></rss>"""


@pytest.mark.parametrize(
    ("body", "headers", "hubs", "self_url"),
    [
        (ATOM_WITH_HUB, [], ("https://pubsubhubbub.example/",), "https://f.example/atom"),
        (RSS_WITH_HUB, [], ("https://f.example/hub",), "https://f.example/rss"),
        # Link headers win over the document (§4).
        (
            ATOM_WITH_HUB,
            ['<https://h.example/>; rel="hub", </feed>; rel="self"'],
            ("https://h.example/",),
            "https://f.example/feed",
        ),
        (b"<rss version='2.0'><channel><title>t</title></channel></rss>", [], (), None),
        (b"not xml", [], (), None),
        (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><feed/>', [], (), None),
        (None, ['<https://h.example/>; rel="hub"'], ("https://h.example/",), None),
    ],
)
def test_discover(
    body: bytes | None, headers: list[str], hubs: tuple[str, ...], self_url: str | None
) -> None:
    found = discover(body, headers, base_url="https://f.example/rss")
    assert found.hubs == hubs and found.self_url == self_url
