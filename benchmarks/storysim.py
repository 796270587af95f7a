"""Shared by train_stories.py and eval_storymodel.py: data loading, an in-memory store, replay, pairs, fitting.

The in-memory store simulates what the real stores do for the story model, key for key: (a) candidates by the
item's LSH band keys (band hits counted per story) and by its query terms (each term -> the stories most
recently posted under it within the story window, newest first, at most ``postings_per_term``; stories ranked
by the summed weight of the shared terms, the top ``max_candidates`` kept, plus every band-hit story); (b) the
candidates' records; (c) a placement applied: record written, band keys pointed at the story, the story
re-posted under its record's top index terms.  Data paths are arguments; nothing from the data enters the
repository.
"""

from __future__ import annotations

import csv
import heapq
import json
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from newswatch.models import Item
from newswatch.stories import (
    SIGNALS,
    Candidate,
    Decision,
    ItemProfile,
    StoryModel,
    StoryParams,
    StoryRecord,
    decide,
)
from newswatch.stories.model import MAX_MARGIN, NEW_INPUTS
from newswatch.stories.sketch import item_profile

# Pairs are recorded with the lowest body floor of the grid; fitting with a higher floor drops the rows under it.
LOWEST_FLOOR = 0.02
HARNESS_PARAMS = StoryParams(min_body=LOWEST_FLOOR)
FIXED_AT = 0.0  # ECB+ has no dates: every item is placed at the same time, inside every story's window


@dataclass(frozen=True)
class Doc:
    item: Item
    gold: str
    group: str  # ECB+ topic, UCI story: the unit that cross-validation holds out


def load_ecb(path: Path) -> list[Doc]:
    docs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            item = Item(title=row["title"], url=row["url"], source="ecbplus", content=row["content"])
            docs.append(Doc(item, row["event_cluster"], row["event_cluster"].split("_")[0]))
    return docs


def load_uci(path: Path) -> list[Doc]:
    docs = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            published = datetime.fromtimestamp(int(row["TIMESTAMP"]) / 1000, tz=UTC)
            item = Item(title=row["TITLE"], url=row["URL"], source=row["PUBLISHER"], published=published)
            docs.append(Doc(item, row["STORY"], row["STORY"]))
    docs.sort(key=lambda d: d.item.published or datetime.min.replace(tzinfo=UTC))  # a stream is in time order
    return docs


@dataclass
class DocFreq:
    counts: dict[str, int] = field(default_factory=dict)
    n_docs: int = 0

    def add(self, terms: Iterable[str]) -> None:
        for t in terms:
            self.counts[t] = self.counts.get(t, 0) + 1
        self.n_docs += 1


def profiles(docs: Sequence[Doc], params: StoryParams) -> list[ItemProfile]:
    """Profiles with document frequencies counted over the whole unlabelled set first (a warm deployment's
    state, and the information the baseline's IDF gets)."""
    df = DocFreq()
    for d in docs:
        df.add(item_profile(d.item, None, params).terms)
    return [item_profile(d.item, df, params) for d in docs]


def at_of(p: ItemProfile) -> float:
    return p.published if p.published is not None else FIXED_AT


class MemoryStore:
    """Story state of one watch, as the stores keep it (see the module docstring)."""

    def __init__(self, params: StoryParams) -> None:
        self.params = params
        self.records: dict[str, StoryRecord] = {}
        self.bands: dict[str, str] = {}
        self.postings: dict[str, OrderedDict[str, float]] = defaultdict(OrderedDict)
        self.posted: dict[str, tuple[str, ...]] = {}

    def candidates(self, p: ItemProfile, at: float) -> list[Candidate]:
        hits: dict[str, int] = {}
        for key in p.bands:
            sid = self.bands.get(key)
            if sid is not None:
                hits[sid] = hits.get(sid, 0) + 1
        shared: dict[str, float] = {}
        lo = at - self.params.window_s
        for term, weight in p.query_terms(self.params.query_terms):
            plist = self.postings.get(term)
            if not plist:
                continue
            for n, sid in enumerate(reversed(plist)):
                if n >= self.params.postings_per_term:
                    break
                if plist[sid] >= lo:
                    shared[sid] = shared.get(sid, 0.0) + weight
        ranked = heapq.nlargest(self.params.max_candidates, shared, key=shared.__getitem__)
        ids = dict.fromkeys([*hits, *ranked])
        return [Candidate(self.records[s], hits.get(s, 0)) for s in ids]

    def apply(self, story_id: str, record: StoryRecord, bands: Sequence[str], terms: Sequence[str]) -> None:
        self.records[story_id] = record
        for key in bands:
            self.bands[key] = story_id
        for t in self.posted.get(story_id, ()):
            self.postings[t].pop(story_id, None)
        for t in terms:
            self.postings[t][story_id] = record.latest
        self.posted[story_id] = tuple(terms)


