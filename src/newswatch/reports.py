"""What a poll, a cycle or a replay reports: per-feed outcomes and the cycle's summary line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from newswatch.config import FeedConfig
from newswatch.cpu import Outcome
from newswatch.delivery.outbox import DeliveryReport
from newswatch.feeds.policy import PollStatus
from newswatch.store.base import Event

__all__ = ["CycleReport", "FeedReport", "Polled"]


@dataclass
class FeedReport:
    feed: FeedConfig
    label: str
    status: PollStatus
    error: str | None = None
    items: int = 0
    new: int = 0  # new or changed items
    alerts: int = 0


@dataclass
class Polled:
    """A fetched and parsed feed; :meth:`Pipeline.commit` saves its new state once its items are recorded."""

    report: FeedReport
    items: list[Outcome]
    state_before: dict[str, Any]
    updates: dict[str, Any]  # validators, body hash, title, error
    retry_after: float | None = None
    max_age: float | None = None
    ttl: float | None = None


@dataclass
class CycleReport:
    feeds: list[FeedReport] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    pending: int = 0
    elapsed: float = 0.0

    @property
    def alerts(self) -> int:
        return sum(e.event == "alert" for e in self.events)

    @property
    def updates(self) -> int:
        return sum(e.event == "update" for e in self.events)

    def summary(self) -> str:
        failed_feeds = sum(r.status == "error" for r in self.feeds)
        items = sum(r.items for r in self.feeds)
        new = sum(r.new for r in self.feeds)
        parts = [
            f"{len(self.feeds)} feeds ({failed_feeds} failed)",
            f"{items} items ({new} new or changed)",
            f"{self.alerts} alerts, {self.updates} updates",
            f"{self.delivery.sent} delivered",
        ]
        if self.delivery.digests:
            parts.append(f"{self.delivery.digests} digests")
        if self.delivery.parked:
            parts.append(f"{self.delivery.parked} parked")
        if self.pending:
            parts.append(f"{self.pending} waiting for retry")
        return "cycle done: " + ", ".join(parts) + f" in {self.elapsed:.1f}s"
