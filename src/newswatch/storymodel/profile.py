"""Item profiles: what the story model keeps of one item, computed once per item from its text.

This module owns :class:`ItemProfile` and :func:`item_profile`.  A profile is pure data (picklable, no
process-local ids) made in a worker process from the item and a snapshot of document frequencies; every weight
in it comes from those frequencies, so a name that most items mention (a head of state) weighs little without
any hand-set boost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Protocol

import numpy as np

from newswatch.models import Item
from newswatch.storymodel.text import NAME, NUMBER, YEAR, band_keys, normalise, term_codes

__all__ = ["DocFreqLike", "ItemProfile", "ModelParams", "item_profile"]


@dataclass(frozen=True, slots=True)
class ModelParams:
    """Sizes of profiles and records; the fitted weights were learned with these, so they travel with them."""

    bands: int = 16  # MinHash LSH bands ...
    rows: int = 4  # ... of this many rows: a pair with shingle Jaccard 0.5 shares a band with p 0.64
    body_terms: int = 48  # heaviest TF-IDF terms kept of an item's text
    title_terms: int = 16
    names: int = 24  # names (capitalised mid-sentence words, acronyms) kept per item
    numbers: int = 12
    years: int = 6
    query_terms: int = 16  # item terms the store looks candidates up by
    centroid_terms: int = 64  # terms kept in a story's body centroid
    title_centroid_terms: int = 16
    story_names: int = 32
    story_numbers: int = 16
    story_years: int = 8
    index_terms: int = 16  # story terms the store posts the story under
    # Below this body cosine a story without a shared band is not a candidate at all (chosen by the CV: reports
    # of one event share more than 0.1 of their TF-IDF in 99.8 % of ECB+ pairs and 97 % of UCI headline pairs).
    min_body: float = 0.02
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


class DocFreqLike(Protocol):
    """A document-frequency snapshot: distinct items per term, and the number of items counted."""

    @property
    def counts(self) -> Mapping[str, int]: ...

    @property
    def n_docs(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ItemProfile:
    """One item as the story model sees it.

    ``body_*``: L2-normalised sublinear TF-IDF of the whole text, heaviest first.  ``title_*``: the same for
    the title alone.  ``names``/``numbers``: (key, weight) with weight ``log((N+1)/(df+1))``, the information a
    shared mention carries; matched watchlist entities are names too, keyed ``entity:<id>``, so every alias of
    one entity counts as the same name.  ``years``: four-digit years mentioned.  ``terms``: every distinct
    term, for the caller to count document frequencies.  ``published``: epoch seconds or None.
    """

    bands: tuple[str, ...]
    body_terms: tuple[str, ...]
    body_weights: tuple[float, ...]
    title_terms: tuple[str, ...]
    title_weights: tuple[float, ...]
    names: tuple[tuple[str, float], ...]
    numbers: tuple[tuple[str, float], ...]
    years: tuple[str, ...]
    terms: tuple[str, ...]
    published: float | None

    def query_terms(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` heaviest (term, weight) pairs: what the store looks candidate stories up by."""
        return list(zip(self.body_terms[:k], self.body_weights[:k], strict=True))


def _info(df: DocFreqLike | None, keys: Sequence[str]) -> Any:
    """``log((N+1)/(df+1))`` per key; 1.0 for every key without a snapshot (a cold start weighs alike)."""
    if df is None or df.n_docs <= 0:
        return np.ones(len(keys))
    seen = np.fromiter(map(df.counts.get, keys, repeat(0)), dtype=np.float64, count=len(keys))
    return np.log((df.n_docs + 1) / (seen + 1.0))


def _top(terms: Sequence[str], weights: Any, k: int) -> list[int]:
    """Indices of the ``k`` heaviest terms, heaviest first, equal weights in alphabetical order.

    numpy cuts at the k-th weight; only the survivors are sorted in Python.  At a cold start many terms weigh
    the same, and the cut through them must depend on nothing but the terms themselves.
    """
    n = len(terms)
    if n > k:
        cut = np.partition(weights, n - k)[n - k]
        above = np.flatnonzero(weights > cut).tolist()
        tied = sorted(np.flatnonzero(weights == cut).tolist(), key=terms.__getitem__)
        chosen = above + tied[: k - len(above)]
    else:
        chosen = list(range(n))
    w = weights.tolist()
    return sorted(chosen, key=lambda i: (-w[i], terms[i]))


