"""Child processes a test started (``newswatch run`` workers), so that a failing test cannot leave them running.

A worker left behind keeps polling and writing into the Redis the next tests share, and takes their feeds and
outbox entries: one failure would then fail every later Redis test.  Each child starts in a session of its own;
an autouse fixture (tests/conftest.py) kills whatever session is still alive after each test.
"""

from __future__ import annotations

import contextlib
import os
import signal

_started: list[int] = []


def started(pid: int) -> None:
    _started.append(pid)


def kill_leftovers() -> list[int]:
    """Kill every child session still running; returns their pids."""
    killed = []
    while _started:
        pid = _started.pop()
        try:
            os.killpg(pid, signal.SIGKILL)  # the child leads its session: its pool's processes go with it
            killed.append(pid)
        except ProcessLookupError:
            pass
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    return killed
