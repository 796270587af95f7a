"""The operations HTTP endpoint: ``/healthz`` for orchestrators and ``/metrics`` for Prometheus.

Owns the listen-address syntax (``http: {listen: …}``), the health semantics and the aiohttp server that
serves both, with any further routes the service mounts on it (``POST /slack/actions``: slackactions.py).
What "healthy" means is a :class:`HealthCheck`; the service combines (:class:`AllHealthy`) the supervisor's
(every background task is running, see supervise.py) with :class:`StoreHealth`: the store answers a ping
within a deadline and the pipeline's loop has beaten its :class:`Heartbeat` recently.  ``/healthz`` and
``/metrics`` only read; they never change the pipeline's state.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from newswatch import __version__
from newswatch.service.metrics import Metrics
from newswatch.shared.http import parse_listen
from newswatch.shared.listener import BoundedListener, ListenerLimits
from newswatch.store.base import Store, StoreError

log = logging.getLogger("newswatch.http")

Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]  # method, path, handler

DEFAULT_LISTEN = "127.0.0.1:9464"  # 9464: the port Prometheus' registry lists for exporters of this kind


class Heartbeat:
    """The pipeline's loop calls :meth:`beat` every iteration; a stale beat means the loop has stalled.

    It starts beaten, so a service that has just started is healthy until it had a chance to beat.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        self._last = self._clock()

    def age(self) -> float:
        """Seconds since the last beat."""
        return self._clock() - self._last


class HealthCheck(Protocol):
    async def check(self) -> str | None:
        """None when healthy, else a one-line reason for the 503 body."""
        ...


class AllHealthy:
    """Healthy when every check is; otherwise the reasons of the failing ones, joined by ``"; "``.

    Checks run in order, so put the cheap ones (no I/O) first."""

    def __init__(self, *checks: HealthCheck) -> None:
        self.checks = checks

    async def check(self) -> str | None:
        reasons = [r for c in self.checks if (r := await c.check()) is not None]
        return "; ".join(reasons) if reasons else None


class StoreHealth:
    """Healthy while the store answers a ping within ``timeout`` and the heartbeat is younger than
    ``max_age``.  ``max_age`` must exceed the longest gap between two beats of the loop, or a healthy but
    idle service would flap."""

    def __init__(
        self,
        store: Store,
        heartbeat: Heartbeat | None = None,
        *,
        max_age: float = 300.0,
        timeout: float = 2.0,
    ) -> None:
        self.store = store
        self.heartbeat = heartbeat
        self.max_age = max_age
        self.timeout = timeout

    async def check(self) -> str | None:
        if self.heartbeat is not None and (age := self.heartbeat.age()) > self.max_age:
            return f"loop stalled: no heartbeat for {age:.0f}s (limit {self.max_age:g}s)"
        try:
            await asyncio.wait_for(self.store.ping(), self.timeout)
        except TimeoutError:
            return f"store unreachable: no answer to ping within {self.timeout:g}s"
        except StoreError as exc:
            return f"store unreachable: {exc}"
        except Exception as exc:  # a health endpoint must answer, whatever a store bug raises
            return f"store unreachable: {type(exc).__name__}: {exc}"
        return None


