"""A story as the store keeps it: a small JSON record per story and watch.

Owns the record's content (first and latest publication time, size, centroid of its members' salient-term
vectors), how it absorbs an item, and which terms it is indexed under.  Stores read and write records as
opaque JSON; only this module knows what is inside.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from operator import itemgetter

from newswatch.stories.features import StoryFeatures
from newswatch.stories.params import StoryParams

__all__ = ["StoryRecord", "new_story"]


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """One story of one watch."""

    story_id: str
    first: float  # publication time of its earliest item
    latest: float  # publication time of its latest item
    size: int
    centroid: Mapping[str, float]  # sum of member vectors, top ``centroid_terms`` terms
    norm: float
    posted: tuple[
        str, ...
    ] = ()  # the ``index_terms`` heaviest centroid terms: what the story is indexed under

    def in_window(self, at: float, window_s: float) -> bool:
        return self.first - window_s <= at <= self.latest + window_s

    def joined(self, features: StoryFeatures, at: float, params: StoryParams) -> StoryRecord:
        """This story after ``features`` joined it."""
        summed = dict(self.centroid)
        for term, w in features.vector:
            summed[term] = summed.get(term, 0.0) + w
        return _record(
            self.story_id, min(self.first, at), max(self.latest, at), self.size + 1, summed, params
        )

    def to_json(self) -> str:
        # The norm travels with the centroid: a store reads tens of records per item, and recomputing each
        # norm cost more than parsing the JSON.  Weights were rounded when the record was made.
        return json.dumps(
            {"id": self.story_id, "first": self.first, "latest": self.latest, "size": self.size,
             "centroid": self.centroid, "norm": self.norm, "posted": self.posted},
            separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def from_json(cls, raw: str | bytes) -> StoryRecord:
        d = json.loads(raw)
        centroid: dict[str, float] = d["centroid"]  # written by to_json: string keys, float values
        return cls(d["id"], d["first"], d["latest"], d["size"], centroid, d["norm"], tuple(d["posted"]))


def _heaviest_first(kv: tuple[str, float]) -> tuple[float, str]:
    return -kv[1], kv[0]


def new_story(story_id: str, features: StoryFeatures, at: float, params: StoryParams) -> StoryRecord:
    """The record of a story that ``features`` opens at ``at``."""
    return _record(story_id, at, at, 1, dict(features.vector), params)


def _record(
    story_id: str, first: float, latest: float, size: int, summed: Mapping[str, float], params: StoryParams
) -> StoryRecord:
    if len(summed) > params.centroid_terms:
        summed = dict(heapq.nlargest(params.centroid_terms, summed.items(), key=itemgetter(1)))
    # Rounding to 5 digits happens in to_json, for compact storage; a record is decided on what was stored,
    # so a store round trip never changes a later decision.
    centroid = {t: round(w, 5) for t, w in summed.items()}
    # Indexed under its heaviest terms, ties alphabetical, so every store posts a story under the same terms.
    posted = tuple(t for t, _ in heapq.nsmallest(params.index_terms, centroid.items(), key=_heaviest_first))
    return StoryRecord(
        story_id, first, latest, size, centroid, round(math.hypot(*centroid.values()), 6), posted
    )
