"""What Slack actions change in delivery: which records a mute drops and a snooze holds, in Slack and Apprise.

Owns the verdict on one queued record about to be posted to a Slack channel, given the mutes and snoozes in
force for that channel (:meth:`newswatch.store.base.Store.mutes`), read again before every post so an action
takes effect at the next message: a record of a muted story, or from a muted feed, on that watch is dropped
(acknowledged unsent); a record of a snoozed watch is held, moved in order to the channel's held queue
(``slack:#news|digest:held``).  Held records are due once no snooze of their watch is in force (it lapsed
after 24 h, or was lifted): then they go out as one digest (:mod:`newswatch.delivery.digests`), less any
muted since.  Apprise targets (Teams, Discord…, which have no buttons) follow the mutes and snoozes set in
their watch's Slack channels.  Only posts to Slack and Apprise change: the records were recorded, and reached
JSONL, webhooks and ``replay`` as usual.  A mixin of :class:`newswatch.delivery.outbox.Delivery`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from newswatch.delivery.digests import DIGEST_MARK, HELD_PERIOD
from newswatch.delivery.notify.base import Notifier
from newswatch.models import feed_key
from newswatch.service.metrics import Metrics
from newswatch.store.base import Mute, OutboxEntry, Store, mute_id

if TYPE_CHECKING:
    from newswatch.delivery.report import DeliveryReport

log = logging.getLogger("newswatch.delivery")


class Verdict(enum.Enum):
    SEND = "send"
    MUTED = "muted"  # dropped: its story or its feed is muted on this watch and channel
    HELD = "held"  # its watch is snoozed on this channel


def verdict(mutes: Sequence[Mute], entry: OutboxEntry, now: float) -> tuple[Verdict, Mute | None]:
    """What to do with one record bound for the channel these mutes belong to; a mute beats a snooze."""
    feed = entry.record.get("feed")
    feed_id = feed_key(feed) if isinstance(feed, str) and feed else None
    live = [m for m in mutes if m.watch == entry.watch and m.expires > now]
    for m in live:
        if (m.kind == "story" and m.subject == entry.story) or (m.kind == "source" and m.subject == feed_id):
            return Verdict.MUTED, m
    snooze = next((m for m in live if m.kind == "snooze"), None)
    return (Verdict.HELD, snooze) if snooze is not None else (Verdict.SEND, None)


def candidates(target: str, entry: OutboxEntry) -> list[str]:
    """The ids of the mutes that could apply to ``entry`` (its story, its feed, its watch's snooze): what is
    read before each post, however many mutes are in force."""
    feed = entry.record.get("feed")
    ids = [mute_id("story", target, entry.watch, entry.story), mute_id("snooze", target, entry.watch, "")]
    if isinstance(feed, str) and feed:
        ids.append(mute_id("source", target, entry.watch, feed_key(feed)))
    return ids


def held_queue(target: str) -> str:
    """Where a channel's held records wait: ``slack:#news`` → ``slack:#news|digest:held``."""
    return f"{target}{DIGEST_MARK}{HELD_PERIOD}"


class Effects:
    # What the mixin uses of Delivery (declared for the type checker).
    store: Store
    clock: Callable[[], float]
    metrics: Metrics | None
    _leases: Any  # target -> QueueLease, of the queues this process drains
    linked: Callable[[str], Sequence[str]] | None  # watch -> its Slack channels (routing.slack_channels)

    if TYPE_CHECKING:

        async def _ack_durably(
            self, target: str, ids: Sequence[str], thread: tuple[str, str] | None
        ) -> None: ...

    async def _effect(
        self, target: str, notifier: Notifier, entry: OutboxEntry, report: DeliveryReport
    ) -> Verdict:
        """Drop or hold ``entry`` when a mute or snooze says so (Slack targets, and Apprise targets through
        their watch's Slack channels); SEND otherwise."""
        if notifier.name == "slack":
            mutes = await self.store.mutes(target, ids=candidates(target, entry))
        elif notifier.name == "apprise" and (channels := self._linked_channels([entry.watch])):
            mutes = [m for ch in channels for m in await self.store.mutes(ch, ids=candidates(ch, entry))]
        else:
            return Verdict.SEND
        decided, mute = verdict(mutes, entry, self.clock())
        if decided is Verdict.MUTED:
            await self._ack_durably(target, [entry.id], None)
            report.muted += 1
            self._suppressed(target, entry, mute)
        elif decided is Verdict.HELD:
            await self.store.outbox_move(
                target, [entry.id], held_queue(target), fence=self._leases[target].fence
            )
            report.held += 1
            self._suppressed(target, entry, mute)
        return decided

    async def _sendable(self, target: str, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
        """The entries no mute or snooze stops (the others are dealt with when their turn comes)."""
        mutes, now = await self.store.mutes(target), self.clock()
        if target.startswith("apprise:"):  # the mutes of its watches' Slack channels
            for ch in self._linked_channels({e.watch for e in entries}):
                mutes += await self.store.mutes(ch)
        return [e for e in entries if verdict(mutes, e, now)[0] is Verdict.SEND]

    async def _held_due(
        self, target: str, entries: Sequence[OutboxEntry], report: DeliveryReport
    ) -> tuple[list[OutboxEntry], float | None]:
        """Of a held queue's entries, those whose watch is snoozed no more (in order), and when the next
        snooze lapses; entries muted meanwhile are dropped here."""
        channel = target.split(DIGEST_MARK, 1)[0]
        mutes, now = await self.store.mutes(channel), self.clock()
        if channel.startswith("apprise:"):  # held by a snooze set in its watch's Slack channel
            for ch in self._linked_channels({e.watch for e in entries}):
                mutes += await self.store.mutes(ch)
        due: list[OutboxEntry] = []
        muted: list[str] = []
        lapse: float | None = None
        for e in entries:
            decided, mute = verdict(mutes, e, now)
            if decided is Verdict.MUTED:
                muted.append(e.id)
            elif decided is Verdict.HELD and mute is not None:
                lapse = min(lapse or mute.expires, mute.expires)
            else:
                due.append(e)
        if muted:
            await self._ack_durably(target, muted, None)
            report.muted += len(muted)
        return due, lapse

    def _linked_channels(self, watches: Iterable[str]) -> list[str]:
        """The Slack channels whose mutes and snoozes hold for these watches' Apprise targets (Apprise's
        services have no buttons: what someone muted in the watch's Slack channel is muted there too)."""
        if self.linked is None:
            return []
        return list(dict.fromkeys(ch for w in watches for ch in self.linked(w)))

    def _suppressed(self, target: str, entry: OutboxEntry, mute: Mute | None) -> None:
        reason = "snoozed" if mute is None or mute.kind == "snooze" else f"muted_{mute.kind}"
        if self.metrics is not None:
            self.metrics.alerts_suppressed.labels(reason).inc()
        extra: dict[str, Any] = {
            "target": target,
            "watch": entry.watch,
            "story": entry.story,
            "cause": reason,
        }
        log.debug("record not posted", extra={**extra, "mute": mute.id if mute else None})
