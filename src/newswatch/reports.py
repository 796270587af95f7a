"""What a poll, a cycle or a replay reports: per-feed outcomes and the cycle's summary line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from newswatch.config import FeedConfig
from newswatch.cpu import Outcome
from newswatch.delivery.report import DeliveryReport
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

    def fields(self) -> dict[str, int | float]:
        """The cycle in numbers, for its log line (``cycle done feeds=9 failed=0 items=15 …``)."""
        fields: dict[str, int | float] = {
            "feeds": len(self.feeds),
            "failed": sum(r.status == "error" for r in self.feeds),
            "items": sum(r.items for r in self.feeds),
            "new": sum(r.new for r in self.feeds),
            "alerts": self.alerts,
            "updates": self.updates,
            "delivered": self.delivery.sent,
        }
        for key, value in (("digests", self.delivery.digests), ("parked", self.delivery.parked),
                           ("waiting", self.pending)):  # fmt: skip
            if value:
                fields[key] = value
        fields["seconds"] = round(self.elapsed, 1)
        return fields
