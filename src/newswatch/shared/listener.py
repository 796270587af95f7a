"""A bounded HTTP listener: an aiohttp application served with connection, header and request limits.

Owns what every listener of the service promises (issue 21 points 12 and 13), the ops endpoint (``/healthz``,
``/metrics``, Slack actions) and the WebSub callback alike:

* **a concurrency bound**: at most ``max_connections`` connections at once; one more is closed as soon as it is
  accepted, so idle sockets can never use up the process's file descriptors (1,100 idle connections made every
  feed fail "Too many open files");
* **a header timeout**: a connection must deliver a whole request head within ``header_timeout`` of opening, or of
  the end of its previous response (aiohttp closes an idle kept-alive connection only after an hour, and one
  that never sends a byte never);
* **a request timeout**: reading the body and answering take at most ``request_timeout``; then 408.

Also owns :func:`quiet_loop_errors`: the event loop's own error reports (a failed ``accept()`` once the process is
out of file descriptors, retried every second by asyncio) become one rate-limited line in our log format instead
of a raw traceback on stderr per event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

__all__ = ["BoundedListener", "ListenerLimits", "quiet_loop_errors"]

log = logging.getLogger("newswatch.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ListenerLimits:
    """The bounds of one listener (defaults: ample for Prometheus, a healthcheck, Slack and a few hubs)."""

    def __init__(
        self,
        max_connections: int = 128,
        header_timeout: float = 10.0,
        request_timeout: float = 30.0,
    ) -> None:
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.request_timeout = request_timeout


class BoundedListener:
    """Serves ``app`` on ``host:port`` under ``limits`` until :meth:`stop`; ``name`` is for log lines."""

    def __init__(self, app: web.Application, name: str, limits: ListenerLimits | None = None) -> None:
        self.app = app
        self.name = name
        self.limits = limits or ListenerLimits()
        self.refused = 0  # connections closed at once because the bound was reached
        self._live: dict[asyncio.BaseTransport, _Guarded] = {}
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._last_refusal_log = 0.0
        app.middlewares.append(self._middleware)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.name} listener is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def connections(self) -> int:
        return len(self._live)

    async def start(self, host: str, port: int) -> None:
        # aiohttp's own idle timeout for kept-alive connections, at the header timeout too (its default: 1 h).
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, keepalive_timeout=self.limits.header_timeout
        )
        await runner.setup()
        factory = runner.server
        assert factory is not None
        try:
            self._server = await asyncio.get_running_loop().create_server(
                lambda: _Guarded(self, factory()), host, port, reuse_address=True
            )
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._runner is not None:
            await self._runner.cleanup()  # closes the connections it serves
            self._runner = None
        for guarded in list(self._live.values()):
            guarded.close()
        self._server = None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        guarded = self._live.get(request.transport) if request.transport is not None else None
        if guarded is not None:
            guarded.disarm()  # the head has arrived
        try:
            async with asyncio.timeout(self.limits.request_timeout):
                return await handler(request)
        except TimeoutError:
            return web.Response(status=408, text="request took too long\n")
        finally:
            if guarded is not None:
                guarded.arm()  # the next request's head must come in time too

    def _admit(self, guarded: _Guarded, transport: asyncio.BaseTransport) -> bool:
        if len(self._live) >= self.limits.max_connections:
            self.refused += 1
            now = time.monotonic()
            if now - self._last_refusal_log >= 10.0:  # one line per 10 s, however many are refused
                self._last_refusal_log = now
                log.warning("listener full: connection refused", extra={"listener": self.name,
                            "connections": len(self._live), "refused": self.refused})  # fmt: skip
            return False
        self._live[transport] = guarded
        return True

    def _forget(self, transport: asyncio.BaseTransport) -> None:
        self._live.pop(transport, None)


class _Guarded(asyncio.Protocol):
    """aiohttp's request handler behind the listener's bound and a header timer."""

    def __init__(self, listener: BoundedListener, inner: Any) -> None:
        self.listener = listener
        self.inner = inner
        self.transport: asyncio.BaseTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if not self.listener._admit(self, transport):
            transport.abort()  # type: ignore[attr-defined]
            return
        self._admitted = True
        self.inner.connection_made(transport)
        self.arm()

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self._admitted else None

    def pause_writing(self) -> None:
        if self._admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        if self.transport is not None:
            self.listener._forget(self.transport)
        if self._admitted:
            self.inner.connection_lost(exc)

    def arm(self) -> None:
        self.disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.listener.limits.header_timeout, self.close)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------------------


def quiet_loop_errors(loop: asyncio.AbstractEventLoop, every: float = 10.0) -> None:
    """Report the loop's own errors as log lines, at most one per kind of error every ``every`` seconds."""
    last: dict[str, float] = {}
    counts: dict[str, int] = {}

    def handler(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "event loop error")
        exc = context.get("exception")
        kind = f"{message}: {type(exc).__name__}" if exc is not None else message
        counts[kind] = counts.get(kind, 0) + 1
        now = time.monotonic()
        if now - last.get(kind, -every) < every:
            return
        last[kind] = now
        log.error("event loop error", extra={"error": f"{kind}: {exc}" if exc is not None else kind,
                                             "occurrences": counts.pop(kind)}, exc_info=exc)  # fmt: skip

    loop.set_exception_handler(handler)