def place(
    p: ItemProfile, d: Decision, cands: Sequence[Candidate], new_id: str, at: float, params: StoryParams
) -> tuple[str, StoryRecord, list[str]]:
    """What newswatch.stories.plan.BatchStories.place decides, on objects (no JSON): story id, record, terms."""
    joined = next((c.record for c in cands if c.record.story_id == d.story_id), None)
    rec = StoryRecord.new(new_id, p, at, params) if joined is None else joined.absorb(p, at, params)
    return rec.story_id, rec, rec.index_terms(params.index_terms)


def replay(profs: Sequence[ItemProfile], model: StoryModel) -> list[str]:
    """Story ids of the items placed in order by ``model``."""
    store = MemoryStore(model.params)
    out = []
    for i, p in enumerate(profs):
        at = at_of(p)
        cands = store.candidates(p, at)
        d = decide(p, cands, at, model)
        sid, rec, terms = place(p, d, cands, f"s{i}", at, model.params)
        store.apply(sid, rec, p.bands, terms)
        out.append(sid)
    return out


@dataclass
class Query:
    """One item's candidates in a replay: signals per candidate and which candidates are its story."""

    x: np.ndarray  # candidates x SIGNALS
    y: np.ndarray  # 1 where the candidate story is the item's (gold majority of its members), else 0
    corpus: str


def oracle_queries(
    profs: Sequence[ItemProfile], gold: Sequence[str], params: StoryParams, corpus: str
) -> list[Query]:
    """Replay with gold stories: every item joins its gold story; record what each item saw on the way."""
    return _queries(profs, gold, params, corpus, None)


def model_queries(
    profs: Sequence[ItemProfile], gold: Sequence[str], model: StoryModel, corpus: str
) -> list[Query]:
    """Replay placed by ``model``: the states a deployed model meets (fragments, mixed stories); a candidate
    is the item's story when most of its members share the item's gold event."""
    return _queries(profs, gold, model.params, corpus, model)


def _queries(
    profs: Sequence[ItemProfile],
    gold: Sequence[str],
    params: StoryParams,
    corpus: str,
    model: StoryModel | None,
) -> list[Query]:
    from collections import Counter

    from newswatch.stories.signals import ItemSignals

    store = MemoryStore(params)
    members: dict[str, Counter[str]] = defaultdict(Counter)
    out = []
    for i, (p, g) in enumerate(zip(profs, gold, strict=True)):
        at = at_of(p)
        cands = [c for c in store.candidates(p, at) if c.record.in_window(at, params.window_s)]
        sig = ItemSignals(p, params)
        rows = [(x, c) for c in cands if (x := sig(c.record, c.band_hits)) is not None]
        if rows:
            x = np.array([r[0] for r in rows])
            y = np.array([int(members[c.record.story_id].most_common(1)[0][0] == g) for _, c in rows])
            out.append(Query(x, y, corpus))
        if model is None:
            old = store.records.get(g)
            rec = StoryRecord.new(g, p, at, params) if old is None else old.absorb(p, at, params)
            sid = g
            terms: Sequence[str] = rec.index_terms(params.index_terms)
        else:
            sid, rec, terms = place(p, decide(p, cands, at, model), cands, f"s{i}", at, params)
        members[sid][g] += 1
        store.apply(sid, rec, p.bands, terms)
    return out


# ------------------------------------------------------------------------------------------------ fitting


@dataclass(frozen=True)
class Config:
    c: float = 1.0  # inverse L2 strength of both logistic regressions
    new_model: bool = True  # a separate new-story model (Miranda et al.), not a threshold on the join p
    drop: tuple[str, ...] = ()  # signals left out (their weights fixed at 0)
    uci: bool = False  # UCI headline pairs in training (titles only: short items)
    rounds: int = 0  # extra rounds on the states the model itself makes (replay of the training stream)
    # Learn the time signals.  Off: the only dated data, UCI, has crawl-batch timestamps (every story's items
    # within 74 s of each other), which would teach that a report an hour later is another story.
    time: bool = False
    min_body: float = 0.02  # StoryParams.min_body of the fitted model

    def dropped(self) -> tuple[str, ...]:
        return self.drop if self.time else (*self.drop, *TIME_SIGNALS)

    def label(self) -> str:
        drop = ",".join(self.drop) or "-"
        new = "model" if self.new_model else "pair-p"
        return (
            f"C={self.c:g} new={new} drop={drop} uci={int(self.uci)} r={self.rounds} time={int(self.time)} "
            f"floor={self.min_body:g}"
        )


TIME_SIGNALS = ("time_known", "gap_log_h")


