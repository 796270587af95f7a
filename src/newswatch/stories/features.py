"""Story features of one item: what the story decision needs to know about it.

Two steps, split by where they run:

* :func:`newswatch.stories.sketch.sketch` (worker processes, CPU-heavy): the item's distinct terms with their
  counts and kinds, and its near-duplicate fingerprint, as an :class:`ItemSketch`.  It does not depend on
  anything the process learned, so any worker computes the same sketch for the same item.
* :func:`weigh` (the recording process, cheap): the sketch's salient-term vector under the document
  frequencies learned so far (TF-IDF, names and numbers boosted, top ``top_k`` terms, L2-normalised).  Weighing
  where the document frequencies live keeps the decision deterministic for a given order of items.

This module imports numpy only, so the recording process never loads the MinHash library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from newswatch.stories.docfreq import DocFreq
from newswatch.stories.params import DEFAULT_PARAMS, StoryParams

__all__ = ["ItemSketch", "StoryFeatures", "weigh"]


@dataclass(frozen=True, slots=True)
class ItemSketch:
    """The learning-free part of an item's story features; small and picklable (it crosses processes).

    ``terms`` are the distinct terms in alphabetical order, ``counts`` how often each occurs and ``kinds`` one
    byte per term (0 plain, 1 name, 2 number).
    """

    terms: tuple[str, ...]
    counts: tuple[int, ...]
    kinds: bytes
    bands: tuple[str, ...]
    published: float | None = None


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    """What story assignment needs of one item.

    ``vector`` is the L2-normalised salient-term vector, heaviest term first; ``terms`` are all distinct
    terms of the item, for learning document frequencies; ``published`` is epoch seconds or None.
    """

    bands: tuple[str, ...]
    vector: tuple[tuple[str, float], ...]
    terms: tuple[str, ...]
    published: float | None = None


def weigh(sk: ItemSketch, df: DocFreq | None, params: StoryParams = DEFAULT_PARAMS) -> StoryFeatures:
    """The sketch's salient-term vector under ``df`` (None weighs every term as if equally rare)."""
    vector: tuple[tuple[str, float], ...] = ()
    terms = sk.terms
    if terms:
        w = 1.0 + np.log(np.asarray(sk.counts, dtype=np.float64))
        if df is not None:
            seen = np.fromiter(map(df.counts.get, terms, repeat(0)), dtype=np.float64, count=len(terms))
            w *= np.log((df.n_docs + 1) / (seen + 1.0)) + 1.0
        if params.name_boost != 1.0 or params.number_boost != 1.0:
            kinds = np.frombuffer(sk.kinds, dtype=np.uint8)
            w *= np.array([1.0, params.name_boost, params.number_boost])[kinds]
        top = _top(w, terms, params.top_k)
        wt = w[top]
        # np.round divides by 1e5 after rounding, so each value prints as short as Python's round() would.
        wt = np.round(wt / (math.sqrt(float(wt @ wt)) or 1.0), 5)
        vector = tuple(zip(map(terms.__getitem__, top), wt.tolist(), strict=True))
    return StoryFeatures(bands=sk.bands, vector=vector, terms=terms, published=sk.published)


def _top(weights: Any, terms: Sequence[str], k: int) -> list[int]:
    """Indices of the ``k`` heaviest terms, heaviest first, equal weights in alphabetical order.

    Only the candidates are sorted in Python: at a cold start many terms weigh the same, and the cut through
    them must not depend on anything but the terms themselves.
    """
    if len(terms) > k:
        cut = np.partition(weights, len(terms) - k)[len(terms) - k]  # the k-th largest weight
        above = np.flatnonzero(weights > cut).tolist()
        tied = sorted(np.flatnonzero(weights == cut).tolist(), key=terms.__getitem__)
        chosen = above + tied[: k - len(above)]
    else:
        chosen = list(range(len(terms)))
    w = weights.tolist()
    return sorted(chosen, key=lambda i: (-w[i], terms[i]))
