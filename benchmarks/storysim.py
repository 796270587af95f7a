"""In-memory replay of story grouping, pair collection, fitting and scoring: shared by train_stories.py and
eval_stories.py.

The replay runs newswatch's own code for everything that decides (worker-side :func:`sketch`, :meth:`DocFreq.
with_batch` and :func:`weigh` as the recorder weighs a batch, :class:`BatchStories` as a store plans one); only
the store is replaced by :class:`MemoryStories`, which answers a :class:`StoryQuery` as the SQLite store does
(band keys, each query term's most recent postings within the window, :func:`rank`) and applies placements.  A
batch is read before any of it is written, as a store reads it, and is :data:`BATCH` items, as in ``newswatch
replay``.  So an in-memory figure is the real path's, minus the process; eval_stories.py checks that through
``newswatch replay`` itself.  Data paths are arguments; nothing from the data enters the repository.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from newswatch import constants as C
from newswatch.models import Item
from newswatch.stories import (
    SIGNALS,
    BatchStories,
    Candidate,
    DocFreq,
    ItemProfile,
    ItemSketch,
    Placement,
    StoryModel,
    StoryParams,
    StoryQuery,
    StoryRecord,
    StoryView,
    rank,
    weigh,
)
from newswatch.stories.plan import _Overlay
from newswatch.stories.signals import SIGNS, ItemSignals
from newswatch.stories.sketch import sketch

BATCH = C.REPLAY_BATCH
FIXED_AT = 1704067200.0  # 2024-01-01T00:00:00Z: storyreplay's time for undated items (ECB+)
WATCH = "all"


def sketches(items: Sequence[Item], params: StoryParams) -> list[ItemSketch]:
    return [sketch(it, params) for it in items]


class MemoryStories:
    """The story state of one watch, as a store keeps it."""

    def __init__(self) -> None:
        self.records: dict[str, str] = {}
        self.bands: dict[str, str] = {}
        self.postings: dict[str, dict[str, float]] = defaultdict(dict)

    def view(self, q: StoryQuery) -> StoryView:
        band_sids = tuple(self.bands.get(b) for b in q.bands)
        postings = []
        for term, _ in q.terms:
            found = [(lt, sid) for sid, lt in self.postings.get(term, {}).items() if lt >= q.since]
            found.sort(reverse=True)  # newest first, ties: the larger id first
            postings.append([sid for _, sid in found[: q.per_term]])
        wanted = rank(band_sids, postings, q)
        return StoryView(band_sids, tuple(self.records[s] for s in wanted if s in self.records))

    def apply(self, p: Placement) -> None:
        sid = p.story_id
        self.records[sid] = p.record.to_json()
        for band in p.bands:
            self.bands[band] = sid
        for term in p.unpost:
            self.postings[term].pop(sid, None)
        for term in p.post:
            self.postings[term][sid] = p.record.latest


def at_of(sk: ItemSketch) -> float:
    return sk.published if sk.published is not None else FIXED_AT


Chooser = Callable[[ItemProfile, list[Candidate], float], str | None]


class _Forced(BatchStories):
    """BatchStories whose decision is made by ``chooser`` (the gold story), for collecting training pairs;
    ``known``: every story placed so far, so an item joins its gold story even when it was no candidate."""

    def __init__(self, model: StoryModel, chooser: Chooser, known: dict[str, StoryRecord]) -> None:
        super().__init__({}, model)
        self.chooser = chooser
        self.known = known

    def place(self, watch: str, new_id: str, features: ItemProfile, at: float, view: StoryView, now: float,
              *, title: str = "", url: str = "") -> Placement:  # fmt: skip
        p = self.model(watch).params
        overlay = self._overlays.setdefault(watch, _Overlay())
        candidates = self._candidates(features, at, view, overlay, p)
        chosen = self.chooser(features, candidates, at)
        existing = self.known.get(chosen) if chosen is not None else None
        if existing is None:
            record = StoryRecord.new(chosen or new_id, features, at, p)
            old: list[str] = []
        else:
            record, old = existing.absorb(features, at, p), existing.index_terms(p.index_terms)
        self.known[record.story_id] = record
        post = tuple(record.index_terms(p.index_terms))
        overlay.records[record.story_id] = record
        overlay.posted[record.story_id] = post
        for band in features.bands:
            overlay.bands[band] = record.story_id
        return Placement(watch, record.story_id, existing is None, record, features.bands,
                         tuple(t for t in old if t not in post), post, 0.0, 0.0)  # fmt: skip


def replay(
    sks: Sequence[ItemSketch], model: StoryModel, chooser: Chooser | None = None, *, related: bool = False
) -> list[str]:
    """Story ids of the items placed in order by ``model`` (or by ``chooser``), batch by batch as ``newswatch
    replay`` places them.  ``related``: a "possibly related" new story counts as its related story's (to score
    what the user would see as one thread of attention)."""
    params = model.params
    df = DocFreq()
    mem = MemoryStories()
    out: list[str] = []
    known: dict[str, StoryRecord] = {}
    for start in range(0, len(sks), BATCH):
        batch = sks[start : start + BATCH]
        bf = df.with_batch((*s.terms, *s.entities) for s in batch)
        profs = [weigh(s, bf, params) for s in batch]
        stories = BatchStories({}, model) if chooser is None else _Forced(model, chooser, known)
        views = [mem.view(stories.query(WATCH, p, at_of(s))) for p, s in zip(profs, batch, strict=True)]
        placed = []
        for n, (p, s, v) in enumerate(zip(profs, batch, views, strict=True)):
            pl = stories.place(WATCH, f"s{start + n}", p, at_of(s), v, 0.0)
            placed.append(pl)
            out.append(pl.related.story_id if related and pl.related is not None else pl.story_id)
        for pl in placed:
            mem.apply(pl)
        for p in profs:
            df.add(p.terms)
    return out


# ------------------------------------------------------------------------------------------------ pairs


@dataclass
class Pairs:
    """(item, member) signal rows above the content floor, with 1 where both tell the same gold event."""

    x: np.ndarray
    y: np.ndarray
    corpus: str


def oracle_pairs(sks: Sequence[ItemSketch], gold: Sequence[str], model: StoryModel, corpus: str) -> Pairs:
    """Replay with every item joining its gold story; record each item's signals against every member of every
    candidate story it met on the way (the candidates a store would have returned)."""
    rows: list[list[float]] = []
    labels: list[int] = []
    gold_of = dict(enumerate(gold))
    params = model.params
    current: list[int] = [0]

    def chooser(item: ItemProfile, candidates: list[Candidate], at: float) -> str:
        g = gold_of[current[0]]
        current[0] += 1
        sig = ItemSignals(item, params)
        for c in candidates:
            if not c.record.in_window(at, params.window_s):
                continue
            for m in c.record.members:
                x = sig(m)
                if x is not None:
                    rows.append(x)
                    labels.append(int(c.record.story_id == g))
        return g

    replay(sks, model, chooser)
    x = np.array(rows, dtype=np.float64).reshape(-1, len(SIGNALS))
    return Pairs(x, np.array(labels, dtype=np.int64), corpus)


def fit(pairs: Sequence[Pairs], l2: float = 1.0) -> tuple[list[float], float]:
    """Logistic regression with each weight constrained to its sign (:data:`SIGNS`), each corpus weighing the
    same in total, L2 on standardised weights; returns raw-space weights and intercept."""
    from scipy.optimize import minimize

    pairs = [p for p in pairs if len(p.y)]
    x = np.concatenate([p.x for p in pairs])
    y = np.concatenate([p.y for p in pairs]).astype(np.float64)
    w = np.concatenate([np.full(len(p.y), len(y) / (len(pairs) * len(p.y))) for p in pairs])
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    xs = x / scale
    n = xs.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, b = theta[:n], theta[n]
        z = xs @ coef + b
        # log(1 + e^z) - y z, stably
        lse = np.logaddexp(0.0, z)
        total = float(w @ (lse - y * z)) / len(y) + 0.5 * l2 * float(coef @ coef) / len(y)
        pz = 1.0 / (1.0 + np.exp(-z))
        g = (w * (pz - y)) / len(y)
        return total, np.concatenate([xs.T @ g + l2 * coef / len(y), [g.sum()]])

    bounds = [(0.0, None) if s > 0 else (None, 0.0) for s in SIGNS] + [(None, None)]
    res = minimize(loss, np.zeros(n + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    coef = res.x[:n] / scale
    return [round(float(c), 5) for c in coef], round(float(res.x[n]), 5)


def related_threshold(
    pairs: Sequence[Pairs],
    groups: Mapping[str, str],
    coef: Sequence[float],
    intercept: float,
    threshold: float,
) -> float:
    """Where "possibly related" starts: the lowest probability from which, in every group of corpora (a kind)
    with at least :data:`MIN_BAND_PAIRS` pairs in the band, pairs scored in [it, ``threshold``) are the same event
    at least half the time.  Below it, "related" would be wrong more often than right."""
    by_group: dict[str, list[Pairs]] = defaultdict(list)
    for p in pairs:
        by_group[groups[p.corpus]].append(p)
    start = 0.05
    for group in by_group.values():
        x = np.concatenate([p.x for p in group])
        y = np.concatenate([p.y for p in group])
        if not len(y):
            continue
        prob = 1.0 / (1.0 + np.exp(-(x @ np.asarray(coef) + intercept)))
        for t in np.linspace(0.05, threshold, 60):
            band = (prob >= t) & (prob < threshold)
            if band.sum() < MIN_BAND_PAIRS or y[band].mean() >= 0.5:
                start = max(start, float(t))
                break
        else:
            start = threshold
    return round(min(start, threshold), 3)


MIN_BAND_PAIRS = 20


def model_of(base: StoryModel, coef: Sequence[float], intercept: float, threshold: float, related: float,
             meta: dict[str, Any]) -> StoryModel:  # fmt: skip
    return replace(base, coef=tuple(coef), intercept=intercept, threshold=threshold,
                   related=min(related, threshold), meta=meta)  # fmt: skip


# ------------------------------------------------------------------------------------------------ scoring


def bcubed(
    pred: Sequence[str], gold: Sequence[str], only: Iterable[int] | None = None
) -> tuple[float, float, float]:
    """B-cubed P/R/F1; with ``only``, averaged over those items (clusters still counted in full)."""
    pm: dict[str, list[int]] = defaultdict(list)
    gm: dict[str, list[int]] = defaultdict(list)
    for i, (pc, gc) in enumerate(zip(pred, gold, strict=True)):
        pm[pc].append(i)
        gm[gc].append(i)
    idx = list(range(len(pred))) if only is None else list(only)
    p = r = 0.0
    for i in idx:
        same = sum(1 for j in pm[pred[i]] if gold[j] == gold[i])
        p += same / len(pm[pred[i]])
        r += same / len(gm[gold[i]])
    p, r = p / len(idx), r / len(idx)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


# ------------------------------------------------------------------------------------------------ baseline


def baseline_links(texts: Sequence[str]) -> list[tuple[int, float]]:
    """The naive baseline, threshold-free: each item's most similar earlier item and the cosine.

    scikit-learn TF-IDF (sublinear tf, English stop words) fitted on the whole corpus, L2-normalised, cosine.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    m = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(texts)
    links = [(-1, 0.0)]
    for i in range(1, m.shape[0]):
        sims = (m[:i] @ m[i].T).toarray().ravel()
        j = int(np.argmax(sims))
        links.append((j, float(sims[j])))
    return links


def baseline_clusters(links: Sequence[tuple[int, float]], threshold: float) -> list[str]:
    """Online single-link: join the cluster of the most similar earlier item when the cosine reaches it."""
    out: list[str] = []
    for i, (j, s) in enumerate(links):
        out.append(out[j] if j >= 0 and s >= threshold else str(i))
    return out