def _fit_lr(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float, keep: np.ndarray, seed: int
) -> tuple[list[float], float]:
    """Logistic regression on standardised inputs, returned in raw input space (scaling folded in)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    xs = (x - mean) / scale
    xs[:, ~keep] = 0.0
    lr = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    lr.fit(xs, y, sample_weight=w)
    coef = lr.coef_[0] / scale
    coef[~keep] = 0.0
    intercept = float(lr.intercept_[0] - coef @ mean)
    return [round(float(v), 6) for v in coef], round(intercept, 6)


def _weights(queries: Sequence[Query], rows: Callable[[Query], int]) -> np.ndarray:
    """Per-row sample weights that give each corpus the same total weight."""
    per = defaultdict(int)
    for q in queries:
        per[q.corpus] += rows(q)
    total = sum(per.values())
    return np.concatenate([np.full(rows(q), total / (len(per) * per[q.corpus])) for q in queries])


def fit(
    queries: Sequence[Query], config: Config, params: StoryParams, threshold: float, seed: int = 0
) -> StoryModel:
    """The join model on every (item, candidate) pair, then the new-story model on each item's best one."""
    params = replace(params, min_body=config.min_body)
    # Queries are recorded with the lowest floor; a higher one removes the candidates it makes incomparable.
    body, dup = SIGNALS.index("body"), SIGNALS.index("dup")
    qs = []
    for q in queries:
        if q.corpus == "uci" and not config.uci:
            continue
        rows = (q.x[:, body] >= config.min_body) | (q.x[:, dup] > 0)
        if rows.any():
            qs.append(q if rows.all() else Query(q.x[rows], q.y[rows], q.corpus))
    keep = np.array([s not in config.dropped() for s in SIGNALS])
    x = np.concatenate([q.x for q in qs])
    y = np.concatenate([q.y for q in qs])
    coef, intercept = _fit_lr(x, y, _weights(qs, lambda q: len(q.x)), config.c, keep, seed)
    join = {"coef": coef, "intercept": intercept}
    new = None
    if config.new_model:
        feats, labels = [], []
        for q in qs:
            z = q.x @ np.array(coef) + intercept
            order = np.argsort(-z, kind="stable")
            b = int(order[0])
            margin = min(MAX_MARGIN, float(z[b] - z[order[1]])) if len(z) > 1 else MAX_MARGIN
            feats.append([float(z[b]), margin, *q.x[b].tolist()])
            labels.append(int(q.y[b]))
        keep_new = np.array([True, True, *keep.tolist()])
        ncoef, nint = _fit_lr(
            np.array(feats), np.array(labels), _weights(qs, lambda q: 1), config.c, keep_new, seed
        )
        new = {"coef": ncoef, "intercept": nint}
    return StoryModel.from_dict(
        {"signals": list(SIGNALS), "params": params_dict(params), "join": join, "new": new,
         "threshold": threshold, "meta": {"config": config.label(), "new_inputs": list(NEW_INPUTS)}}
    )  # fmt: skip


def weights_dict(model: StoryModel, meta: dict[str, Any]) -> dict[str, Any]:
    """A fitted model as a weights file holds it (``StoryModel.load`` reads it back)."""
    return {
        "signals": list(SIGNALS),
        "params": params_dict(model.params),
        "join": {"coef": list(model.join.coef), "intercept": model.join.intercept},
        "new": None
        if model.new is None
        else {"coef": list(model.new.coef), "intercept": model.new.intercept},
        "threshold": model.threshold,
        "cold_threshold": model.cold_threshold,
        "meta": meta,
    }


def params_dict(params: StoryParams) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(params)


def with_threshold(model: StoryModel, threshold: float) -> StoryModel:
    return replace(model, threshold=threshold)


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


def baseline_links(texts: Sequence[str], fit_texts: Sequence[str]) -> list[tuple[int, float]]:
    """Naive baseline, threshold-free: each item's most similar earlier item and the cosine.

    TF-IDF with sublinear tf and English stop words (scikit-learn), IDF fitted on ``fit_texts`` (the whole
    unlabelled set, as ours gets its document frequencies), L2-normalised, cosine.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit(fit_texts)
    m = vec.transform(texts)
    sims = (m @ m.T).toarray()
    links = []
    for i in range(len(texts)):
        if i == 0:
            links.append((-1, 0.0))
            continue
        j = int(np.argmax(sims[i, :i]))
        links.append((j, float(sims[i, j])))
    return links


def baseline_clusters(links: Sequence[tuple[int, float]], threshold: float) -> list[str]:
    """Online single-link: join the cluster of the most similar earlier item when the cosine reaches it."""
    out: list[str] = []
    for i, (j, s) in enumerate(links):
        out.append(out[j] if j >= 0 and s >= threshold else str(i))
    return out
