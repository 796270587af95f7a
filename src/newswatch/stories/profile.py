"""Item profiles: what the story decision knows of one item, in two steps split by where they run.

* :class:`ItemSketch` (made by :func:`newswatch.stories.sketch.sketch` in a worker process): the item's
  language, its distinct terms with counts, kinds and prior document probabilities, its title's terms, its
  near-duplicate fingerprint.  It depends on nothing the process learned, so any worker computes the same
  sketch for the same item.
* :func:`weigh` (the recording process, cheap): the :class:`ItemProfile` under the document frequencies learned
  so far, **blended with the language's prior**: a term's share of reports is estimated as
  ``(df + prior_docs * prior + 1) / (N + prior_docs + 1)``, as if the prior had been learned from
  ``prior_docs`` reports.  So the first item of a fresh store is weighed like the thousandth (a function word or
  "government" is common from the start), and what the stream teaches (a name in every report this week) takes
  over as it grows.  Weighing where the frequencies live keeps the decision deterministic for a given order of
  items.

This module imports numpy only, so the recording process never loads the MinHash library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import repeat
from typing import Any, Protocol

import numpy as np

from newswatch.stories.params import StoryParams
from newswatch.stories.tokens import NAME, NUMBER, PLAIN, YEAR, selection_terms

__all__ = ["DocFreqLike", "ItemProfile", "ItemSketch", "weigh", "weigh_in_watch"]

NAME_CREDIT = 0.5  # what a shared informative name counts towards the content floor (a plain word counts 1)


@dataclass(frozen=True, slots=True)
class ItemSketch:
    """The learning-free part of an item's profile; small and picklable (it crosses processes).

    ``terms``: the distinct terms of title and body without the function words of the item's language,
    alphabetical, with how often each occurs (``counts``), its kind (``kinds``, one byte per term: plain, name,
    number or year) and its prior document probability in the item's language (``prior``; 0.0 for words the
    language's lexicon does not know, names and numbers mostly).  ``title``: the distinct terms of the title
    alone, alphabetical.  ``entities``: ``entity:<id>`` keys of the watchlist entities that matched, sorted.
    ``lang``: the language identified ("" when unsure).
    """

    terms: tuple[str, ...]
    counts: tuple[int, ...]
    kinds: bytes
    title: tuple[str, ...]
    bands: tuple[str, ...]
    entities: tuple[str, ...] = ()
    published: float | None = None
    prior: tuple[float, ...] = ()
    lang: str = ""

    def without(self, drop: frozenset[str]) -> ItemSketch:
        """This sketch without the terms in ``drop`` (the near-duplicate fingerprint stays as it is).

        Used with the terms a watch matched: every item of that watch's stories shares them by construction,
        so they are no evidence of which story an item belongs to.
        """
        keep = [i for i, t in enumerate(self.terms) if t not in drop]
        if len(keep) == len(self.terms) and drop.isdisjoint(self.title):
            return self
        prior = self.prior or (0.0,) * len(self.terms)
        return replace(
            self,
            terms=tuple(self.terms[i] for i in keep),
            counts=tuple(self.counts[i] for i in keep),
            kinds=bytes(self.kinds[i] for i in keep),
            prior=tuple(prior[i] for i in keep),
            title=tuple(t for t in self.title if t not in drop),
        )


class DocFreqLike(Protocol):
    """A document-frequency snapshot: distinct items per term, and the number of items counted."""

    @property
    def counts(self) -> Mapping[str, int]: ...

    @property
    def n_docs(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ItemProfile:
    """One item as the story model sees it.

    ``body_*``: L2-normalised sublinear TF-IDF of the whole text, heaviest first.  ``title_*``: IDF of the
    title's terms, normalised.  ``evidence``: the item's *informative* terms (at most ``params.informative`` of
    reports contain them), each with what it counts towards the content floor (1 for a word, 0.5 for a name;
    numbers and years are never content), rarest first.  ``names``/``numbers``: (key, weight) with weight the
    term's IDF, the information a shared mention carries; matched watchlist entities are names too, keyed
    ``entity:<id>``, so every alias of one entity counts as the same name.  ``years``: four-digit years
    mentioned.  ``terms``: every distinct term, for the caller to count document frequencies.  ``published``:
    epoch seconds or None.
    """

    bands: tuple[str, ...]
    body_terms: tuple[str, ...]
    body_weights: tuple[float, ...]
    title_terms: tuple[str, ...]
    title_weights: tuple[float, ...]
    evidence: tuple[tuple[str, float], ...]
    names: tuple[tuple[str, float], ...]
    numbers: tuple[tuple[str, float], ...]
    years: tuple[str, ...]
    terms: tuple[str, ...]
    published: float | None
    lang: str = ""

    def query_terms(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` heaviest (term, weight) pairs but numbers and years: what the store looks candidate stories
        up by (a number is shared by too many events to find the right ones)."""
        pairs = zip(self.body_terms, self.body_weights, strict=True)
        return [(t, w) for t, w in pairs if not t[0].isdigit()][:k]


