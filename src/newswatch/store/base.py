"""The Store protocol: every piece of state newswatch shares between cycles, restarts and workers.

Two real implementations live beside it (Redis for many workers, SQLite embedded by default); both pass one
test suite.  Every method that decides something is atomic, so two workers meeting the same item at once act
once.  The central call is :meth:`Store.record`: for a whole batch of sightings (one feed's items) it reads what
the store knows, lets :func:`newswatch.store.batch.plan_batch` decide in pure Python (new, changed or seen;
which watches report the item; which story each joins, through :mod:`newswatch.stories`), and applies that plan
atomically with the outbox entries.  Nothing is claimed without being queued, and nothing is queued twice, so a
crash at any moment either re-reads the feed (nothing recorded yet) or finds the alert waiting in the outbox.

Round trips of ``record``: SQLite, one transaction per batch; Redis, two scripts per batch (read, then commit
with optimistic concurrency: a per-watch version and the items' state are checked at commit, and the batch is
read and decided again on a conflict).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # the story model (NumPy) is loaded by the commands that place items, not by `--help`
    from newswatch.stories import BatchStories, ItemProfile


class StoreError(Exception):
    """The store cannot be reached or answered with an error; the message says which and why."""


class Fenced(Exception):
    """A write fenced by a lease grant was refused, nothing written: the lease was granted to another worker
    (or taken anew) since, so that worker now decides what happens to the queue."""


@dataclass(frozen=True, slots=True)
class Fence:
    """One grant of a lease.  ``epoch`` counts the grants of lease ``name`` ever made, so a later grant (to
    another worker, or to this one after its grant lapsed) always has a higher one.  A write fenced by this
    grant is applied only while no later grant was made, checked in the same atomic step as the write: a
    worker that stalled past its lease can never write over what its successor did."""

    name: str
    holder: str
    epoch: int


class Seen(enum.Enum):
    NEW = "new"  # never seen under any of its keys
    CHANGED = "changed"  # seen, but this text is new and not shorter than the longest seen: match again
    SAME = "same"  # seen with this text (or a shorter, different one): nothing to do


@dataclass(frozen=True, slots=True)
class Sighting:
    """One item as seen now: its identities and a fingerprint of the text it was matched on."""

    keys: tuple[str, ...]
    fingerprint: str
    length: int
    ttl: float  # how long the item is remembered
    at: float  # epoch seconds that place the item in time for stories: its publication, else now


@dataclass(frozen=True, slots=True)
class WatchClaim:
    """A watch that matched the sighting, and what to queue if it is the watch's first alert for the item."""

    watch: str
    targets: tuple[str, ...]  # outbox queues ("slack:#mideast", "jsonl", …)
    record: Mapping[str, Any]  # the alert record; "event" and "story" are filled in at commit
    features: ItemProfile | None = None  # None: no story grouping, the item opens its own story


