"""Supervision of the service's background tasks: nothing runs in the background unwatched.

Owns two kinds of task.  A *supervised* task (:meth:`Supervisor.start`: delivery, the polling loop, WebSub
renewals) runs until it returns; an unexpected exception is logged once with its traceback and the task is
started again after an exponential back-off with jitter (``SUPERVISE_BACKOFF_*`` in constants.py).  From its
first crash until it has run ``SUPERVISE_STABLE_S`` without crashing again it is *down*, and
:meth:`Supervisor.check` (one of ``/healthz``'s checks) names it, when it went down and the last error.
A *tracked* task (:meth:`Supervisor.spawn`: a config reload, a WebSub subscription) runs once; an unexpected
exception is logged with its traceback.  Both kinds are cancelled by :meth:`Supervisor.close`, so none
outlives the resources it uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from newswatch import constants as C
from newswatch.service.logs import redact

log = logging.getLogger("newswatch.supervise")

ERROR_CHARS = 300  # an exception's text in a health reason is cut here (one line for an orchestrator)


def describe(exc: BaseException) -> str:
    """``"ValueError: bad value"`` on one line, secrets redacted, at most ERROR_CHARS characters."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    text = redact(text)
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


@dataclass
class _Watched:
    name: str
    task: asyncio.Task[None] | None = None
    crashes: int = 0  # in the current streak: reset once the task ran SUPERVISE_STABLE_S clean
    down_since: float | None = None  # epoch seconds of the streak's first crash; None while healthy
    error: str = ""  # the last crash
    restart_at: float | None = None  # monotonic time of the pending restart while waiting for it
    running_since: float = 0.0  # monotonic time of the last (re)start


class Supervisor:
    """Runs named background tasks; see the module docstring for what it promises."""

    def __init__(
        self,
        *,
        backoff_base: float = C.SUPERVISE_BACKOFF_BASE_S,
        backoff_cap: float = C.SUPERVISE_BACKOFF_CAP_S,
        stable_after: float = C.SUPERVISE_STABLE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stable_after = stable_after
        self.clock = clock
        self._watched: dict[str, _Watched] = {}
        self._spawned: set[asyncio.Task[None]] = set()
        self._closed = False

    # ------------------------------------------------------------------------------------------ supervised

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Run ``run()`` as the task ``name`` until it returns, starting it again after each crash."""
        if self._closed:
            raise RuntimeError("the supervisor is closed")
        current = self._watched.get(name)
        if current is not None and current.task is not None and not current.task.done():
            raise RuntimeError(f"task {name!r} is already running")
        watched = _Watched(name)
        self._watched[name] = watched
        watched.task = asyncio.create_task(self._supervise(watched, run), name=name)

    async def _supervise(self, w: _Watched, run: Callable[[], Awaitable[None]]) -> None:
        w.running_since = time.monotonic()
        while True:
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._crashed(w, exc)
            else:
                self._healthy(w)
                return
            assert w.restart_at is not None
            await asyncio.sleep(max(0.0, w.restart_at - time.monotonic()))
            w.restart_at = None
            w.running_since = time.monotonic()
            log.warning("task restarted", extra={"task": w.name, "crashes": w.crashes})
            asyncio.get_running_loop().call_later(self.stable_after, self._settle, w, w.running_since)

    def _crashed(self, w: _Watched, exc: Exception) -> None:
        w.crashes += 1
        if w.down_since is None:
            w.down_since = self.clock()
        w.error = describe(exc)
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (w.crashes - 1))
        delay = random.uniform(ceiling / 2, ceiling)  # jitter: workers hit by one bug do not restart in step
        w.restart_at = time.monotonic() + delay
        log.error(
            "task crashed",
            exc_info=exc,
            extra={"task": w.name, "error": w.error, "crashes": w.crashes, "restart_in": round(delay, 1)},
        )

    def _settle(self, w: _Watched, started: float) -> None:
        # Called stable_after seconds after a restart: unless it crashed since, the streak is over.
        if w.running_since == started and w.restart_at is None:
            self._healthy(w)

    def _healthy(self, w: _Watched) -> None:
        if w.down_since is not None:
            log.warning("task recovered", extra={"task": w.name, "crashes": w.crashes})
        w.crashes, w.down_since, w.error = 0, None, ""

    async def wait(self, name: str) -> None:
        """Until the task ``name`` has returned (at once when there is no such task)."""
        w = self._watched.get(name)
        if w is not None and w.task is not None:
            await asyncio.shield(w.task)

    async def stop(self, name: str) -> None:
        """Cancel the task ``name`` and wait for it to end."""
        w = self._watched.pop(name, None)
        if w is not None and w.task is not None:
            w.task.cancel()
            await asyncio.gather(w.task, return_exceptions=True)

    # ------------------------------------------------------------------------------------------ tracked

    def spawn(self, name: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
        """Run ``work`` once as a tracked task: cancelled by :meth:`close`, a crash logged with its traceback.
        Returns the task, or None when shutting down (``work`` is then not run)."""
        if self._closed:
            work.close()  # never awaited: close it so Python does not warn about it
            log.debug("task not started: shutting down", extra={"task": name})
            return None
        task = asyncio.create_task(work, name=name)
        self._spawned.add(task)
        task.add_done_callback(self._spawn_done)
        return task

    def _spawn_done(self, task: asyncio.Task[None]) -> None:
        self._spawned.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("task failed", exc_info=exc, extra={"task": task.get_name(), "error": describe(exc)})

    # ------------------------------------------------------------------------------------------ health

    def down(self) -> list[str]:
        """One reason per supervised task that is down, e.g. ``"delivery down since 12:03:04 UTC:
        ValueError: bad value (2 crashes, restarting in 3s)"``."""
        reasons = []
        now = time.monotonic()
        for w in self._watched.values():
            if w.down_since is None:
                continue
            since = datetime.fromtimestamp(w.down_since, UTC).strftime("%H:%M:%S UTC")
            state = (
                f"restarting in {max(0.0, w.restart_at - now):.0f}s"
                if w.restart_at is not None
                else f"restarted {now - w.running_since:.0f}s ago"
            )
            plural = "es" if w.crashes > 1 else ""
            reasons.append(f"{w.name} down since {since}: {w.error} ({w.crashes} crash{plural}, {state})")
        return reasons

    async def check(self) -> str | None:
        """The :class:`~newswatch.service.http.HealthCheck` of the background tasks."""
        reasons = self.down()
        return "; ".join(reasons) if reasons else None

    # ------------------------------------------------------------------------------------------ lifecycle

    async def close(self) -> None:
        """Cancel every task, supervised or tracked, and wait for them to end."""
        self._closed = True
        tasks = [w.task for w in self._watched.values() if w.task is not None] + list(self._spawned)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        self._watched.clear()
