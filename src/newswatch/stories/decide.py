"""The story decision: which candidate story, if any, an item joins.  Pure: same inputs, same answer.

Rules (precision first: merging two events hides a new event, a split only costs one extra alert):

1. *Near-duplicate*: the item shares at least ``dup_min_bands`` MinHash LSH band keys (word 3-shingles) with a
   story in the window -> join it (the one with most shared bands, then the most recent).
2. *Same event*: cosine between the item's salient-term vector and a story's centroid is at least
   ``threshold`` -> join the best such story (ties: the later candidate in the order the store ranked them).
3. Otherwise a new story.

A story is in the window of an item published at ``t`` when ``first - window_s <= t <= latest + window_s``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import mul

from newswatch.stories.features import StoryFeatures
from newswatch.stories.params import DEFAULT_PARAMS, StoryParams
from newswatch.stories.record import StoryRecord

__all__ = ["Candidates", "decide"]


@dataclass(frozen=True, slots=True)
class Candidates:
    """The stories an item may join: band hits per story and the candidate stories' records, best first."""

    at: float  # the item's time: its publication time, else the time it was recorded
    band_hits: Mapping[str, int]  # story id -> number of the item's LSH band keys pointing at it
    stories: Sequence[StoryRecord]


def decide(
    features: StoryFeatures, candidates: Candidates, params: StoryParams = DEFAULT_PARAMS
) -> str | None:
    """The story the item joins, or None for a new story."""
    at = candidates.at
    in_window = [s for s in candidates.stories if s.in_window(at, params.window_s)]
    if not in_window:
        return None
    best_dup: StoryRecord | None = None
    best_hits = 0
    for story in in_window:
        hits = candidates.band_hits.get(story.story_id, 0)
        if hits >= params.dup_min_bands and (
            hits > best_hits
            or (hits == best_hits and best_dup is not None and story.latest > best_dup.latest)
        ):
            best_dup, best_hits = story, hits
    if best_dup is not None:
        return best_dup.story_id
    best: StoryRecord | None = None
    best_sim = params.threshold
    terms = [t for t, _ in features.vector]
    weights = [w for _, w in features.vector]
    for story in in_window:
        if story.norm <= 0.0:
            continue
        # C-level map/sum: this runs for every candidate story of every item.
        sim = math.fsum(map(mul, weights, map(story.centroid.get, terms, repeat(0.0)))) / story.norm
        if sim >= best_sim:
            best, best_sim = story, sim
    return best.story_id if best is not None else None
