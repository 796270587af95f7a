"""Delivery from the outbox against the local Slack stand-in, on both stores: rate limits, outages, wrong
channels, floods and webhooks.  Nothing of ours is mocked: real store, real notifiers, real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from newswatch.delivery.notify.base import Notifier
from newswatch.delivery.notify.jsonl import JsonlNotifier
from newswatch.delivery.notify.slack import SlackNotifier
from newswatch.delivery.notify.webhook import SIGNATURE_HEADER, JsonWebhookNotifier, SlackWebhookNotifier
from newswatch.delivery.outbox import Delivery
from newswatch.delivery.report import DeliveryPolicy
from newswatch.store import Sighted, Sighting, Store, WatchClaim
from newswatch.stories import BatchStories
from tests.slackstub import GOOD_TOKEN, SlackStub
from tests.stories.items import body_model, hand_profile

STORIES = BatchStories({}, body_model())
PACE = 0.02


async def queue(store: Store, n: int, target: str, *, start: int = 0, watch: str = "w") -> list[str]:
    """Queue n alerts (distinct items, each its own story) for one target; returns their URLs in order."""
    urls = []
    for i in range(start, start + n):
        url = f"https://news.example/{watch}/{i}"
        record = {"event": None, "watch": watch, "story": None, "title": f"Item {i} & <b>", "url": url,
                  "source": "Example", "published": None, "matched": ["x"], "at": "2025-03-05T00:00:00+00:00"}  # fmt: skip
        sighting = Sighting((f"guid:{watch}{i}",), f"fp{i}", 10, 3600.0, 1_741_000_000.0 + i)
        await store.record(
            [Sighted(sighting, (WatchClaim(watch, (target,), record, None),))], STORIES.fresh()
        )
        urls.append(url)
    return urls


def posted_urls(slack: SlackStub) -> list[str]:
    out = []
    for body in slack.posts:
        text = json.dumps(body)
        out.extend(u for u in _urls(text))
    return out


def _urls(text: str) -> list[str]:
    import re

    return re.findall(r"https://news\.example/[a-z0-9]+/\d+", text)


@pytest.fixture
async def slack() -> AsyncIterator[SlackStub]:
    async with SlackStub() as stub:
        yield stub


def slack_notifier(stub: SlackStub) -> SlackNotifier:
    return SlackNotifier(GOOD_TOKEN, stub.base_url, pace=PACE)


async def deliver(
    store: Store, notifiers: dict[str, Notifier], policy: DeliveryPolicy | None = None
) -> Delivery:
    delivery = Delivery(store, notifiers, policy=policy or DeliveryPolicy(flood_max=1000))
    return delivery


async def test_rate_limited_posts_wait_and_keep_order(store: Store, slack: SlackStub) -> None:
    urls = await queue(store, 5, "slack:#news")
    limited = {"n": 0}

    def ratelimit(method: str, body: dict[str, Any]) -> web.StreamResponse | None:
        if method == "chat.postMessage" and limited["n"] < 2:
            limited["n"] += 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        return None

    slack.interceptor = ratelimit
    notifier = slack_notifier(slack)
    delivery = await deliver(store, {"slack": notifier})
    started = time.monotonic()
    while await store.outbox_pending() and time.monotonic() - started < 10:
        report = await delivery.drain()
        if report.next_due:
            await _sleep_until(report.next_due)
    await notifier.close()
    assert posted_urls(slack) == urls  # each once, in order
    assert limited["n"] == 2
    assert time.monotonic() - started >= 2.0  # Retry-After was honoured twice


async def _sleep_until(when: float) -> None:
    import asyncio

    await asyncio.sleep(max(0.0, when - time.time()))


async def test_slack_down_for_a_cycle_then_back(store: Store, slack: SlackStub) -> None:
    urls = await queue(store, 4, "slack:#a") + await queue(store, 3, "slack:#b", start=10)
    slack.interceptor = lambda method, body: web.json_response(
        {"ok": False, "error": "fatal_error"}, status=503
    )
    notifier = slack_notifier(slack)
    first = await (await deliver(store, {"slack": notifier})).drain()
    assert first.sent == 0 and first.retried == 2  # one failure per channel, the rest wait behind it
    assert await store.outbox_pending() == 7
    # Slack is back; the next run (a new process: back-off of the old one does not hold) delivers everything.
    slack.interceptor = None
    second = await (await deliver(store, {"slack": notifier})).drain()
    await notifier.close()
    assert second.sent == 7
    assert await store.outbox_pending() == 0
    got = posted_urls(slack)
    assert sorted(got) == sorted(urls)  # all once
    for channel, expected in (("#a", urls[:4]), ("#b", urls[4:])):  # order per channel
        assert [u for p in slack.posts if p["channel"] == channel for u in _urls(json.dumps(p))] == expected


async def test_unknown_channel_is_parked_once_and_others_flow(
    store: Store, slack: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    slack.channels = {"#news"}
    good = await queue(store, 2, "slack:#news")
    await queue(store, 3, "slack:#nope", start=10)
    notifier = slack_notifier(slack)
    report = await (await deliver(store, {"slack": notifier})).drain()
    await notifier.close()
    assert posted_urls(slack) == good
    assert report.parked == 3
    parked = await store.outbox_parked()
    assert len(parked) == 3 and all("channel_not_found" in reason for _, reason in parked)
    errors = [
        r for r in caplog.records if r.getMessage().startswith("cannot deliver") and r.target == "slack:#nope"
    ]  # type: ignore[attr-defined]
    assert len(errors) == 1  # reported once, not once per record
    assert await store.outbox_pending() == 0
    # Not retried forever: a second drain sends nothing to the wrong channel.
    calls = len(slack.calls)
    await (await deliver(store, {"slack": slack_notifier(slack)})).drain()
    assert len(slack.calls) == calls


async def test_burst_becomes_a_digest_and_pace_holds(store: Store, slack: SlackStub) -> None:
    urls = await queue(store, 100, "slack:#news")
    notifier = slack_notifier(slack)
    policy = DeliveryPolicy(flood_max=5, flood_window=60)
    stamps: list[float] = []

    def stamp(method: str, body: dict[str, Any]) -> None:
        if method == "chat.postMessage":
            stamps.append(time.monotonic())

    slack.interceptor = stamp  # type: ignore[assignment]
    report = await (await deliver(store, {"slack": notifier}, policy)).drain()
    await notifier.close()
    assert len(slack.posts) == 6  # five alerts, then one digest of the other 95
    assert report.digests == 1 and report.sent == 100
    digest = slack.posts[-1]
    assert "95 alerts" in digest["text"]
    assert sorted(set(posted_urls(slack))) == sorted(
        urls[:5] + urls[5:45]
    )  # the digest lists 40 and "… 55 more"
    # Never faster than the channel's pace: slots are reserved a pace apart; arrival jitter may shorten a
    # single gap, never the span of a run of messages.
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert stamps[-1] - stamps[0] >= (len(stamps) - 1) * PACE * 0.9
    assert min(gaps) >= PACE * 0.5
    assert await store.outbox_pending() == 0


async def test_jsonl_gets_everything_even_in_a_flood(store: Store, tmp_path: Any) -> None:
    await queue(store, 30, "jsonl")
    out = tmp_path / "alerts.jsonl"
    sink = JsonlNotifier(str(out))
    await (await deliver(store, {"jsonl": sink}, DeliveryPolicy(flood_max=2))).drain()
    await sink.close()
    assert len(out.read_text().splitlines()) == 30


async def test_json_webhook_is_signed(store: Store) -> None:
    received: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers.get(SIGNATURE_HEADER, "")))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await queue(store, 2, "webhook:")
        sink = JsonWebhookNotifier(f"http://127.0.0.1:{port}/hook", "s3cret")
        report = await (await deliver(store, {"webhook": sink})).drain()
        await sink.close()
    finally:
        await runner.cleanup()
    assert report.sent == 2
    for body, signature in received:
        assert signature == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        payload = json.loads(body)
        assert payload["event"] == "alert" and not any(k.startswith("_") for k in payload)


async def test_slack_webhook_posts_alerts_and_skips_updates(store: Store) -> None:
    posts: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        posts.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/services/T/B/X", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    feats = hand_profile(("0:a", "1:b", "2:c"), {"hamas": 0.8, "boehler": 0.6}, published=1.0)
    try:
        for i in range(2):  # two copies of one story: an alert and an update
            record = {"event": None, "watch": "w", "story": None, "title": f"copy {i}", "url": f"https://x.example/{i}",
                      "source": "S", "published": None, "matched": [], "at": "2025-03-05T00:00:00+00:00"}  # fmt: skip
            sighting = Sighting((f"guid:c{i}",), f"fp{i}", 10, 3600.0, 1.0)
            claim = WatchClaim("w", ("slack-webhook:",), record, feats)
            await store.record([Sighted(sighting, (claim,))], STORIES.fresh())
        sink = SlackWebhookNotifier(f"http://127.0.0.1:{port}/services/T/B/X")
        await (await deliver(store, {"slack-webhook": sink})).drain()
    finally:
        await runner.cleanup()
    assert len(posts) == 1 and "copy 0" in posts[0]["text"]  # the update was not posted as a new alert
    assert await store.outbox_pending() == 0


def test_outbox_command_lists_waiting_and_parked(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from newswatch.cli import main
    from newswatch.store import open_store

    url = f"sqlite:///{tmp_path}/s.db"

    async def setup() -> None:
        store = open_store(url)
        await queue(store, 2, "slack:#news")
        await queue(store, 1, "slack:#gone", start=5)
        head = await store.outbox_head("slack:#gone", 1)
        await store.outbox_park(
            "slack:#gone", [head[0].id], "Slack chat.postMessage failed: channel_not_found"
        )
        await store.close()

    asyncio.run(setup())
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"store: {url}\n", encoding="utf-8")
    assert main(["outbox", "-c", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "waiting: 2" in out and "slack:#news: 2" in out
    assert "parked: 1" in out and "channel_not_found" in out and "Item 5" in out
