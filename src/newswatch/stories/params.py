"""The sizes and bounds of story grouping, in one frozen value every stage of the stories package shares."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StoryParams"]


@dataclass(frozen=True, slots=True)
class StoryParams:
    """Sizes of sketches, profiles, records and store lookups, the comparability floor, and the story window.

    The fitted weights were learned with these sizes, so they travel with them in ``weights.json``
    (:class:`~newswatch.stories.model.StoryModel`); a watch may only change ``window_s`` (``story_window``).
    """

    bands: int = 16  # MinHash LSH bands ...
    rows: int = 4  # ... of this many rows: a pair with shingle Jaccard 0.5 shares a band with p 0.64
    body_terms: int = 48  # heaviest TF-IDF terms kept of an item's text
    title_terms: int = 16
    names: int = 24  # names (capitalised mid-sentence words, acronyms) kept per item
    numbers: int = 12
    years: int = 6
    query_terms: int = 16  # item terms the store looks candidates up by
    postings_per_term: int = 64  # most recent stories read per looked-up term
    max_candidates: int = 32  # stories ranked by shared query terms whose records are read (+ band hits)
    centroid_terms: int = 64  # terms kept in a story's body centroid
    title_centroid_terms: int = 16
    story_names: int = 32
    story_numbers: int = 16
    story_years: int = 8
    index_terms: int = 16  # story terms the store posts the story under
    # Below this body cosine a story without a shared band is not scored at all (the CV chooses 0.02 or 0.1 with
    # the weights; the shipped ones carry 0.02).
    min_body: float = 0.02
    # Characters of an item's body (and of its title) that are profiled: a report's event is told at its top,
    # and the bound keeps a pathological item (megabytes of text) from holding a worker.
    max_chars: int = 20_000
    max_title_chars: int = 1_000
    # Until document frequencies were learned from this many items, terms are weighed alike ("cold" profiles,
    # decided with the model's cold threshold): a handful of items cannot tell which words are common.
    min_docs: int = 200
    # A story takes items published up to this long after its latest item (and before its first).
    window_s: float = 48 * 3600.0

    def __post_init__(self) -> None:
        if self.bands < 1 or self.rows < 1:
            raise ValueError(f"bands and rows must be positive, got {self.bands} and {self.rows}")
        if self.window_s <= 0:
            raise ValueError(f"window_s must be positive, got {self.window_s}")
