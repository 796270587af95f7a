"""Delivery: moving records from the store's outbox to their notifiers, exactly as often as needed.

Owns the guarantees of the outbox: a record leaves the outbox only once its notifier confirmed it, so a crash
at any moment loses nothing and repeats at most the one message that was in flight.  Each target (a Slack
channel, a webhook, the JSONL file) is a FIFO queue delivered by one worker at a time (a lease in the store,
fenced by its grant's epoch), so order per channel holds with any number of workers; before each send the
worker checks in the store that its grant still holds and the entry is still queued, and every write it makes
for the queue is refused once another worker was granted it (fencing.py).  A delivered message's ack waits out
a store outage for as long as it lasts: it is repeated only when another worker took the queue over meanwhile
(then it was this worker's one message in flight).  Owns the run loop and its shutdown:
:meth:`Delivery.stop_at` ends every drain at a deadline, letting the send in flight finish and be recorded.  Also owns pacing (one message per second per Slack
channel, shared through the store), retries with back-off, parking of records that can never be delivered,
flood control (overflow rolled into one digest), digest watches (hourly/daily) and the expiry of parked
records (``notify.parked_ttl``).  Before each post to Slack or Apprise it asks effects.py whether a mute or snooze set
from Slack drops or holds the record.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from newswatch import constants as C
from newswatch.delivery.bounded import RecentIds
from newswatch.delivery.digests import DIGEST_MARK, DIGEST_MAX, Digests
from newswatch.delivery.effects import Effects, Verdict
from newswatch.delivery.fencing import Cut, Cutoff, QueueLease
from newswatch.delivery.notify.base import Notifier, NotifyError
from newswatch.delivery.report import DeliveryPolicy, DeliveryReport
from newswatch.service.metrics import Metrics
from newswatch.shared.clock import steady_time
from newswatch.store.base import Fenced, OutboxEntry, Store, StoreError, thread_key

log = logging.getLogger("newswatch.delivery")

LEASE_S = C.DELIVERY_LEASE_S  # a dead worker's queues are taken over this long after its last renewal
HEAD_BATCH = 50
UNFLOODABLE = frozenset({"jsonl", "console"})  # files and terminals do not flood: every record keeps its line
ACK_RETRY_MAX_S = 2.0  # a delivered message's ack is tried again at least this often while the store is away


def target_kind(target: str) -> str:
    return target.split(":", 1)[0].split("|", 1)[0]


class Delivery(Digests, Effects):
    def __init__(
        self,
        store: Store,
        notifiers: Mapping[str, Notifier],
        *,
        policy: DeliveryPolicy | None = None,
        worker: str | None = None,
        clock: Callable[[], float] = steady_time,
        metrics: Metrics | None = None,
        lease_s: float = LEASE_S,
        send_timeout: float = C.DELIVERY_SEND_TIMEOUT_S,
        linked: Callable[[str], Sequence[str]] | None = None,
    ):
        self.metrics = metrics
        self.linked = linked  # watch -> Slack channels whose mutes hold for its Apprise targets (effects.py)
        self.store = store
        self.notifiers = dict(notifiers)
        self.policy = policy or DeliveryPolicy()
        self.worker = worker or uuid.uuid4().hex[:12]
        self.clock = clock
        self.lease_s = lease_s
        self.send_timeout = send_timeout
        self.cutoff = Cutoff(clock)  # shutdown: when every drain must end (see stop_at)
        self._wake = asyncio.Event()
        self._warned: set[tuple[str, str]] = set()
        # Entries this process has tried and failed: their back-off holds.  An entry that failed in an earlier
        # process (a cron run, a restart) is tried once at once, so `run --once` after an outage delivers.
        self._failed_here = RecentIds(C.DELIVERY_FAILED_IDS_MAX)
        self._leases: dict[str, QueueLease] = {}  # queues this process is draining now, one drain each
        self._swept_at = float("-inf")  # last expiry of parked records

    def poke(self) -> None:
        """New entries were queued: deliver now rather than at the next tick."""
        self._wake.set()

    async def wait_for_work(self, stop: asyncio.Event, at_most: float) -> None:
        """Wait until :meth:`poke`, ``stop`` or ``at_most`` seconds, whichever comes first."""
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=at_most, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        self._wake.clear()

    def stop_at(self, deadline: float, *, at_once: bool = False) -> None:
        """Shutdown: no send starts after ``deadline`` (on :attr:`clock`); a send in flight then finishes, within
        its send timeout, and is recorded.  ``at_once`` (a second SIGTERM) cuts a send in flight too: its record
        stays in the outbox for the next start.  Called again with an earlier deadline, it takes effect at once."""
        self.cutoff.move(deadline, in_flight=0.0 if at_once else self.send_timeout + C.SHUTDOWN_ACK_S)
        self._wake.set()

    async def run(self, stop: asyncio.Event, *, idle: float = 5.0) -> None:
        """Deliver until ``stop`` is set, waking on :meth:`poke`, on the next retry time, or every ``idle`` s;
        then, if :meth:`stop_at` set a deadline, deliver what is queued until then.  Store errors are waited
        out; anything else ends the loop, for the supervisor to log and restart (supervise.py)."""
        failures = 0
        while not stop.is_set():
            self._wake.clear()
            try:
                report = await self.drain()
                failures = 0
            except StoreError as exc:
                failures += 1
                wait = min(30.0, 0.5 * 2**failures) * random.uniform(0.5, 1.0)
                log.warning("outbox unavailable", extra={"error": str(exc), "retry_in": round(wait, 1)})
                report = DeliveryReport(next_due=self.clock() + wait)
            timeout = (
                idle if report.next_due is None else max(0.05, min(idle, report.next_due - self.clock()))
            )
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
        if self.cutoff.at is not None:
            try:
                await self.drain_all(self.cutoff.at)
            except StoreError as exc:
                log.warning("outbox unavailable at shutdown", extra={"error": str(exc)})

    async def drain_all(self, deadline: float) -> DeliveryReport:
        """Deliver until the outbox is empty or ``deadline`` passes, waiting out back-offs and the leases of
        a worker that died (``run --once`` and shutdown); or until only digests wait that are not due by then
        (a digest watch's next hour, a snoozed watch's held records)."""
        total = DeliveryReport()
        while True:
            deadline = min(deadline, self.cutoff.at or deadline)
            report = await self.drain(deadline)
            total.add(report)
            now = self.clock()
            if now >= deadline or not await self.store.outbox_pending():
                return total
            if (report.next_due or 0.0) > deadline and all(
                DIGEST_MARK in t for t in await self.store.outbox_targets()
            ):
                return (
                    total  # all that is left waits for its hour, day or snooze to end: a later run sends it
                )
            wake = min(report.next_due or now + 0.5, now + 0.5, deadline)
            await self.cutoff.sleep(max(0.01, wake - now), deadline)

    async def drain(self, deadline: float | None = None) -> DeliveryReport:
        """Deliver every entry that is due now, each target in parallel, each target in order.  When one
        target's drain raises, the others still run to their end (no queue is left to a task nobody awaits)."""
        report = DeliveryReport()
        await self._expire_parked()
        targets = await self.store.outbox_targets()
        outcomes = await asyncio.gather(
            *(self._drain_target(t, report, deadline) for t in targets), return_exceptions=True
        )
        failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failure is not None:
            raise failure
        return report

    async def _expire_parked(self) -> None:
        """Delete records parked longer than ``parked_ttl`` (at most once per PARKED_SWEEP_S)."""
        now = self.clock()
        if now - self._swept_at < C.PARKED_SWEEP_S:
            return
        self._swept_at = now
        expired = await self.store.outbox_purge_parked(now - self.policy.parked_ttl)
        if expired:
            log.info("parked records expired", extra={"count": expired, "parked_ttl": self.policy.parked_ttl})

    # ------------------------------------------------------------------------------------------ one queue

    async def _drain_target(self, target: str, report: DeliveryReport, deadline: float | None) -> None:
        if target in self._leases or self.cutoff.passed(deadline):
            return  # this process drains the queue already (one sender per queue), or it is too late
        lease = QueueLease(self.store, target, self.worker, cutoff=self.cutoff, deadline=deadline,
                           ttl=self.lease_s, send_timeout=self.send_timeout)  # fmt: skip
        self._leases[target] = lease
        taken = False
        try:
            if not (taken := await lease.take()):
                return  # another worker is delivering this queue; order per channel needs a single sender
            notifier = self.notifiers.get(target_kind(target))
            while not self.cutoff.passed(deadline):
                entries = await self.store.outbox_head(target, HEAD_BATCH)
                if not entries:
                    return
                if notifier is None:
                    await self._park(
                        target, entries, f"no notifier configured for {target_kind(target)!r}", report
                    )
                    continue
                if DIGEST_MARK in target:
                    if not await self._digest_queue(target, notifier, entries, report):
                        return
                    continue
                progressed = await self._send_in_order(target, notifier, entries, report, deadline)
                if not progressed:
                    return
        except (Cut, Fenced) as cut:
            # Deadline passed or lease lost (a stall, a store outage): the record in hand stays queued, and
            # nothing this worker read of the queue before is acted on any more.
            cause = str(cut) if isinstance(cut, Cut) else "another worker took the queue over"
            level = logging.INFO if self.cutoff.passed(deadline) else logging.WARNING
            log.log(level, "delivery cut off", extra={"target": target, "cause": cause})
        finally:
            del self._leases[target]
            if taken:
                await lease.release()

    async def _send_in_order(
        self,
        target: str,
        notifier: Notifier,
        entries: Sequence[OutboxEntry],
        report: DeliveryReport,
        deadline: float | None,
    ) -> bool:
        """Send entries from the head; False when the head has to wait (back-off) or the deadline passed."""
        for entry in entries:
            now = self.clock()
            if self.cutoff.passed(deadline):
                return False
            if entry.not_before > now and entry.id in self._failed_here:
                # Head-of-line blocking keeps the channel's order: nothing overtakes a record in back-off.
                report.next_due = min(report.next_due or entry.not_before, entry.not_before)
                return False
            if await self._effect(target, notifier, entry, report) is not Verdict.SEND:
                continue  # muted (dropped) or snoozed (held): nothing posted, no pace slot taken
            if (
                entry.event == "alert"
                and notifier.name not in UNFLOODABLE
                and await self._flooded(target, now)
            ):
                # Roll everything waiting into one message, not one digest per batch read.
                pending = await self.store.outbox_head(target, DIGEST_MAX)
                start = next((k for k, e in enumerate(pending) if e.id == entry.id), 0)
                overflow = [
                    e for e in pending[start:] if e.event == "alert" and e.id not in self._failed_here
                ]
                overflow = (
                    await self._sendable(target, overflow)
                    if notifier.name in ("slack", "apprise")
                    else overflow
                )
                if len(overflow) > 1:
                    await self._send_digest(
                        target, notifier, overflow, "more alerts than the flood limit", report
                    )
                    return True
            if notifier.pace > 0:
                wait = await self.store.reserve_slot(target, notifier.pace, now)
                if wait > 0:
                    await self.cutoff.sleep(wait, deadline)
            if not await self._send_one(target, notifier, entry, report):
                return False
        return True

    async def _send_one(
        self, target: str, notifier: Notifier, entry: OutboxEntry, report: DeliveryReport
    ) -> bool:
        lease = self._leases[target]
        if not await lease.confirm(entry.id):
            return True  # it left the queue meanwhile (parked or dropped): nothing to send
        key = thread_key(target, entry.watch, entry.story)
        thread = await self.store.get_thread(key) if entry.event == "update" and notifier.threads else None
        try:
            # A digest queue's entries go to its channel ("slack:#news|digest:hourly" → "slack:#news").
            channel = target.split(DIGEST_MARK, 1)[0]
            state = await lease.guard(notifier.send(channel, entry.record, thread))
        except NotifyError as exc:
            if self.metrics is not None:
                self.metrics.alert_failures.labels(target_kind(target)).inc()
            attempts = entry.attempts + 1
            if exc.permanent or (exc.give_up_after is not None and attempts >= exc.give_up_after):
                why = str(exc) if exc.permanent else f"{exc} (gave up after {attempts} attempts)"
                await self._park(target, [entry], why, report)
                return True
            self._failed_here.add(entry.id)
            delay = exc.retry_after if exc.retry_after is not None else self._backoff(attempts)
            not_before = self.clock() + delay
            await self.store.outbox_retry(target, entry.id, attempts, not_before, str(exc), fence=lease.fence)
            report.retried += 1
            report.next_due = min(report.next_due or not_before, not_before)
            log.warning(
                "delivery failed",
                extra={"target": target, "watch": entry.watch, "story": entry.story, "error": str(exc),
                       "attempt": attempts, "retry_in": round(delay, 1)},
            )  # fmt: skip
            return False
        await self._ack_durably(target, [entry.id], (key, state) if state else None)
        if self.metrics is not None:
            published = entry.record.get("published")
            lag_from = datetime.fromisoformat(published) if published and entry.event == "alert" else None
            self.metrics.alert_delivered(
                target_kind(target), entry.event, lag_from, datetime.now(UTC) if lag_from else None
            )
        if entry.event == "alert" and notifier.name not in UNFLOODABLE:
            await self.store.count_window(f"flood:{target}", self.policy.flood_window, self.clock(), add=1)
        report.sent += 1
        return True

    async def _ack_durably(self, target: str, ids: Sequence[str], thread: tuple[str, str] | None) -> None:
        """Remove delivered entries, waiting out a store outage however long it lasts: the message is already
        in Slack, and giving up would send it again once the store is back.  It ends without the ack only when
        the ack can no longer land: the store says another worker was granted the queue since (:class:`Fenced`:
        that worker sends the entry again, the one message this worker had in flight), or a stop at once."""
        fence = self._leases[target].fence
        delay = 0.25
        while True:
            try:
                await self.store.outbox_ack(target, ids, thread=thread, fence=fence)
                self._failed_here.discard_all(ids)
                return
            except StoreError as exc:
                if self.cutoff.cut():
                    raise Cut("stopped before the delivery could be recorded") from None
                log.warning(
                    "delivery not confirmed yet",
                    extra={"target": target, "error": str(exc), "retry_in": round(delay, 1)},
                )
                # Short steps: the sooner the ack lands once the store is back, the less likely another
                # worker takes the queue over first and sends the message again.
                await self.cutoff.wait_moved(delay)
                delay = min(delay * 2, ACK_RETRY_MAX_S)

    async def _park(
        self, target: str, entries: Sequence[OutboxEntry], reason: str, report: DeliveryReport
    ) -> None:
        await self.store.outbox_park(
            target, [e.id for e in entries], reason, fence=self._leases[target].fence
        )
        self._failed_here.discard_all(e.id for e in entries)
        report.parked += len(entries)
        # Reported once per target and reason, not once per record: a wrong channel must not flood the log.
        if (target, reason) not in self._warned:
            self._warned.add((target, reason))
            log.error(
                "cannot deliver, records parked (see newswatch outbox)",
                extra={"target": target, "error": reason, "records": len(entries)},
            )
        report.errors.append(f"{target}: {reason}")

    def _backoff(self, attempts: int) -> float:
        # Exponential, drawn from the upper half of the step, so many workers retrying one outage do not return
        # in lockstep and none comes back much sooner than the step.
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * 2 ** (attempts - 1))
        return random.uniform(ceiling / 2, ceiling)
