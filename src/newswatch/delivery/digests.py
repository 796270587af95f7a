"""Digests: several alerts of one channel in one message, for flood control and for digest watches.

Owns the digest queue of a watch with ``digest: hourly`` or ``daily`` (a queue named ``slack:#news|digest:hourly``
is sent at the start of the next hour or day), the held queue of a channel (``slack:#news|digest:held``: records
of a watch snoozed from Slack, sent once the snooze is over, see effects.py), rolling a flood's overflow into one message, and what happens when
a digest is refused: each alert is sent alone, so one bad line never costs the good ones.  A mixin of
:class:`newswatch.delivery.outbox.Delivery`, whose store, policy, leases and sending it uses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from newswatch.delivery.notify.base import Notifier, NotifyError
from newswatch.store.base import OutboxEntry, Store

if TYPE_CHECKING:
    from newswatch.delivery.report import DeliveryPolicy, DeliveryReport

log = logging.getLogger("newswatch.delivery")

DIGEST_MARK = "|digest:"  # a queue "slack:#news|digest:hourly" holds a digest watch's alerts
DIGEST_MAX = 500  # alerts rolled into one flood digest at most
HELD_PERIOD = "held"  # the "period" of a held queue: due when its watch's snooze is over


def digest_due(created: float, period: str) -> float:
    """When a digest watch's entry queued at ``created`` is sent: the start of the next hour or day (UTC)."""
    t = datetime.fromtimestamp(created, UTC)
    if period == "daily":
        start = t.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    else:
        start = t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return start.timestamp()


class Digests:
    # What the mixin uses of Delivery (declared for the type checker).
    store: Store
    policy: DeliveryPolicy
    clock: Callable[[], float]
    cutoff: Any
    _leases: Any
    _failed_here: Any

    if TYPE_CHECKING:  # Delivery's own methods, which the digest paths call

        async def _send_one(
            self, target: str, notifier: Notifier, entry: OutboxEntry, report: DeliveryReport
        ) -> bool: ...

        async def _park(
            self, target: str, entries: Sequence[OutboxEntry], reason: str, report: DeliveryReport
        ) -> None: ...

        async def _ack_durably(
            self, target: str, ids: Sequence[str], thread: tuple[str, str] | None
        ) -> None: ...

        def _backoff(self, attempts: int) -> float: ...

        async def _held_due(
            self, target: str, entries: Sequence[OutboxEntry], report: DeliveryReport
        ) -> tuple[list[OutboxEntry], float | None]: ...

    async def _flooded(self, target: str, now: float) -> bool:
        count = await self.store.count_window(f"flood:{target}", self.policy.flood_window, now)
        return count >= self.policy.flood_max

    async def _digest_queue(
        self, target: str, notifier: Notifier, entries: Sequence[OutboxEntry], report: DeliveryReport
    ) -> bool:
        period = target.split(DIGEST_MARK, 1)[1]
        now = self.clock()
        head = entries[0]
        if head.not_before > now and head.id in self._failed_here:
            # The digest (or, after a refusal, one of its alerts sent alone) failed here: wait out its
            # back-off rather than calling Slack again at once.
            report.next_due = min(report.next_due or head.not_before, head.not_before)
            return False
        if period == HELD_PERIOD:
            # Watches are snoozed for different times: look past the head for those whose snooze is over.
            due, first = await self._held_due(
                target, await self.store.outbox_head(target, DIGEST_MAX), report
            )
            watches = ", ".join(dict.fromkeys(e.watch for e in due))
            reason = f"held while {watches} was snoozed"
        else:
            due = [e for e in entries if digest_due(e.created, period) <= now]
            first, reason = digest_due(entries[0].created, period), f"{period} digest"
        if not due:
            if first is not None:
                report.next_due = min(report.next_due or first, first)
            return False
        alerts = [e for e in due if e.event == "alert"]
        if alerts:
            await self._send_digest(target, notifier, alerts, reason, report, ack_also=due)
        else:
            await self.store.outbox_ack(target, [e.id for e in due], fence=self._leases[target].fence)
        return True

    async def _send_digest(
        self,
        target: str,
        notifier: Notifier,
        alerts: Sequence[OutboxEntry],
        reason: str,
        report: DeliveryReport,
        ack_also: Sequence[OutboxEntry] = (),
    ) -> None:
        if notifier.pace > 0:
            wait = await self.store.reserve_slot(target.split(DIGEST_MARK, 1)[0], notifier.pace, self.clock())
            if wait > 0:
                await self.cutoff.sleep(wait)
        lease = self._leases[target]
        if not await lease.confirm(alerts[0].id):
            return  # the head left the queue meanwhile: the queue is read again
        try:
            await lease.guard(
                notifier.send_digest(target.split(DIGEST_MARK, 1)[0], [e.record for e in alerts], reason)
            )
        except NotifyError as exc:
            if exc.content and len(alerts) > 1:
                # The notifier already fell back to plain text and the digest was still refused: one bad
                # line must not cost the good ones, so each alert goes alone and only one refused on its
                # own is parked.
                log.warning(
                    "digest refused, sending its alerts one by one",
                    extra={"target": target, "error": str(exc), "alerts": len(alerts)},
                )
                await self._send_singly(target, notifier, alerts, report, ack_also)
                return
            head = alerts[0]
            if exc.permanent or (exc.give_up_after is not None and head.attempts + 1 >= exc.give_up_after):
                why = str(exc) if exc.permanent else f"{exc} (gave up after {head.attempts + 1} attempts)"
                await self._park(target, list(alerts), why, report)
                return
            self._failed_here.add(head.id)
            delay = exc.retry_after if exc.retry_after is not None else self._backoff(head.attempts + 1)
            not_before = self.clock() + delay
            await self.store.outbox_retry(
                target, head.id, head.attempts + 1, not_before, str(exc), fence=lease.fence
            )
            report.retried += 1
            report.next_due = min(report.next_due or not_before, not_before)
            log.warning(
                "digest failed", extra={"target": target, "error": str(exc), "retry_in": round(delay, 1)}
            )
            return
        ids = list(dict.fromkeys([e.id for e in alerts] + [e.id for e in ack_also]))
        await self._ack_durably(target, ids, None)
        await self.store.count_window(f"flood:{target}", self.policy.flood_window, self.clock(), add=1)
        report.digests += 1
        report.sent += len(alerts)

    async def _send_singly(
        self,
        target: str,
        notifier: Notifier,
        alerts: Sequence[OutboxEntry],
        report: DeliveryReport,
        ack_also: Sequence[OutboxEntry],
    ) -> None:
        for entry in alerts:
            if notifier.pace > 0:
                wait = await self.store.reserve_slot(
                    target.split(DIGEST_MARK, 1)[0], notifier.pace, self.clock()
                )
                if wait > 0:
                    await asyncio.sleep(wait)
            if not await self._send_one(target, notifier, entry, report):
                return  # waits for its retry; the rest stay queued behind it, in order
        sent = {e.id for e in alerts}
        rest = [e.id for e in ack_also if e.id not in sent]
        if rest:
            await self._ack_durably(target, rest, None)