def _normalised(terms: Sequence[str], weights: Any, k: int) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The ``k`` heaviest terms, heaviest first, weights L2-normalised and rounded."""
    if not len(terms):
        return (), ()
    order = _top(terms, weights, k)
    w = weights[order]
    w = np.round(w / (math.sqrt(float(w @ w)) or 1.0), 5)
    return tuple(terms[i] for i in order), tuple(w.tolist())


def _keyed(terms: Sequence[str], rank: Any, info: Any, k: int) -> tuple[tuple[str, float], ...]:
    """The ``k`` highest-ranked terms with their information weights."""
    order = _top(terms, rank, k)
    return tuple(zip([terms[i] for i in order], np.round(info[order], 4).tolist(), strict=True))


def item_profile(
    item: Item,
    df: DocFreqLike | None,
    params: ModelParams,
    entities: Iterable[str] = (),
) -> ItemProfile:
    """Profile an item; pure (same inputs, same profile), so it can run in a process pool.

    ``entities``: ids of watchlist entities that matched the item (through any alias), when the caller knows
    them; they join the names as ``"entity:<id>"``, weighed by that key's document frequency if the snapshot
    counts it (the caller counts them by adding them to ``terms``).
    """
    # Title and body are normalised apart (the title alone makes the title vector, the body alone the
    # fingerprint) and joined: the same bytes as normalising the whole text, since a line break starts a
    # sentence either way.
    title_n = normalise(item.title[: params.max_title_chars]) if item.title else b""
    body = "\n".join(part for part in (item.summary, item.content) if part)[: params.max_chars]
    body_n = normalise(body) if body else b""
    normalised = title_n + b" " + body_n if title_n and body_n else title_n or body_n
    codes, vocab = term_codes(normalised)
    terms: list[str] = []
    body_terms: tuple[str, ...] = ()
    body_weights: tuple[float, ...] = ()
    names: tuple[tuple[str, float], ...] = ()
    numbers: tuple[tuple[str, float], ...] = ()
    years: tuple[str, ...] = ()
    if len(codes):
        ids = codes >> 2
        starts = np.flatnonzero(np.concatenate([np.ones(1, dtype=bool), ids[1:] != ids[:-1]]))
        ends = np.concatenate([starts[1:], np.full(1, len(ids), dtype=starts.dtype)])
        terms = list(map(vocab.__getitem__, ids[starts].tolist()))
        kinds = codes[ends - 1] & 3
        tf = 1.0 + np.log(ends - starts)
        info = _info(df, terms)
        body_terms, body_weights = _normalised(terms, tf * (info + 1.0), params.body_terms)
        for kind, k in ((NAME, params.names), (NUMBER, params.numbers)):
            idx = np.flatnonzero(kinds == kind)
            if len(idx):
                chosen = _keyed([terms[i] for i in idx.tolist()], (tf * info)[idx], info[idx], k)
                if kind == NAME:
                    names = chosen
                else:
                    numbers = chosen
        idx = np.flatnonzero(kinds == YEAR)
        if len(idx):
            order = sorted(idx.tolist(), key=lambda i: (-tf[i], terms[i]))[: params.years]
            years = tuple(terms[i] for i in order)
    title_terms: tuple[str, ...] = ()
    title_weights: tuple[float, ...] = ()
    if title_n:
        tcodes, vocab = term_codes(title_n)
        tterms = sorted({vocab[c >> 2] for c in tcodes.tolist()})
        title_terms, title_weights = _normalised(tterms, _info(df, tterms) + 1.0, params.title_terms)
    ents = sorted({f"entity:{e}" for e in entities})
    if ents:
        names = (*tuple(zip(ents, np.round(_info(df, ents), 4).tolist(), strict=True)), *names)
    published = item.published.timestamp() if item.published is not None else None
    return ItemProfile(
        # The fingerprint is of the body, not the headline (a syndicated copy is often retitled); of the
        # headline only when there is no body.
        bands=band_keys(body_n or title_n, params.bands, params.rows),
        body_terms=body_terms,
        body_weights=body_weights,
        title_terms=title_terms,
        title_weights=title_weights,
        names=names,
        numbers=numbers,
        years=years,
        terms=tuple(sorted([*terms, *ents])),
        published=published,
    )
