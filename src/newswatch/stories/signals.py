"""Pair signals: the evidence that one item belongs to one candidate story, as a short vector of floats.

This module owns the definition of every signal the learned model weighs (:data:`SIGNALS`, in order).  It runs
for every candidate of every item, tens of times per item, so each signal is a C-level ``map``/``sum`` over
the item's few terms against the record's dicts; item-side totals are computed once per item.

Every weight comes from document frequencies (a name's weight is the information of its mention), never from a
fixed boost; the model learns how much each kind of overlap is worth.
"""

from __future__ import annotations

import math
from itertools import compress, repeat
from operator import mul

from newswatch.stories.params import StoryParams
from newswatch.stories.profile import ItemProfile
from newswatch.stories.record import StoryRecord

__all__ = ["SIGNALS", "ItemSignals"]

SIGNALS: tuple[str, ...] = (
    "dup",  # share of the item's LSH bands that point at the story: a syndicated or retitled copy
    "body",  # cosine of the item's TF-IDF vector and the story's centroid
    "title",  # cosine of the item's title and the story's title centroid
    "title_body",  # the item's title against the story's body centroid
    "name_item",  # share of the item's name (and matched-entity) information that the story mentions too
    "name_story",  # share of the story's name information that the item mentions too
    "lead_name",  # the item's most telling name (heaviest by mentions x information) is in the story
    "story_lead",  # the story's heaviest name is in the item
    "name_known",  # both mention names (so low name shares are a clash, not an absence)
    "number",  # share of the item's number information (counts, scores, days) the story mentions
    "number_known",  # both mention numbers (so a low "number" share is a clash, not an absence)
    "year_match",  # both mention years and share one
    "year_clash",  # both mention years and share none: look-alike events of different years
    "time_known",  # both have publication dates
    "gap_log_h",  # log(1 + hours between the item's date and the story's dated span); 0 when unknown
    "size_log",  # log of the story's size: a big story's centroid is smoother, its overlaps larger
)


def _dot(terms: tuple[str, ...], weights: tuple[float, ...], other: dict[str, float]) -> float:
    total: float = sum(map(mul, weights, map(other.get, terms, repeat(0.0))))
    return total


class ItemSignals:
    """Signals of one item against any number of candidate stories (item-side sums computed once)."""

    __slots__ = (
        "bands",
        "item",
        "min_body",
        "name_keys",
        "name_set",
        "name_total",
        "name_weights",
        "number_keys",
        "number_total",
        "number_weights",
        "years",
    )

    def __init__(self, item: ItemProfile, params: StoryParams) -> None:
        self.item = item
        self.bands = float(params.bands)
        self.min_body = params.min_body
        self.name_keys = tuple(n for n, _ in item.names)
        self.name_weights = tuple(w for _, w in item.names)
        self.name_total = math.fsum(self.name_weights)
        self.name_set = frozenset(self.name_keys)
        self.number_keys = tuple(n for n, _ in item.numbers)
        self.number_weights = tuple(w for _, w in item.numbers)
        self.number_total = math.fsum(self.number_weights)
        self.years = frozenset(item.years)

    def __call__(self, story: StoryRecord, band_hits: int) -> list[float] | None:
        """The values of :data:`SIGNALS`, in order, for this item against ``story``; None when the story is not
        comparable (no shared band and a body cosine under ``min_body``: never joined, not scored)."""
        it = self.item
        body = _dot(it.body_terms, it.body_weights, story.body) / story.body_norm if story.body_norm else 0.0
        if body < self.min_body and not band_hits:
            return None
        title = (
            _dot(it.title_terms, it.title_weights, story.title) / story.title_norm
            if story.title_norm
            else 0.0
        )
        title_body = (
            _dot(it.title_terms, it.title_weights, story.body) / story.body_norm if story.body_norm else 0.0
        )
        name_item = name_story = lead = story_lead = name_known = 0.0
        names = story.names
        if self.name_total > 0.0 and names:
            name_known = 1.0
            name_item = (
                sum(compress(self.name_weights, map(names.__contains__, self.name_keys))) / self.name_total
            )
            if story.names_sum > 0.0:
                name_story = sum(filter(None, map(names.get, self.name_keys))) / story.names_sum
            lead = float(self.name_keys[0] in names)
            story_lead = float(next(iter(names)) in self.name_set)  # records keep names heaviest first
        number = number_known = 0.0
        if self.number_total > 0.0 and story.numbers:
            number_known = 1.0
            numbers = story.numbers
            number = (
                sum(compress(self.number_weights, map(numbers.__contains__, self.number_keys)))
                / self.number_total
            )
        year_match = year_clash = 0.0
        if self.years and story.years:
            if self.years.isdisjoint(story.years):
                year_clash = 1.0
            else:
                year_match = 1.0
        time_known = gap = 0.0
        pub = it.published
        if pub is not None and story.pub_first is not None and story.pub_latest is not None:
            time_known = 1.0
            gap = math.log1p(max(0.0, story.pub_first - pub, pub - story.pub_latest) / 3600.0)
        return [
            band_hits / self.bands,
            body,
            title,
            title_body,
            name_item,
            name_story,
            lead,
            story_lead,
            name_known,
            number,
            number_known,
            year_match,
            year_clash,
            time_known,
            gap,
            math.log(story.size) if story.size > 0 else 0.0,
        ]
