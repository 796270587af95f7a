"""Story records: what a store keeps of one story, and how a story absorbs an item.

This module owns :class:`StoryRecord`, its JSON form and the pure update rules.  A record is about 2 KB of
plain data (bounded summaries of its members: sums of their vectors, their names (matched entities included),
numbers and years with weights, and their time span), read tens of times per item, so it decodes with one
``json.loads`` and no per-field conversion.
"""

from __future__ import annotations

import functools
import heapq
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter

from newswatch import constants as C
from newswatch.stories.params import StoryParams
from newswatch.stories.profile import ItemProfile

__all__ = ["StoryRecord", "decoded"]


def _add(base: Mapping[str, float], pairs: Iterable[tuple[str, float]], k: int) -> dict[str, float]:
    """``base`` plus ``pairs``, the ``k`` heaviest keys kept (ties: the earlier key), rounded to 4 digits.

    Rounded when the record is made, not when it is written: a record is decided on what was stored, so a
    store round trip (or where a batch boundary falls) never changes a later decision.
    """
    out = dict(base)
    for key, w in pairs:
        out[key] = out.get(key, 0.0) + w
    if len(out) > k:
        out = dict(heapq.nlargest(k, out.items(), key=itemgetter(1)))
    return {key: round(w, 4) for key, w in out.items()}


def _span(lo: float | None, hi: float | None, at: float | None) -> tuple[float | None, float | None]:
    if at is None:
        return lo, hi
    return (at if lo is None else min(lo, at)), (at if hi is None else max(hi, at))


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """One story of one watch.

    ``first``/``latest``: the span of its members' times (publication time, else the time they were placed);
    ``pub_first``/``pub_latest``: the span of the publication times alone (None when no member had a date).
    ``body``/``title``: sums of the members' normalised vectors, heaviest terms kept, with their norms.
    ``names``/``numbers``: key -> sum over members mentioning it of its information weight
    (``*_sum``: the total, kept so that coverage needs no pass over the record).  ``years``: member counts.
    """

    story_id: str
    first: float
    latest: float
    pub_first: float | None
    pub_latest: float | None
    size: int
    body: dict[str, float]
    body_norm: float
    title: dict[str, float]
    title_norm: float
    names: dict[str, float]
    names_sum: float
    numbers: dict[str, float]
    numbers_sum: float
    years: dict[str, float]

    def in_window(self, at: float, window_s: float) -> bool:
        return self.first - window_s <= at <= self.latest + window_s

    def index_terms(self, k: int) -> list[str]:
        """The story's ``k`` heaviest body terms: what the store posts it under (ties alphabetical)."""
        return [t for t, _ in sorted(self.body.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]

    @classmethod
    def new(cls, story_id: str, item: ItemProfile, at: float, params: StoryParams) -> StoryRecord:
        """A story opened by ``item`` at time ``at``."""
        empty = cls(story_id, at, at, None, None, 0, {}, 0.0, {}, 0.0, {}, 0.0, {}, 0.0, {})
        return empty.absorb(item, at, params)

    def absorb(self, item: ItemProfile, at: float, params: StoryParams) -> StoryRecord:
        """This story after ``item`` joined it at time ``at``; pure."""
        p = params
        body = _add(self.body, zip(item.body_terms, item.body_weights, strict=True), p.centroid_terms)
        title = _add(
            self.title, zip(item.title_terms, item.title_weights, strict=True), p.title_centroid_terms
        )
        # Heaviest first (ties by name): a story's leading name is read off the front.
        names = dict(
            sorted(_add(self.names, item.names, p.story_names).items(), key=lambda kv: (-kv[1], kv[0]))
        )
        numbers = _add(self.numbers, item.numbers, p.story_numbers)
        years = _add(self.years, ((y, 1.0) for y in item.years), p.story_years)
        pub_first, pub_latest = _span(self.pub_first, self.pub_latest, item.published)
        first, latest = (at, at) if self.size == 0 else (min(self.first, at), max(self.latest, at))
        return StoryRecord(
            story_id=self.story_id,
            first=first,
            latest=latest,
            pub_first=pub_first,
            pub_latest=pub_latest,
            size=self.size + 1,
            body=body,
            body_norm=round(math.hypot(*body.values()), 6),
            title=title,
            title_norm=round(math.hypot(*title.values()), 6),
            names=names,
            names_sum=round(math.fsum(names.values()), 4),
            numbers=numbers,
            numbers_sum=round(math.fsum(numbers.values()), 4),
            years=years,
        )

    def to_json(self) -> str:
        # Norms and sums travel with the record: decoding must not cost a pass over every summary.  Every
        # value was rounded when the record was made, so ``from_json(to_json(r)) == r``.
        return json.dumps(
            [self.story_id, self.first, self.latest, self.pub_first, self.pub_latest, self.size,
             self.body, self.body_norm, self.title, self.title_norm, self.names, self.names_sum,
             self.numbers, self.numbers_sum, self.years],
            separators=(",", ":"), ensure_ascii=False,
        )  # fmt: skip

    @classmethod
    def from_json(cls, raw: str | bytes) -> StoryRecord:
        fields = json.loads(raw)
        if not isinstance(fields, list) or len(fields) != 15:
            raise ValueError("not a story-model record")
        return cls(*fields)


@functools.lru_cache(maxsize=C.STORY_RECORD_CACHE)
def decoded(raw: str) -> StoryRecord:
    """:meth:`StoryRecord.from_json`, remembered for the most recently read records.

    Decoding is the largest part of placing an item (tens of 2 KB records per item), and a busy watch's stories
    are read again by item after item until one of them joins: an unchanged record is then decoded once.
    Records are never changed in place (:meth:`StoryRecord.absorb` builds a new one), so sharing them is safe.
    """
    return StoryRecord.from_json(raw)
