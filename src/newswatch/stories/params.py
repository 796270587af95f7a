"""The sizes and bounds of story grouping, in one frozen value every stage of the stories package shares."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StoryParams"]


@dataclass(frozen=True, slots=True)
class StoryParams:
    """Sizes of sketches, profiles, records and store lookups, the evidence floor, and the story window.

    The fitted weights were learned with these sizes, so they travel with them in ``weights.json``
    (:class:`~newswatch.stories.model.StoryModel`); a watch may only change ``window_s`` (``story_window``).
    """

    bands: int = 16  # MinHash LSH bands ...
    rows: int = 4  # ... of this many rows: a pair with shingle Jaccard 0.5 shares a band with p 0.64
    body_terms: int = 32  # heaviest TF-IDF terms kept of an item's text
    title_terms: int = 12
    names: int = 16  # names (capitalised mid-sentence words, acronyms, matched entities) kept per item
    numbers: int = 8
    years: int = 4
    query_terms: int = 12  # item terms the store looks candidates up by
    postings_per_term: int = 64  # most recent stories read per looked-up term
    max_candidates: int = 16  # stories ranked by shared query terms whose records are read (+ band hits)
    members: int = 4  # members a story keeps to be compared with: its first report and the latest ones
    member_terms: int = 24  # body terms kept of each of those members
    index_terms: int = 12  # story terms the store posts the story under
    # Document frequencies learned from the stream are blended with the language's prior (wordfreq) as if the
    # prior had been learned from this many reports: a fresh store weighs terms like a seasoned one, and the
    # stream takes over once it has seen more than that.
    prior_docs: int = 1000
    # A term is *informative* when at most this share of reports contain it (blended estimate): only shared
    # informative terms count as the content overlap a join needs.
    informative: float = 0.02
    # The content floor: a report may join a story only if it shares informative terms worth at least this much
    # with one of its members (a word counts 1, a name half, numbers and years nothing; one must be a word) ...
    min_shared: float = 1.5
    # ... and its text or its title has at least this cosine with that member's.
    min_cosine: float = 0.1
    # Characters of an item's body (and of its title) that are profiled: a report's event is told at its top,
    # and the bound keeps a pathological item (megabytes of text) from holding a worker.
    max_chars: int = 20_000
    max_title_chars: int = 1_000
    # A story takes items published up to this long after its latest item (and before its first).
    window_s: float = 48 * 3600.0

    def __post_init__(self) -> None:
        if self.bands < 1 or self.rows < 1:
            raise ValueError(f"bands and rows must be positive, got {self.bands} and {self.rows}")
        if self.window_s <= 0:
            raise ValueError(f"window_s must be positive, got {self.window_s}")
        if self.members < 1:
            raise ValueError(f"members must be at least 1, got {self.members}")
        if not 0.0 < self.informative < 1.0:
            raise ValueError(f"informative must be in (0, 1), got {self.informative}")
