"""Child processes a test started (``newswatch run`` workers), so that a failing test cannot leave them running.

A worker left behind keeps polling and writing into the Redis the next tests share, and takes their feeds and
outbox entries: one failure would then fail every later Redis test.  An autouse fixture (tests/conftest.py) kills
whatever child is still alive after each test (its pool's processes end when it does: their pipes close).
"""

from __future__ import annotations

import contextlib
import os
import signal

_started: list[int] = []


def started(pid: int) -> None:
    _started.append(pid)


def kill_leftovers() -> list[int]:
    """Kill every child still running; returns their pids."""
    killed = []
    while _started:
        pid = _started.pop()
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    return killed