class OpsServer:
    """Serves ``/healthz`` and ``/metrics`` on ``listen`` until :meth:`stop`.

    ``collect`` (optional) runs before each scrape to refresh gauges that need an async read, such as the
    outbox length for ``newswatch_alerts_pending``; it gets ``collect_timeout`` seconds, and a failure only
    leaves the old value in place, so a slow store never makes Prometheus time out.  ``routes`` are served
    beside them.
    """

    def __init__(
        self,
        listen: str,
        metrics: Metrics,
        health: HealthCheck,
        *,
        collect: Callable[[], Awaitable[None]] | None = None,
        collect_timeout: float = 2.0,
        routes: Sequence[Route] = (),
        limits: ListenerLimits | None = None,
        token: str | None = None,
    ) -> None:
        self.host, self._requested_port = parse_listen(listen)
        self.routes = tuple(routes)
        self.metrics = metrics
        self.health = health
        self.collect = collect
        self.collect_timeout = collect_timeout
        self.limits = limits
        self.token = token
        self._listener: BoundedListener | None = None
        self._port: int | None = None
        self._started = time.monotonic()

    @property
    def port(self) -> int:
        """The bound port (the OS's choice when listen asked for port 0); only after :meth:`start`."""
        if self._port is None:
            raise RuntimeError("OpsServer is not started")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        for method, path, handler in self.routes:
            app.router.add_route(method, path, handler)
        # No access log: a scrape every 15 s and a healthcheck every 30 s would drown the lines that matter.
        # Bounded connections and timeouts: idle sockets cannot starve /healthz or the feeds (listener.py).
        listener = BoundedListener(app, "ops", self.limits)
        try:
            await listener.start(self.host, self._requested_port)
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot listen on {self.host}:{self._requested_port}: {exc.strerror}"
            ) from None
        self._listener = listener
        self._port = listener.port
        self._started = time.monotonic()
        log.info("ops endpoint listening", extra={"url": self.url})
        if self.token is None and not _loopback(self.host):
            log.warning("ops endpoint open to the network without http.token: /metrics shows watch names",
                        extra={"url": self.url})  # fmt: skip

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
            self._port = None

    async def __aenter__(self) -> OpsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _run_health(self) -> str | None:
        reason = await self.health.check()
        self.metrics.up.set(0 if reason else 1)
        return reason

    async def _healthz(self, request: web.Request) -> web.Response:
        reason = await self._run_health()
        body: dict[str, Any]
        if reason is not None:
            # The reason names hosts and paths: in full for the token's holder only (issue 21 point 18).
            body = {"status": "unhealthy", "reason": reason if self._authorized(request) else public(reason)}
            return web.Response(status=503, text=json.dumps(body), content_type="application/json")
        body = {
            "status": "ok",
            "version": __version__,
            "uptime_seconds": round(time.monotonic() - self._started, 1),
        }
        return web.Response(status=200, text=json.dumps(body), content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.token is not None and not self._authorized(request):
            return web.Response(status=401, text="unauthorized\n", headers={"WWW-Authenticate": "Bearer"})
        # Refresh newswatch_up here too, so an alert rule on it works without anyone polling /healthz.
        await self._run_health()
        if self.collect is not None:
            try:
                await asyncio.wait_for(self.collect(), self.collect_timeout)
            except Exception as exc:  # stale gauges beat a failed scrape
                log.debug("metrics collect failed", extra={"error": str(exc)})
        # Prometheus may ask for OpenMetrics; choose_encoder honours its Accept header.
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(self.metrics.registry), headers={"Content-Type": content_type})

    def _authorized(self, request: web.Request) -> bool:
        """Whether the request carries the token (never, when none is configured)."""
        if self.token is None:
            return False
        given = request.headers.get("Authorization", "").encode()
        return hmac.compare_digest(given, f"Bearer {self.token}".encode())


# URLs, host:port pairs such as "localhost:6379" in a driver's message, and file paths.  Each piece starts where a
# run of such characters starts and is bounded: linear.
_ADDRESS_RE = re.compile(
    r"[a-z][a-z0-9+.-]{0,31}://[^\s;,]*|(?<![\w.:-])[\w.-]{1,253}:\d{1,5}\b(?!:)|(?<![\w.])/[^\s;,:]+", re.I
)


def public(reason: str) -> str:
    """A health reason without the store's address or file path: what anyone may read."""
    return _ADDRESS_RE.sub(_hidden, reason)


def _hidden(m: re.Match[str]) -> str:
    host = m.group().rpartition(":")[0]
    # "07:28" in a time is no address: a host has a letter or a dot ("redis", "10.0.0.5"); URLs, paths go.
    if (
        "://" not in m.group()
        and not m.group().startswith("/")
        and not any(c.isalpha() or c == "." for c in host)
    ):
        return m.group()
    return "…"


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
