"""A bound on the CPU time of one piece of work in a CPU worker process (issue 21 point 4).

Owns :func:`cpu_time_bound`: inside it, work that runs longer than its bound is interrupted with
:class:`CpuTimeExceeded`, which the caller turns into the failure of its item or feed; the worker process lives
on for the next task.  The clock is the process's CPU time (``ITIMER_PROF``), not the wall clock: on a machine
whose cores are shared, a wall-clock bound would fail honest work that merely waited for a core.

Bounds nest (a feed's task bound around each page's bound): the earliest deadline is armed, and the exception
names the bound that ran out, so an inner ``except`` can tell its own bound from an outer one and re-raise.
The signal reaches Python between bytecodes and inside the ``re`` engine's loops, not inside one long C call
(a libxml2 parse): inputs are bounded in size as well (``MAX_EXTRACT_BYTES``), so such a call stays short.

Signals are delivered to the main thread only: in any other thread (the in-process stage of ``workers: 0``,
used by tests and one-shot commands) the bound is not enforced, and the work runs as before.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

__all__ = ["CpuTimeExceeded", "cpu_time_bound", "owns"]


class CpuTimeExceeded(RuntimeError):
    """Work ran past its CPU-time bound.  Picklable (only a message), so it crosses the process pool."""


@dataclass(eq=False)
class _Bound:
    seconds: float
    what: str
    deadline: float  # time.process_time() at which it runs out
    fired: bool = field(default=False)

    def error(self) -> CpuTimeExceeded:
        exc = CpuTimeExceeded(f"{self.what} took more than {self.seconds:g} s of CPU time")
        exc.bound = self  # type: ignore[attr-defined]  # read by the bound's own caller, lost when pickled
        return exc


_bounds: list[_Bound] = []  # active bounds of this (main) thread, outermost first


@contextmanager
def cpu_time_bound(seconds: float, what: str) -> Iterator[_Bound]:
    """Raise :class:`CpuTimeExceeded` in the body once it has used ``seconds`` of CPU time.

    Yields the bound: ``except CpuTimeExceeded as exc: if owns(bound, exc)`` tells this bound's expiry from an
    outer one's.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield _Bound(seconds, what, float("inf"))
        return
    bound = _Bound(seconds, what, time.process_time() + seconds)
    if not _bounds:
        signal.signal(signal.SIGPROF, _on_signal)
    _bounds.append(bound)
    _arm()
    try:
        yield bound
    finally:
        _bounds.remove(bound)
        _arm()
    # Ended without an exception, yet a bound ran out: code that catches every exception (trafilatura logs a
    # failed lxml parse and tries its fallbacks) swallowed the interruption.  The bound still holds: say so now.
    fired = next((b for b in (*_bounds, bound) if b.fired), None)
    if fired is not None:
        raise fired.error()


def owns(bound: _Bound | None, exc: CpuTimeExceeded) -> bool:
    """Whether ``exc`` is the expiry of ``bound`` (rather than of a bound around it)."""
    return bound is not None and getattr(exc, "bound", None) is bound


def _arm() -> None:
    live = [b.deadline for b in _bounds if not b.fired]
    if not live:
        signal.setitimer(signal.ITIMER_PROF, 0)
        return
    signal.setitimer(signal.ITIMER_PROF, max(min(live) - time.process_time(), 0.001))


def _on_signal(signum: int, frame: FrameType | None) -> None:
    now = time.process_time()
    # The outermost bound that ran out wins: its caller gives up on everything inside it anyway.
    expired = next((b for b in _bounds if not b.fired and b.deadline <= now + 0.001), None)
    if expired is None:  # woke early (timer granularity): wait for the rest
        _arm()
        return
    expired.fired = True
    _arm()
    raise expired.error()