@dataclass(frozen=True, slots=True)
class Sighted:
    """One item of a batch: its sighting and the watches it matched."""

    sighting: Sighting
    claims: tuple[WatchClaim, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    watch: str
    story: str
    event: str  # "alert" opens a story; "update" is a later distinct item of it
    entries: tuple[str, ...] = ()  # outbox entry ids queued for it
    reason: str | None = None  # one line on why the story decision opened or joined (`newswatch why`)


@dataclass(frozen=True, slots=True)
class Recorded:
    item_id: str  # stable id of the item: its first identity key ever seen
    seen: Seen
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One record waiting to be delivered to one target."""

    id: str
    seq: int  # global order of queueing; a queue is delivered in this order
    target: str
    watch: str
    story: str
    event: str
    record: dict[str, Any]
    attempts: int = 0
    not_before: float = 0.0  # epoch seconds: retry back-off
    created: float = 0.0


@dataclass(frozen=True, slots=True)
class Mute:
    """An effect of a Slack action on one channel target and watch, until ``expires`` (epoch seconds).

    ``kind`` "story" mutes the story ``subject`` (its id), "source" the feed whose :func:`feed_key` is
    ``subject``, "snooze" the whole watch (``subject`` empty).  ``user`` is the Slack user who set it;
    ``label`` says what it is about for people (a title or a source name, from the alert)."""

    kind: str
    target: str  # the outbox queue it applies to ("slack:#mideast")
    watch: str
    subject: str
    user: str
    created: float
    expires: float
    label: str = ""

    @property
    def id(self) -> str:
        return mute_id(self.kind, self.target, self.watch, self.subject)


def mute_id(kind: str, target: str, watch: str, subject: str) -> str:
    """A mute's short, stable id: the same in every store and worker (``newswatch mutes --clear ID``)."""
    return "m-" + hashlib.sha256(f"{kind}\x00{target}\x00{watch}\x00{subject}".encode()).hexdigest()[:10]


def new_story_id(watch: str, item_id: str) -> str:
    """The id of the story an item opens on a watch: short, stable, the same in every store and worker."""
    return "s-" + hashlib.sha256(f"{watch}\x00{item_id}".encode()).hexdigest()[:16]


def outbox_lease(target: str) -> str:
    """The name of the lease on a target's queue: whoever holds it is the queue's one sender."""
    return f"outbox:{target}"


def thread_key(target: str, watch: str, story: str) -> str:
    """Where a story's parent message lives: one per target (channel), watch and story."""
    return f"{target}|{watch}|{story}"


@runtime_checkable
class Store(Protocol):
    # ---------------------------------------------------------------------------------------------- items
    async def record(self, batch: Sequence[Sighted], stories: BatchStories) -> list[Recorded]:
        """Record a batch of sightings and, for each whose text is new, claim/place/queue each watch,
        atomically; one :class:`Recorded` per sighting, in order (see the module docstring)."""
        ...

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these identity keys a recorded, unexpired item holds (one read; nothing is written)."""
        ...

    async def doc_freq(self, limit: int) -> tuple[dict[str, int], int]:
        """The ``limit`` most frequent terms learned by every worker, and the number of items counted."""
        ...

    async def add_doc_freq(self, increments: Mapping[str, int], docs: int, max_terms: int) -> None:
        """Add what a worker learned; keep at most about ``max_terms`` terms (the rarest are dropped)."""
        ...

    # ---------------------------------------------------------------------------------------------- outbox
    async def outbox_targets(self) -> list[str]:
        """Queues that hold entries."""
        ...

    async def enqueue(self, target: str, record: Mapping[str, Any]) -> str:
        """Queue one record that no item claims (ops alerts); returns its entry id."""
        ...

    async def outbox_head(self, target: str, limit: int) -> list[OutboxEntry]:
        """The oldest entries of a queue, in order."""
        ...

    async def outbox_confirm(self, target: str, entry_id: str, fence: Fence, ttl: float) -> bool:
        """The decision to send one entry, taken just before the send: True while the entry is still queued
        and ``fence`` still holds (the lease is renewed for ``ttl``); False when the entry left the queue
        (delivered or parked by another worker).  Raises :class:`Fenced` when a later grant was made."""
        ...

    async def outbox_ack(
        self,
        target: str,
        entry_ids: Sequence[str],
        thread: tuple[str, str] | None = None,
        *,
        fence: Fence | None = None,
    ) -> None:
        """Delivered: remove the entries; ``thread`` = (thread key, message ts) remembers a Slack parent, and
        is written only when an entry acknowledged here was still queued (never over the state another worker
        wrote for an entry it delivered).  With ``fence``, nothing is written unless it holds (:class:`Fenced`)."""
        ...

    async def outbox_retry(
        self,
        target: str,
        entry_id: str,
        attempts: int,
        not_before: float,
        error: str,
        *,
        fence: Fence | None = None,
    ) -> None:
        """Record a failed attempt and its back-off; an entry no longer queued is left alone (never re-created)."""
        ...

    async def outbox_park(
        self, target: str, entry_ids: Sequence[str], reason: str, *, fence: Fence | None = None
    ) -> None:
        """Move entries that can never be delivered aside, with the reason (kept for inspection); only entries
        still queued are parked."""
        ...

    async def outbox_parked(self) -> list[tuple[OutboxEntry, str]]: ...

    async def outbox_purge_parked(self, parked_before: float | None = None) -> int:
        """Delete parked entries parked before ``parked_before`` (epoch seconds; None: every parked entry);
        returns how many.  Entries waiting for delivery are never touched."""
        ...

    async def outbox_unpark(self) -> int:
        """Put every parked record back in its queue, at its old place, with its attempts reset (``outbox
        --retry``); returns how many."""
        ...

    async def outbox_pending(self) -> int: ...

    async def get_thread(self, key: str) -> str | None:
        """The Slack ts of a story's parent message in a channel, once it was posted."""
        ...

    async def set_thread(self, key: str, state: str) -> None:
        """Replace what is remembered of a story's parent message (a Slack action changed how it looks)."""
        ...

    async def outbox_move(
        self, target: str, entry_ids: Sequence[str], to: str, *, fence: Fence | None = None
    ) -> None:
        """Move entries to another queue, keeping their order (a snoozed watch's records are held)."""
        ...

    # ---------------------------------------------------------------------------------------------- why

    async def add_notes(self, notes: Sequence[tuple[Sequence[str], Mapping[str, Any]]], ttl: float) -> None:
        """File each note (a small JSON object) under each of its keys, for ``ttl`` seconds; every key keeps
        only its latest notes (the bounded decision record behind ``newswatch why``, see store/notes.py)."""
        ...

    async def notes(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        """The unexpired notes filed under any of these keys, each once, oldest first."""
        ...

    # ---------------------------------------------------------------------------------------------- timelines

    async def story_timeline(self, story: str) -> list[dict[str, Any]]:
        """Every report of a story still on record (its latest TIMELINE_PER_STORY), oldest first: the alert
        record's fields (title, url, source, published, reason, related…) with event and the time recorded
        (``at``), written by :meth:`record` for each claim it commits (store/timeline.py)."""
        ...

    async def recent_stories(self, watch: str, limit: int) -> list[dict[str, Any]]:
        """A watch's latest stories, newest first: each its opening report with ``reports``, ``outlets`` and
        ``latest`` (epoch seconds)."""
        ...

    # ---------------------------------------------------------------------------------------------- mutes

    async def add_mute(self, mute: Mute) -> None:
        """Set a mute or snooze (replacing one with the same id); it lapses at ``mute.expires``."""
        ...

    async def mutes(self, target: str | None = None, ids: Sequence[str] | None = None) -> list[Mute]:
        """The mutes and snoozes in force (of one target, or of all; only those of ``ids`` when given: a
        lookup as cheap with ten thousand mutes as with none), oldest first."""
        ...

    async def clear_mutes(self, ids: Sequence[str] | None = None) -> int:
        """Lift mutes by id (None: every one); returns how many were in force."""
        ...

    # ---------------------------------------------------------------------------------------------- coordination
    async def remember_once(self, name: str, ttl: float) -> bool:
        """Remember ``name`` for ``ttl`` seconds; True for the first caller (in any worker sharing the store),
        False while it is remembered.  Nothing is left behind once it lapses."""
        ...

    async def lease(self, name: str, holder: str, ttl: float, epoch: int = 0) -> int:
        """Take a named lease for ``holder`` (``epoch`` 0) or renew the grant ``epoch``; returns the epoch of
        the grant held (see :class:`Fence`), 0 while another holder has the lease, or when the grant to renew
        was followed by another (it lapsed and was taken anew: the holder must stop)."""
        ...

    async def release(self, name: str, holder: str) -> None: ...

    async def reserve_slot(self, name: str, interval: float, now: float) -> float:
        """Reserve the next send slot of a paced channel; returns the seconds to wait before sending."""
        ...

    async def count_window(self, name: str, window: float, now: float, add: int = 0) -> int:
        """Add to and read a fixed-window counter (flood control): the count in the window containing now."""
        ...

    # ---------------------------------------------------------------------------------------------- schedule
    async def schedule(self, due: Mapping[str, float], *, only_new: bool = False) -> int:
        """Set when feeds are next due (epoch seconds); ``only_new`` leaves feeds already scheduled alone.
        Returns how many of them were not scheduled before."""
        ...

    async def overdue(self, before: float, limit: int) -> list[tuple[str, float]]:
        """Up to ``limit`` scheduled feeds that were due before ``before``, earliest first, with their due times."""
        ...

    async def announce(self, worker: str, generation: str, ttl: float) -> dict[str, str]:
        """Say that ``worker`` runs config ``generation`` for the next ``ttl`` seconds; returns the generation of
        every worker that announced itself and has not lapsed since, this one included."""
        ...

    async def claim_due(self, now: float, limit: int, hold: float) -> list[str]:
        """Atomically take up to ``limit`` feeds due by ``now`` for this worker: their due time moves to
        ``now + hold``, so no other worker takes them; a worker that dies gives them back when that passes."""
        ...

    async def due_time(self, feed_url: str) -> float | None:
        """When one feed is next due, or None when it is not scheduled."""
        ...

    async def next_due(self) -> float | None:
        """When the earliest feed is due, or None when nothing is scheduled."""
        ...

    async def unschedule(self, feed_urls: Sequence[str]) -> None: ...

    # ---------------------------------------------------------------------------------------------- feeds
    async def get_feed_state(self, feed_url: str) -> dict[str, Any] | None:
        """The fetch state last saved for a feed (validators, errors, schedule), or None."""
        ...

    async def set_feed_states(self, states: Mapping[str, dict[str, Any]]) -> None:
        """Save the fetch state of several feeds at once."""
        ...

    # ---------------------------------------------------------------------------------------------- lifecycle
    async def ping(self) -> None:
        """Raise :class:`StoreError` when the store cannot be used."""
        ...

    async def check_safe(self) -> None:
        """Raise :class:`StoreError` when the store would not keep what newswatch writes (a Redis whose
        eviction policy may drop keys: dedupe state, stories and queued alerts); checked at start."""
        ...

    async def close(self) -> None: ...
