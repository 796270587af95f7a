"""Fencing for delivery: a queue's lease held for as long as a message is in flight, and the shutdown cut-off.

Owns the rule that only the holder of a queue's lease sends from it.  :class:`QueueLease` takes the lease,
confirms it before a send unless it was confirmed less than a third of its life ago (the store's lease call
answers whether we still hold it; until it lapses nobody else can take it) and, while the send is in flight,
renews it every third of its life.  The send is cut (the notifier call cancelled, the record
left in the outbox) when another worker took the lease over, when the lease could not be renewed before it
might lapse (another worker may take it then), or when the :class:`Cutoff` passes (shutdown).  After
``send_timeout`` it is cut as a retryable :class:`NotifyError`, so a hung notifier cannot hold a queue forever.

A message already on the wire when it is cut may still have reached Slack; it stays queued and is sent
again.  That is the one message in flight that the at-least-once promise allows to repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from newswatch import constants as C
from newswatch.delivery.notify.base import NotifyError
from newswatch.store.base import Store, StoreError

log = logging.getLogger("newswatch.delivery")

T = TypeVar("T")


class Cut(Exception):
    """A send was cut off before it finished (lease lost, deadline passed); its record stays in the outbox."""


class Cutoff:
    """When every drain must have ended (epoch seconds; None: no limit).  Moving it wakes every waiter, so a
    second SIGTERM ends sends in flight at once."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.at: float | None = None
        self._moved = asyncio.Event()

    def move(self, at: float) -> None:
        """Bring the cut-off forward to ``at`` (never later than it already is)."""
        self.at = at if self.at is None else min(self.at, at)
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    def until(self, deadline: float | None) -> float | None:
        """The earlier of ``deadline`` (a drain's own) and the cut-off."""
        if self.at is None:
            return deadline
        return self.at if deadline is None else min(deadline, self.at)

    def passed(self, deadline: float | None = None) -> bool:
        end = self.until(deadline)
        return end is not None and self.clock() >= end

    async def sleep(self, seconds: float, deadline: float | None = None) -> None:
        """Sleep ``seconds``, or less when the cut-off (or ``deadline``) comes first."""
        wake = time.monotonic() + seconds  # a duration: real time, whatever clock the deadlines use
        while (left := wake - time.monotonic()) > 0 and not self.passed(deadline):
            end = self.until(deadline)
            await self.wait_moved(left if end is None else min(left, end - self.clock()))

    async def wait_moved(self, seconds: float) -> None:
        """Wait until the cut-off moves, at most ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._moved.wait(), max(0.0, seconds))


class QueueLease:
    """This worker's hold on one outbox queue (lease ``name`` in the store) while it drains it."""

    def __init__(
        self,
        store: Store,
        name: str,
        holder: str,
        *,
        cutoff: Cutoff,
        deadline: float | None = None,
        ttl: float = C.DELIVERY_LEASE_S,
        send_timeout: float = C.DELIVERY_SEND_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.name = name
        self.holder = holder
        self.cutoff = cutoff
        self.deadline = deadline  # the drain's own deadline (epoch seconds), besides the cut-off
        self.ttl = ttl
        self.send_timeout = send_timeout
        # Cut this long before the lease could lapse unrenewed; a fifth of a short lease (tests).
        self.margin = min(C.DELIVERY_LEASE_MARGIN_S, ttl / 5)
        self._clock = clock
        self.held_until = 0.0  # monotonic: surely ours until then (counted from before the store call)
        self._next_renew = 0.0

    async def take(self) -> bool:
        """Take or renew the lease; False while another worker holds it."""
        started = self._clock()
        if not await self.store.lease(self.name, self.holder, self.ttl):
            self.held_until = 0.0
            return False
        self.held_until = started + self.ttl
        self._next_renew = started + self.ttl / 3
        return True

    async def release(self) -> None:
        await self.store.release(self.name, self.holder)

    async def guard(self, call: Coroutine[Any, Any, T]) -> T:
        """Run one notifier call as the holder of the lease; see the module docstring for when it is cut."""
        if self.cutoff.passed(self.deadline):
            call.close()
            raise Cut("the delivery deadline passed")
        # Confirmed in the store unless it was taken or renewed less than a third of its life ago: until it
        # lapses nobody else can take it, so the store's answer would be the same (a store call per record
        # saved on fast targets such as files).
        if self._clock() >= self._next_renew and not await self.take():
            call.close()
            raise Cut("another worker holds the queue")
        send = asyncio.ensure_future(call)
        keeper = asyncio.ensure_future(self._keep())
        try:
            await asyncio.wait({send, keeper}, return_when=asyncio.FIRST_COMPLETED)
            if send.done():
                return send.result()
            raise keeper.result()
        finally:
            send.cancel()
            keeper.cancel()
            await asyncio.gather(send, keeper, return_exceptions=True)

    async def _keep(self) -> Exception:
        """Renew the lease until the send must be cut; returns why."""
        give_up = self._clock() + self.send_timeout
        while True:
            now = self._clock()
            if self.cutoff.passed(self.deadline):
                return Cut("the delivery deadline passed")
            if now >= give_up:
                return NotifyError(f"no answer within {self.send_timeout:g}s")
            lapse = self.held_until - self.margin
            if now >= lapse:
                return Cut("the lease could not be renewed in time")
            if now >= self._next_renew:
                try:
                    async with asyncio.timeout(lapse - now):
                        if not await self.take():
                            return Cut("another worker took the queue over")
                except (StoreError, TimeoutError) as exc:
                    log.warning("delivery lease not renewed", extra={"target": self.name, "error": str(exc)})
                    self._next_renew = self._clock() + min(0.5, self.ttl / 10)
                continue
            end = self.cutoff.until(self.deadline)
            wait = min(give_up, lapse, self._next_renew) - now
            if end is not None:
                wait = min(wait, end - self.cutoff.clock())
            await self.cutoff.wait_moved(wait)
