"""The Store protocol: every piece of state newswatch shares between cycles, restarts and workers.

Two real implementations live beside it (Redis for many workers, SQLite embedded by default); both pass one
test suite.  Every method that decides something ("is this new?", "has this watch alerted?") is atomic, so two
workers meeting the same item at once act once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


class StoreError(Exception):
    """The store cannot be reached or answered with an error; the message says which and why."""


class Seen(enum.Enum):
    NEW = "new"  # never seen under any of its keys
    CHANGED = "changed"  # seen, but this text is new and not shorter than the longest seen: match again
    SAME = "same"  # seen with this text (or a shorter, different one): nothing to do


@dataclass(frozen=True, slots=True)
class Observation:
    item_id: str  # stable id of the item: its first identity key ever seen
    seen: Seen


@runtime_checkable
class Store(Protocol):
    async def observe(self, keys: tuple[str, ...], fingerprint: str, length: int, ttl: float) -> Observation:
        """Record a sighting of an item under its identity keys with its text fingerprint, atomically."""
        ...

    async def claim_alert(self, watch: str, item_id: str, story: str, ttl: float) -> bool:
        """True exactly once per (watch, item): the caller may then alert; later callers get False."""
        ...

    async def get_feed_state(self, feed_url: str) -> dict[str, Any] | None:
        """The fetch state last saved for a feed (validators, errors, schedule), or None."""
        ...

    async def set_feed_state(self, feed_url: str, state: dict[str, Any]) -> None: ...

    async def ping(self) -> None:
        """Raise :class:`StoreError` when the store cannot be used."""
        ...

    async def close(self) -> None: ...
