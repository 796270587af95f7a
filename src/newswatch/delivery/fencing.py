"""Fencing for delivery: a queue's lease, held by epoch for as long as a message is in flight, and the stop.

Owns the rule that only the holder of a queue's lease sends from it, and that a worker which lost its lease
(it stalled, the store was away) stops at once and writes nothing.  :class:`QueueLease` takes the lease and
gets its grant's epoch (:class:`~newswatch.store.base.Fence`); every later write for the queue (ack, retry,
park, move, thread state) carries that fence and the store refuses it, in the same atomic step, once the
lease was granted anew.  Before each send it takes the send decision in the store
(:meth:`~newswatch.store.base.Store.outbox_confirm`: the fence still holds and the entry is still queued,
the lease renewed), and while the send is in flight it renews the lease every third of its life.  The send is
cut (the notifier call cancelled, the record left in the outbox) when another worker was granted the lease,
when the lease could not be renewed before it might lapse, or on a stop at once (:class:`Cutoff`).  After
``send_timeout`` it is cut as a retryable :class:`NotifyError`, so a hung notifier cannot hold a queue forever.
A graceful stop never cuts a send in flight: no new send starts after its deadline, and the one in flight
finishes (within ``send_timeout``) and is recorded.

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
from newswatch.store.base import Fence, Fenced, Store, StoreError, outbox_lease

log = logging.getLogger("newswatch.delivery")

T = TypeVar("T")


class Cut(Exception):
    """A send was cut off before it finished (lease lost, deadline passed); its record stays in the outbox."""


class Cutoff:
    """When delivery must end.  ``at``: no send starts after it (the deadline of a graceful stop); ``hard``: a
    send still in flight is cut then (``at`` plus what a send in flight may take; ``at`` itself on a stop at
    once).  Both None: no limit.  Moving them wakes every waiter, so a second SIGTERM ends sends at once."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.at: float | None = None
        self.hard: float | None = None
        self._moved = asyncio.Event()

    def move(self, at: float, *, in_flight: float = 0.0) -> None:
        """Bring the cut-off forward to ``at`` (never later than it already is); a send in flight then may
        finish until ``at + in_flight``."""
        self.at = at if self.at is None else min(self.at, at)
        hard = at + in_flight
        self.hard = hard if self.hard is None else min(self.hard, hard)
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    def until(self, deadline: float | None) -> float | None:
        """The earlier of ``deadline`` (a drain's own) and the cut-off."""
        if self.at is None:
            return deadline
        return self.at if deadline is None else min(deadline, self.at)

    def passed(self, deadline: float | None = None) -> bool:
        """No new send may start."""
        end = self.until(deadline)
        return end is not None and self.clock() >= end

    def cut(self) -> bool:
        """A send in flight must end now."""
        return self.hard is not None and self.clock() >= self.hard

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
    """This worker's hold on one target's queue (its lease in the store) while it drains it."""

    def __init__(
        self,
        store: Store,
        target: str,
        holder: str,
        *,
        cutoff: Cutoff,
        deadline: float | None = None,
        ttl: float = C.DELIVERY_LEASE_S,
        send_timeout: float = C.DELIVERY_SEND_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.target = target
        self.name = outbox_lease(target)
        self.holder = holder
        self.cutoff = cutoff
        self.deadline = deadline  # the drain's own deadline (cut-off clock), besides the cut-off
        self.ttl = ttl
        self.send_timeout = send_timeout
        # Cut this long before the lease could lapse unrenewed; a fifth of a short lease (tests).
        self.margin = min(C.DELIVERY_LEASE_MARGIN_S, ttl / 5)
        self._clock = clock
        self.epoch = 0  # of the grant held; 0 before it was taken
        self.held_until = 0.0  # monotonic: surely ours until then (counted from before the store call)
        self._next_renew = 0.0

    @property
    def fence(self) -> Fence:
        return Fence(self.name, self.holder, self.epoch)

    async def take(self) -> bool:
        """Take the lease (a new grant, a new epoch); False while another worker holds it."""
        started = self._clock()
        self.epoch = await self.store.lease(self.name, self.holder, self.ttl)
        if not self.epoch:
            self.held_until = 0.0
            return False
        self._held(started)
        return True

    async def confirm(self, entry_id: str) -> bool:
        """The decision to send ``entry_id``, in the store: True to send it, False when it left the queue;
        :class:`Cut` when the lease was granted anew since this worker took it."""
        started = self._clock()
        try:
            queued = await self.store.outbox_confirm(self.target, entry_id, self.fence, self.ttl)
        except Fenced:
            raise Cut("another worker took the queue over") from None
        self._held(started)
        return queued

    async def release(self) -> None:
        await self.store.release(self.name, self.holder)

    async def guard(self, call: Coroutine[Any, Any, T]) -> T:
        """Run one notifier call as the holder of the lease; see the module docstring for when it is cut."""
        if self.cutoff.passed(self.deadline):
            call.close()
            raise Cut("the delivery deadline passed")
        if self._clock() >= self.held_until - self.margin:
            # The send decision is older than the lease could be trusted (the process stalled after it).
            call.close()
            raise Cut("the lease could not be confirmed in time")
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

    def _held(self, started: float) -> None:
        self.held_until = started + self.ttl
        self._next_renew = started + self.ttl / 3

    async def _renew(self) -> bool:
        started = self._clock()
        if not await self.store.lease(self.name, self.holder, self.ttl, self.epoch):
            return False
        self._held(started)
        return True

    async def _keep(self) -> Exception:
        """Renew the lease until the send must be cut; returns why."""
        give_up = self._clock() + self.send_timeout
        while True:
            now = self._clock()
            if self.cutoff.cut():
                return Cut("stopped at once")
            if now >= give_up:
                return NotifyError(f"no answer within {self.send_timeout:g}s")
            lapse = self.held_until - self.margin
            if now >= lapse:
                return Cut("the lease could not be renewed in time")
            if now >= self._next_renew:
                try:
                    async with asyncio.timeout(lapse - now):
                        if not await self._renew():
                            return Cut("another worker took the queue over")
                except (StoreError, TimeoutError) as exc:
                    log.warning(
                        "delivery lease not renewed", extra={"target": self.target, "error": str(exc)}
                    )
                    self._next_renew = self._clock() + min(0.5, self.ttl / 10)
                continue
            wait = min(give_up, lapse, self._next_renew) - now
            if self.cutoff.hard is not None:
                wait = min(wait, self.cutoff.hard - self.cutoff.clock())
            await self.cutoff.wait_moved(wait)
