"""Wall-clock time that never steps back, for everything newswatch schedules by the clock.

Owns :class:`SteadyClock`: epoch seconds that advance with the monotonic clock and follow the wall clock
whenever it runs ahead, but never go back with it.  When the system clock is stepped back (an NTP correction,
a hand-set date), polling due times, delivery back-offs, Slack pacing and the shutdown deadline would all wait
for the wall clock to catch up (an hour back: an hour without polls or posts); measured on this clock they
carry on.  Until the process restarts, its times then run ahead of the wall clock by the step, which is what
they were before it: nothing waits, and nothing is taken twice (claims stay atomic in the store).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


class SteadyClock:
    def __init__(
        self, wall: Callable[[], float] = time.time, mono: Callable[[], float] = time.monotonic
    ) -> None:
        self._wall = wall
        self._mono = mono
        self._offset = wall() - mono()

    def __call__(self) -> float:
        mono, wall = self._mono(), self._wall()
        if wall - mono > self._offset:  # the wall clock runs ahead (stepped forward, or drift): follow it
            self._offset = wall - mono
        return mono + self._offset


steady_time = SteadyClock()  # the process's one steady clock


def steady_now() -> datetime:
    """:data:`steady_time` as an aware UTC datetime."""
    return datetime.fromtimestamp(steady_time(), UTC)
