"""WebSub (W3C Recommendation) subscriber: push delivery of feed updates from a publisher's hub.

Owns the subscriber side of the protocol: asking the hub found by :mod:`newswatch.feeds.discovery` (§4)
for a subscription (§5.1; the request goes through the caller's session and its address guard), answering
the hub's verification of intent at our callback (§5.3), checking the HMAC signature on every content
distribution (§7.1), and telling the caller which leases to renew.  The content itself goes to an injected
``on_content(topic_url, body, content_type)`` coroutine; parsing and alerting are the pipeline's.

The subscription table is bounded: a lease that ran out and was not renewed within the renewal margin, and
an unsubscribed topic, are dropped (a feed still advertising its hub subscribes again on its next poll), and
past ``max_subscriptions`` the least recently active subscription makes room, so a feed that names a new
``rel="self"`` topic on every poll cannot grow it.  A dropped subscription's callback answers 410, which tells
the hub to stop.

Each topic gets its own callback URL, ``{callback_url}/{token}``, and its own ``hub.secret``; both are derived
from the configured secret with HMAC, so they survive a restart without being stored and a callback URL
cannot be guessed from a topic.  A notification whose signature is missing or wrong is ignored but still
acknowledged with 202, as §7.1.2 allows, so a forger learns nothing from the status code.

Configured under ``websub:`` (see the README).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from newswatch.constants import MAX_WEBSUB_SUBSCRIPTIONS, PUSH_BODIES_AT_ONCE, PUSH_WAIT_S
from newswatch.feeds.discovery import Discovery, discover, parse_link_header
from newswatch.feeds.pushsig import signature_valid
from newswatch.shared.http import parse_listen
from newswatch.shared.listener import BoundedListener

__all__ = [
    "Discovery",
    "OnContent",
    "Subscription",
    "WebSubError",
    "WebSubSettings",
    "WebSubSubscriber",
    "discover",
    "parse_link_header",
    "signature_valid",
]

log = logging.getLogger("newswatch.websub")

OnContent = Callable[[str, bytes, str | None], Awaitable[None]]
State = Literal["pending", "active", "denied", "unsubscribing", "unsubscribed"]

DEFAULT_LEASE_S = 86400.0
DEFAULT_LISTEN = "0.0.0.0:8081"
# Renew when less than this share of the granted lease is left (and at least RENEW_MIN_S before expiry).
RENEW_FRACTION = 0.1
RENEW_MIN_S = 300.0
MAX_BODY_BYTES = 10 * 1024 * 1024  # same cap as a fetched feed


class WebSubError(Exception):
    """A hub refused or could not be reached; ``str()`` is one line naming the hub and the cause."""


@dataclass(frozen=True)
class WebSubSettings:
    callback_url: str  # public base URL; each topic gets {callback_url}/{token}
    secret: str
    listen: str = DEFAULT_LISTEN
    lease: float = DEFAULT_LEASE_S

    def __post_init__(self) -> None:
        if urlsplit(self.callback_url).scheme not in ("http", "https"):
            raise ValueError(f"websub.callback_url must be an http(s) URL, not {self.callback_url!r}")
        if len(self.secret) < 16:
            raise ValueError("websub.secret must be at least 16 characters")


@dataclass
class Subscription:
    topic: str
    hub: str
    token: str
    state: State = "pending"
    requested_at: float | None = None  # when we last asked the hub
    lease_seconds: float | None = None
    expires_at: float | None = None  # loop time (time.monotonic-like clock of the subscriber)
    verified_at: float | None = None
    last_content_at: float | None = None
    denied_reason: str | None = None
    notifications: int = 0
    rejected: int = 0  # notifications ignored for a missing or bad signature


@dataclass
class _Stats:
    accepted: int = 0
    rejected: int = 0
    unknown: int = 0
    busy: int = 0  # notifications answered 503: PUSH_BODIES_AT_ONCE were being read or handed on


class WebSubSubscriber:
    """Subscriptions, the callback endpoint, and lease bookkeeping for one process.

    ``clock`` returns seconds (default: the running loop's clock); ``renew_due`` uses the same clock.
    At most ``max_subscriptions`` are kept (see the module docstring).
    """

    def __init__(
        self,
        settings: WebSubSettings,
        on_content: OnContent,
        *,
        clock: Callable[[], float] | None = None,
        max_subscriptions: int = MAX_WEBSUB_SUBSCRIPTIONS,
    ) -> None:
        self.settings = settings
        self.on_content = on_content
        self._clock = clock
        self.max_subscriptions = max(1, max_subscriptions)
        self._by_token: dict[str, Subscription] = {}
        self._by_topic: dict[str, Subscription] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Bodies read or handed on at once, each holding its place until its delivery ends (issue 21 point 13).
        self._bodies = asyncio.Semaphore(PUSH_BODIES_AT_ONCE)
        self._listener: BoundedListener | None = None
        self.stats = _Stats()
        self.callback_path = urlsplit(settings.callback_url).path.rstrip("/") or ""

    # ------------------------------------------------------------------------------------------ lifecycle

    def make_app(self) -> web.Application:
        """The aiohttp application serving the callback path (to run alone or to add as a sub-app)."""
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get(self.callback_path + "/{token}", self._verify)
        app.router.add_post(self.callback_path + "/{token}", self._content)
        return app

    async def start(self) -> None:
        """Listen on ``settings.listen`` (host:port), bounded like every listener (shared/listener.py)."""
        host, port = parse_listen(self.settings.listen, "websub.listen")
        self._listener = BoundedListener(self.make_app(), "websub")
        await self._listener.start(host, port)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None

    # ------------------------------------------------------------------------------------------ subscribing

    def callback_for(self, topic_url: str) -> str:
        return f"{self.settings.callback_url.rstrip('/')}/{self._token(topic_url)}"

    def secret_for(self, topic_url: str) -> str:
        # hub.secret must be under 200 bytes (§5.1); 64 hex characters are.
        return hmac.new(
            self.settings.secret.encode(), b"secret\x00" + topic_url.encode(), "sha256"
        ).hexdigest()

    async def subscribe(self, session: aiohttp.ClientSession, hub_url: str, topic_url: str) -> Subscription:
        """Ask ``hub_url`` to push ``topic_url`` to us; returns the (pending) subscription.

        The hub verifies our intent with a GET to the callback, possibly before this returns; the
        subscription turns "active" then.  Raises :class:`WebSubError` when the hub refuses.
        """
        sub = self._register(hub_url, topic_url)
        # Registered before the request: the hub may verify synchronously.  An active subscription stays
        # active while its renewal is verified.
        if sub.state != "active":
            sub.state = "pending"
        sub.requested_at = self._now()
        await self._send(
            session,
            hub_url,
            {
                "hub.mode": "subscribe",
                "hub.topic": topic_url,
                "hub.callback": self.callback_for(topic_url),
                "hub.secret": self.secret_for(topic_url),
                "hub.lease_seconds": str(int(self.settings.lease)),
            },
        )
        return sub

    async def unsubscribe(self, session: aiohttp.ClientSession, topic_url: str) -> None:
        sub = self._by_topic.get(topic_url)
        if sub is None:
            return
        sub.state = "unsubscribing"
        await self._send(
            session,
            sub.hub,
            {"hub.mode": "unsubscribe", "hub.topic": topic_url, "hub.callback": self.callback_for(topic_url)},
        )

    def subscription(self, topic_url: str) -> Subscription | None:
        return self._by_topic.get(topic_url)

    def __len__(self) -> int:
        """How many subscriptions the table holds."""
        return len(self._by_topic)

    def active(self, topic_url: str, now: float | None = None) -> bool:
        """Whether pushes for the topic are expected now (verified and the lease not expired).

        A feed that is not active should be polled as usual; the pipeline can poll an active one at its
        maximum interval, as a safety net for a hub that falls silent.
        """
        sub = self._by_topic.get(topic_url)
        now = self._now() if now is None else now
        return sub is not None and sub.state == "active" and (sub.expires_at is None or sub.expires_at > now)

    def renew_due(self, now: float | None = None) -> list[Subscription]:
        """Subscriptions to (re)subscribe now: leases close to expiry, expired, or never verified."""
        now = self._now() if now is None else now
        self.prune(now)
        due = []
        for sub in self._by_topic.values():
            if sub.state in ("unsubscribing", "unsubscribed"):
                continue
            retry = max(RENEW_MIN_S, self.settings.lease * RENEW_FRACTION)
            if sub.state in ("pending", "denied"):
                # Not (or no longer) verified: ask again, but not more often than `retry`.
                if sub.requested_at is None or now - sub.requested_at >= retry:
                    due.append(sub)
                continue
            if sub.expires_at is None:
                continue
            margin = max(RENEW_MIN_S, (sub.lease_seconds or self.settings.lease) * RENEW_FRACTION)
            recently_asked = sub.requested_at is not None and now - sub.requested_at < RENEW_MIN_S
            if sub.expires_at - now <= margin and not recently_asked:
                due.append(sub)
        return due

    def prune(self, now: float | None = None) -> int:
        """Drop unsubscribed topics and leases that ran out unrenewed; returns how many were dropped."""
        now = self._now() if now is None else now
        dead = [sub for sub in self._by_topic.values() if self._expired(sub, now)]
        for sub in dead:
            self._drop(sub)
        return len(dead)

    def _expired(self, sub: Subscription, now: float) -> bool:
        if sub.state == "unsubscribed":
            return True
        if sub.expires_at is None:
            return False
        # The renewal margin past expiry: time enough for renew_due to have asked the hub again.
        grace = max(RENEW_MIN_S, (sub.lease_seconds or self.settings.lease) * RENEW_FRACTION)
        return sub.expires_at + grace <= now

    # ------------------------------------------------------------------------------------------ the callback

    async def _verify(self, request: web.Request) -> web.StreamResponse:
        """Verification of intent (§5.3) and subscription denial (§5.2)."""
        sub = self._by_token.get(request.match_info["token"])
        q = request.query
        mode, topic = q.get("hub.mode", ""), q.get("hub.topic", "")
        if sub is None or topic != sub.topic:
            return web.Response(status=404, text="unknown subscription")
        if mode == "denied":
            sub.state = "denied"
            sub.denied_reason = q.get("hub.reason") or "denied by the hub"
            log.warning(
                "websub subscription denied",
                extra={"hub": sub.hub, "topic": sub.topic, "error": sub.denied_reason},
            )
            return web.Response(status=200, text="ok")
        challenge = q.get("hub.challenge")
        if not challenge:
            return web.Response(status=400, text="missing hub.challenge")
        if mode == "subscribe" and sub.state in ("pending", "active", "denied"):
            now = self._now()
            lease = _positive_float(q.get("hub.lease_seconds"))
            sub.state, sub.verified_at, sub.lease_seconds = "active", now, lease
            sub.expires_at = now + lease if lease is not None else None
            return web.Response(status=200, text=challenge, content_type="text/plain")
        if mode == "unsubscribe" and sub.state == "unsubscribing":
            sub.state = "unsubscribed"
            return web.Response(status=200, text=challenge, content_type="text/plain")
        # Not an action we asked for (§5.3: "MUST respond with a 404").
        return web.Response(status=404, text="not requested")

    async def _content(self, request: web.Request) -> web.StreamResponse:
        """Content distribution (§7): check the signature, acknowledge at once, hand the body on."""
        sub = self._by_token.get(request.match_info["token"])
        if sub is None or sub.state not in ("active", "pending"):
            self.stats.unknown += 1
            return web.Response(status=410, text="no such subscription")  # a hub drops the subscription
        try:
            await asyncio.wait_for(self._bodies.acquire(), PUSH_WAIT_S)
        except TimeoutError:  # the hub retries later (§7: any status but 2xx is a failure to deliver)
            self.stats.busy += 1
            return web.Response(status=503, text="busy", headers={"Retry-After": str(int(PUSH_WAIT_S))})
        try:
            body = await request.read()
        except BaseException:
            self._bodies.release()
            raise
        signature = request.headers.get("X-Hub-Signature", "")
        if not signature_valid(self.secret_for(sub.topic), body, signature):
            self._bodies.release()
            # §7.1.2: ignore the message; a 2xx all the same, so a forger cannot probe the secret.
            sub.rejected += 1
            self.stats.rejected += 1
            log.warning("websub notification ignored: missing or bad signature", extra={"topic": sub.topic})
            return web.Response(status=202)
        sub.notifications += 1
        sub.last_content_at = self._now()
        self.stats.accepted += 1
        task = asyncio.create_task(self._deliver(sub.topic, body, request.content_type or None))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=202)

    async def _deliver(self, topic: str, body: bytes, content_type: str | None) -> None:
        try:
            await self.on_content(topic, body, content_type)
        except Exception:  # one bad notification must not take the endpoint down
            log.exception("websub notification failed", extra={"topic": topic})
        finally:
            self._bodies.release()  # the body's place, taken in _content

    # ------------------------------------------------------------------------------------------ internals

    def _register(self, hub_url: str, topic_url: str) -> Subscription:
        sub = self._by_topic.get(topic_url)
        if sub is None or sub.hub != hub_url:
            if sub is None and len(self._by_topic) >= self.max_subscriptions:
                self._make_room()
            sub = Subscription(topic=topic_url, hub=hub_url, token=self._token(topic_url))
            self._by_topic[topic_url] = sub
            self._by_token[sub.token] = sub
        return sub

    def _make_room(self) -> None:
        now = self._now()
        self.prune(now)
        if len(self._by_topic) < self.max_subscriptions:
            return

        def activity(sub: Subscription) -> tuple[bool, float]:
            # Subscriptions that are not receiving pushes go first, then the least recently active.
            seen = max(
                t for t in (sub.requested_at, sub.verified_at, sub.last_content_at, -1.0) if t is not None
            )
            return sub.state == "active" and not self._expired(sub, now), seen

        victim = min(self._by_topic.values(), key=activity)
        log.warning(
            "websub subscription dropped: table full",
            extra={"subscriptions": len(self._by_topic), "topic": victim.topic},
        )
        self._drop(victim)

    def _drop(self, sub: Subscription) -> None:
        if self._by_topic.get(sub.topic) is sub:
            del self._by_topic[sub.topic]
        if self._by_token.get(sub.token) is sub:
            del self._by_token[sub.token]

    def _token(self, topic_url: str) -> str:
        digest = hmac.new(self.settings.secret.encode(), b"callback\x00" + topic_url.encode(), "sha256")
        return digest.hexdigest()[:32]

    async def _send(self, session: aiohttp.ClientSession, hub_url: str, form: dict[str, str]) -> None:
        try:
            async with session.post(
                hub_url, data=form, timeout=aiohttp.ClientTimeout(total=30), allow_redirects=True
            ) as resp:
                if not 200 <= resp.status < 300:
                    text = (await resp.text(errors="replace"))[:200]
                    raise WebSubError(f"hub {hub_url} answered HTTP {resp.status}: {' '.join(text.split())}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WebSubError(f"hub {hub_url} unreachable: {type(exc).__name__}: {exc}") from None

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        return asyncio.get_running_loop().time()


def _positive_float(value: str | None) -> float | None:
    with contextlib.suppress(TypeError, ValueError):
        number = float(value or "")
        if number > 0:
            return number
    return None
