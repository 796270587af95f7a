"""The store contract's decisions for one batch, in pure Python, shared by every store.

A store reads :class:`ItemFacts` for each sighting of a batch (what it knows under the item's keys, which of the
claiming watches already reported it, and a :class:`~newswatch.stories.StoryView` per story claim), calls
:func:`plan_batch`, and applies the returned :class:`BatchPlan` atomically.  So the rules — new, changed or seen;
one alert per watch and item; which story — are written once, and SQLite and Redis decide alike.

Within a batch, later sightings see what earlier ones decided: the same item twice in one batch is new once,
and a story opened by one item can take the next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from newswatch.store.base import Event, Recorded, Seen, Sighted, new_story_id
from newswatch.stories import BatchStories, Placement, StoryQuery, StoryView

__all__ = ["BatchPlan", "ClaimWrite", "ItemFacts", "ItemWrite", "plan_batch", "queries"]


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What a store read for one sighting, before anything of the batch was written."""

    key_ids: tuple[str | None, ...]  # the item id each of the sighting's keys points at, in key order
    fp_known: bool = False  # the item found under the first known key has this fingerprint recorded
    max_len: int = 0  # and this longest text length (of texts its own feed gave, see plan_batch)
    alerted: Mapping[str, str] = field(
        default_factory=dict
    )  # claiming watch -> story, if it reported the item
    views: Mapping[str, StoryView] = field(default_factory=dict)  # watch -> candidates, for story claims

    @property
    def item_id(self) -> str | None:
        return next((i for i in self.key_ids if i is not None), None)


@dataclass(frozen=True, slots=True)
class ItemWrite:
    item_id: str
    keys: tuple[str, ...]
    fingerprint: str
    max_len: int
    new: bool  # forget what an expired item of the same id left behind
    ttl: float
    fresh: bool = True  # the fingerprint is not among the item's known texts: the store adds it (and prunes)


@dataclass(frozen=True, slots=True)
class ClaimWrite:
    index: int  # of the sighting in the batch
    watch: str
    item_id: str
    story_id: str
    event: str  # "alert" or "update"
    record: dict[str, Any]  # the alert record with event and story filled in
    targets: tuple[str, ...]
    ttl: float
    placement: Placement | None


@dataclass(slots=True)
class BatchPlan:
    items: list[ItemWrite] = field(default_factory=list)
    claims: list[ClaimWrite] = field(default_factory=list)
    seen: list[tuple[str, Seen]] = field(default_factory=list)  # per sighting: item id and status
    learn: list[tuple[str, ...]] = field(default_factory=list)  # terms of each new matched item (df)

    @property
    def watches(self) -> list[str]:
        """Watches whose state this plan changes, each once, in order."""
        return list(dict.fromkeys(c.watch for c in self.claims))

    def recorded(self, entries: Sequence[Sequence[str]]) -> list[Recorded]:
        """The result of each sighting, given the outbox entry ids the store queued for each claim."""
        events: list[list[Event]] = [[] for _ in self.seen]
        for claim, ids in zip(self.claims, entries, strict=True):
            reason = claim.placement.reason if claim.placement is not None else None
            events[claim.index].append(Event(claim.watch, claim.story_id, claim.event, tuple(ids), reason))
        return [
            Recorded(item_id, seen, tuple(ev)) for (item_id, seen), ev in zip(self.seen, events, strict=True)
        ]


def story_fields(placement: Placement | None) -> dict[str, Any]:
    """What an alert record says of its story decision: ``reason``, one line; ``related``, for a new story
    possibly related to an earlier one, that story's id and its first report's title and URL."""
    if placement is None:
        return {}
    fields: dict[str, Any] = {"reason": placement.reason}
    rel = placement.related
    if rel is not None:
        fields["related"] = {"story": rel.story_id, "title": rel.title, "url": rel.url}
    return fields


def queries(sighted: Sighted, stories: BatchStories) -> dict[str, StoryQuery]:
    """What the store reads per watch for one sighting's story claims."""
    return {
        c.watch: stories.query(c.watch, c.features, sighted.sighting.at)
        for c in sighted.claims
        if c.features is not None
    }


def plan_batch(
    batch: Sequence[Sighted], facts: Sequence[ItemFacts], stories: BatchStories, now: float
) -> BatchPlan:
    """Decide a whole batch from what the store read (see the module docstring)."""
    plan = BatchPlan()
    key_ids: dict[str, str] = {}  # keys written by earlier sightings of this batch
    texts: dict[str, tuple[set[str], int]] = {}  # item id -> (fingerprints, longest length) written so far
    alerted: set[tuple[str, str]] = set()  # (watch, item id) claimed so far
    for index, (sighted, known) in enumerate(zip(batch, facts, strict=True)):
        s = sighted.sighting
        if not s.keys:
            raise ValueError("an item needs at least one identity key")
        ids = [key_ids.get(k, read) for k, read in zip(s.keys, known.key_ids, strict=True)]
        item_id = next((i for i in ids if i is not None), None)
        fp_known = False
        if item_id is None:
            item_id, seen, max_len = s.keys[0], Seen.NEW, 0
        else:
            read_here = item_id == known.item_id  # what the store read is about this item
            fps, max_len = texts.get(item_id) or (set(), known.max_len if read_here else 0)
            fp_known = s.fingerprint in fps or (read_here and known.fp_known)
            # A copy folded in from another feed (the item's id is none of its keys) is new text unless its
            # fingerprint is known: a copy's length never outranks where it came from (issue 21).
            shorter = s.length < max_len and item_id in s.keys
            seen = Seen.SAME if fp_known or shorter else Seen.CHANGED
        # Only the item's own feed's texts set the length a later text must reach to be matched again.
        length = max(max_len, s.length) if item_id in s.keys else max_len
        new = seen is Seen.NEW and item_id not in texts
        for key in s.keys:
            key_ids[key] = item_id
        fps = texts[item_id][0] if item_id in texts else set()
        fps.add(s.fingerprint)
        texts[item_id] = (fps, length)
        plan.items.append(ItemWrite(item_id, s.keys, s.fingerprint, length, new, s.ttl, not fp_known))
        plan.seen.append((item_id, seen))
        if seen is Seen.SAME:
            continue
        if seen is Seen.NEW:
            terms = next((c.features.terms for c in sighted.claims if c.features is not None), None)
            if terms is not None:
                plan.learn.append(terms)
        read_id = known.item_id
        for claim in sighted.claims:
            if (claim.watch, item_id) in alerted or (item_id == read_id and claim.watch in known.alerted):
                continue
            alerted.add((claim.watch, item_id))
            placement = None
            if claim.features is None:
                story, event = new_story_id(claim.watch, item_id), "alert"
            else:
                # No view: the store took the sighting for a text already seen, and only an earlier sighting of
                # this batch made it another item's new text (keys that moved mid-batch).  Candidates from the
                # batch itself still count; nothing else was read.
                view = known.views.get(claim.watch) or StoryView((None,) * len(claim.features.bands), ())
                placement = stories.place(
                    claim.watch, new_story_id(claim.watch, item_id), claim.features, s.at, view, now,
                    title=str(claim.record.get("title", "")), url=str(claim.record.get("url", "")),
                )  # fmt: skip
                story, event = placement.story_id, "alert" if placement.is_new else "update"
            record = {**claim.record, "event": event, "story": story, **story_fields(placement)}
            plan.claims.append(
                ClaimWrite(index, claim.watch, item_id, story, event, record, claim.targets, s.ttl, placement)
            )
    return plan