def _idf(df: DocFreqLike | None, keys: Sequence[str], prior: Any, params: StoryParams) -> Any:
    """``-log`` of the blended share of reports containing each key (see the module docstring)."""
    k = float(params.prior_docs)
    n = 0.0 if df is None else float(df.n_docs)
    if df is None:
        seen = np.zeros(len(keys))
    else:
        seen = np.fromiter(map(df.counts.get, keys, repeat(0)), dtype=np.float64, count=len(keys))
    return np.log((n + k + 1.0) / (seen + k * prior + 1.0))


def _top(terms: Sequence[str], weights: Any, k: int) -> list[int]:
    """Indices of the ``k`` heaviest terms, heaviest first, equal weights in alphabetical order.

    numpy cuts at the k-th weight; only the survivors are sorted in Python.  Many terms can weigh the same (all
    unknown to the lexicon and to the stream), and the cut through them must depend on nothing but the terms.
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
    w = np.round(w / (math.sqrt(float(w @ w)) or 1.0), 4)
    return tuple(terms[i] for i in order), tuple(w.tolist())


def _keyed(terms: Sequence[str], rank: Any, info: Any, k: int) -> tuple[tuple[str, float], ...]:
    """The ``k`` highest-ranked terms with their information weights."""
    order = _top(terms, rank, k)
    return tuple(zip([terms[i] for i in order], np.round(info[order], 3).tolist(), strict=True))


def weigh(sk: ItemSketch, df: DocFreqLike | None, params: StoryParams) -> ItemProfile:
    """The profile of a sketched item under ``df`` blended with the sketch's priors; pure."""
    terms = sk.terms
    body_terms: tuple[str, ...] = ()
    body_weights: tuple[float, ...] = ()
    evidence: tuple[tuple[str, float], ...] = ()
    names: tuple[tuple[str, float], ...] = ()
    numbers: tuple[tuple[str, float], ...] = ()
    years: tuple[str, ...] = ()
    idf_of: dict[str, float] = {}
    if terms:
        kinds = np.frombuffer(sk.kinds, dtype=np.uint8)
        prior = np.asarray(sk.prior, dtype=np.float64) if sk.prior else np.zeros(len(terms))
        tf = 1.0 + np.log(np.asarray(sk.counts, dtype=np.float64))
        idf = _idf(df, terms, prior, params)
        idf_of = dict(zip(terms, idf.tolist(), strict=True))
        body_terms, body_weights = _normalised(terms, tf * idf, params.body_terms)
        floor = -math.log(params.informative)
        credit = np.where(kinds == PLAIN, 1.0, np.where(kinds == NAME, NAME_CREDIT, 0.0))
        idx = np.flatnonzero((idf >= floor) & (credit > 0))
        if len(idx):
            order = _top([terms[i] for i in idx.tolist()], idf[idx], 2 * params.body_terms)
            evidence = tuple((terms[int(idx[j])], float(credit[idx[j]])) for j in order)
        for kind, k in ((NAME, params.names), (NUMBER, params.numbers)):
            idx = np.flatnonzero(kinds == kind)
            if len(idx):
                chosen = _keyed([terms[i] for i in idx.tolist()], (tf * idf)[idx], idf[idx], k)
                if kind == NAME:
                    names = chosen
                else:
                    numbers = chosen
        idx = np.flatnonzero(kinds == YEAR)
        if len(idx):
            w = tf.tolist()
            years = tuple(
                terms[i] for i in sorted(idx.tolist(), key=lambda i: (-w[i], terms[i]))[: params.years]
            )
    if sk.title:
        title_idf = np.fromiter(map(idf_of.get, sk.title, repeat(0.0)), dtype=np.float64, count=len(sk.title))
        title_terms, title_weights = _normalised(sk.title, title_idf, params.title_terms)
    else:
        title_terms, title_weights = (), ()
    ents = sk.entities
    if ents:
        # Matched watchlist entities are names, whichever alias the item used.
        ent_idf = _idf(df, ents, np.zeros(len(ents)), params)
        names = (*zip(ents, np.round(ent_idf, 3).tolist(), strict=True), *names)
    return ItemProfile(
        bands=sk.bands,
        body_terms=body_terms,
        body_weights=body_weights,
        title_terms=title_terms,
        title_weights=title_weights,
        evidence=evidence,
        names=names,
        numbers=numbers,
        years=years,
        terms=tuple(sorted((*terms, *ents))) if ents else terms,
        published=sk.published,
        lang=sk.lang,
    )


def weigh_in_watch(
    sk: ItemSketch, matched: Sequence[str], df: DocFreqLike | None, params: StoryParams
) -> ItemProfile:
    """The profile of a sketched item for the stories of one watch: :func:`weigh`, with the words that watch
    matched (``Match.terms``, as written) taken out of the *evidence*: every story of the watch shares them by
    construction (a "harbour" watch's reports of a bridge vote and of a festival both say "harbour"), so they
    never count towards the content floor, the rarest shared terms or the names; they stay in the text's
    vectors, which are what the item is.  A catch-all watch matches no words and keeps every term."""
    profile = weigh(sk, df, params)
    if not matched:
        return profile
    drop = selection_terms(matched, sk.lang)
    return replace(
        profile,
        evidence=tuple((t, c) for t, c in profile.evidence if t not in drop),
        names=tuple((n, w) for n, w in profile.names if n not in drop),
    )
