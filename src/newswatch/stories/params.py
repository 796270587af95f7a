"""The knobs of story grouping, in one frozen value every stage of the stories package shares."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoryParams:
    """Knobs of story assignment; defaults chosen on half of the ECB+ dev topics (see benchmarks/README.md).

    ``threshold`` trades the two errors: higher keeps look-alike events apart (precision, fewer hidden
    alerts) but splits rewrites of one event into several stories (recall, more duplicate alerts).
    """

    threshold: float = 0.375  # cosine item vs story centroid to join as "same event"
    window_s: float = 48 * 3600.0  # a story takes items up to this long after its latest item
    # MinHash LSH: num_perm = bands * rows.  16 bands of 4 rows make a pair with shingle Jaccard 0.5 share
    # a band with probability 0.64 and one with 0.8 with probability ~1.0; 0.2 only 0.025.
    num_perm: int = 64
    bands: int = 16
    shingle: int = 3  # words per shingle
    dup_min_bands: int = 2  # band hits required to call a near-duplicate (one hit alone happens by chance)
    top_k: int = 48  # salient terms kept per item
    centroid_terms: int = 64  # terms kept per story centroid
    index_terms: int = 16  # centroid terms posted in the term index
    query_terms: int = 16  # item terms looked up in the term index
    postings_per_term: int = 64  # most recent stories read per looked-up term
    max_candidates: int = 32  # story records fetched and scored per item
    name_boost: float = 4.0  # weight multiplier for capitalised mid-sentence words and acronyms
    number_boost: float = 1.0  # weight multiplier for numbers of 2+ digits (years, counts)

    def __post_init__(self) -> None:
        if self.num_perm % self.bands:
            raise ValueError(f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.window_s <= 0:
            raise ValueError(f"window_s must be positive, got {self.window_s}")


DEFAULT_PARAMS = StoryParams()
