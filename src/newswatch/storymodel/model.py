"""The learned story decision: which candidate story an item joins, or whether it opens a new one.

This module owns the fitted weights (``weights.json`` beside it, written by ``benchmarks/train_stories.py``)
and the pure functions that apply them with plain Python: no scikit-learn at run time.

Two models, after Miranda et al. (2018):

* the **join model** scores every candidate story in the story window from its pair signals (a linear score,
  the logit of "this item belongs to this story"); a candidate that shares no band and less than
  ``params.min_body`` body cosine is not scored; the best-scoring candidate is the only one considered;
* the **new-story model** decides whether to join that best candidate or open a new story, from the best
  candidate's signals, its score and its margin over the runner-up; it joins when its probability reaches
  the fitted ``threshold``.  A weights file may instead say ``"new": null`` (the shipped one does: the
  cross-validation preferred it): join when the join model's own probability reaches the threshold.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from operator import mul
from pathlib import Path
from typing import Any

from newswatch.storymodel.profile import ItemProfile, ModelParams
from newswatch.storymodel.record import StoryRecord
from newswatch.storymodel.signals import SIGNALS, ItemSignals

__all__ = [
    "NEW_INPUTS",
    "Candidate",
    "Decision",
    "Linear",
    "Placement",
    "Scored",
    "StoryModel",
    "decide",
    "default_model",
    "explain",
    "place",
]

NEW_INPUTS: tuple[str, ...] = ("join_score", "margin", *SIGNALS)
MAX_MARGIN = 10.0  # the margin of a lone candidate, and the cap of any margin (in logits)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True, slots=True)
class Linear:
    """``intercept + coef . x`` over raw (unscaled) inputs."""

    coef: tuple[float, ...]
    intercept: float

    def __call__(self, x: Sequence[float]) -> float:
        total: float = sum(map(mul, self.coef, x))
        return self.intercept + total


@dataclass(frozen=True, slots=True)
class StoryModel:
    params: ModelParams
    join: Linear
    new: Linear | None
    threshold: float
    meta: dict[str, Any]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StoryModel:
        if tuple(d["signals"]) != SIGNALS:
            raise ValueError(f"weights were fitted for signals {d['signals']}, this code computes {SIGNALS}")
        join = Linear(tuple(d["join"]["coef"]), float(d["join"]["intercept"]))
        new = None if d["new"] is None else Linear(tuple(d["new"]["coef"]), float(d["new"]["intercept"]))
        if len(join.coef) != len(SIGNALS) or (new is not None and len(new.coef) != len(NEW_INPUTS)):
            raise ValueError("weights file: coefficient count does not match the signals")
        return cls(ModelParams(**d["params"]), join, new, float(d["threshold"]), dict(d.get("meta", {})))

    @classmethod
    def load(cls, path: str | Path) -> StoryModel:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


@functools.cache
def default_model() -> StoryModel:
    """The shipped model (package data ``weights.json``)."""
    raw = resources.files("newswatch.storymodel").joinpath("weights.json").read_text(encoding="utf-8")
    return StoryModel.from_dict(json.loads(raw))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A candidate story as the store returns it: its record and how many of the item's band keys hit it."""

    record: StoryRecord
    band_hits: int = 0


@dataclass(frozen=True, slots=True)
class Scored:
    story_id: str
    signals: tuple[float, ...]  # values of SIGNALS; () when out of the window or not comparable
    score: float  # join model logit; -inf when out of the window or not comparable
    in_window: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """Join ``story_id``, or open a new story when it is None.

    ``best``: the best-scoring candidate in the window (None when there was none); ``p_join``: the probability
    of joining it that the decision compared with ``threshold``; ``scored``: every candidate, in input order.
    """

    story_id: str | None
    best: str | None
    p_join: float
    threshold: float
    scored: tuple[Scored, ...]


def decide(
    item: ItemProfile, candidates: Sequence[Candidate], at: float, model: StoryModel | None = None
) -> Decision:
    """Which candidate ``item`` (placed at time ``at``) joins, or None for a new story.  Pure."""
    m = model if model is not None else default_model()
    sig = ItemSignals(item, m.params.bands, m.params.min_body)
    window = m.params.window_s
    scored: list[Scored] = []
    best_i = -1
    best_key: tuple[float, int, float, str] | None = None
    second = -math.inf
    for c in candidates:
        rec = c.record
        if not rec.in_window(at, window):
            scored.append(Scored(rec.story_id, (), -math.inf, False))
            continue
        x = sig(rec, c.band_hits)
        if x is None:  # not comparable: nothing in common worth scoring
            scored.append(Scored(rec.story_id, (), -math.inf, True))
            continue
        z = m.join(x)
        scored.append(Scored(rec.story_id, tuple(x), z, True))
        key = (z, c.band_hits, rec.latest, rec.story_id)  # ties: more band hits, then the most recent story
        if best_key is None or key > best_key:
            if best_key is not None:
                second = max(second, best_key[0])
            best_key, best_i = key, len(scored) - 1
        else:
            second = max(second, z)
    if best_key is None:
        return Decision(None, None, 0.0, m.threshold, tuple(scored))
    best = scored[best_i]
    if m.new is None:
        p = _sigmoid(best.score)
    else:
        margin = min(MAX_MARGIN, best.score - second)
        p = _sigmoid(m.new([best.score, margin, *best.signals]))
    chosen = best.story_id if p >= m.threshold else None
    return Decision(chosen, best.story_id, p, m.threshold, tuple(scored))


def explain(
    item: ItemProfile, candidates: Sequence[Candidate], at: float, model: StoryModel | None = None
) -> dict[str, Any]:
    """Why ``item`` joins a story or opens one: every candidate's signals and score, and the decision.

    Plain data (JSON-able), best candidate first, for ``newswatch replay --explain`` to print.
    """
    m = model if model is not None else default_model()
    d = decide(item, candidates, at, m)
    rows = sorted(d.scored, key=lambda s: -s.score)
    return {
        "decision": "join" if d.story_id is not None else "new story",
        "story": d.story_id,
        "best_candidate": d.best,
        "p_join": round(d.p_join, 4),
        "threshold": m.threshold,
        "candidates": [
            {
                "story": s.story_id,
                "in_window": s.in_window,
                # False: no shared band and a body cosine under the floor, so not scored
                "comparable": bool(s.signals),
                "score": round(s.score, 4) if s.signals else None,
                "p_same": round(_sigmoid(s.score), 4) if s.signals else None,
                "signals": {k: round(v, 4) for k, v in zip(SIGNALS, s.signals, strict=False)},
            }
            for s in rows
        ],
    }


@dataclass(frozen=True, slots=True)
class Placement:
    """What the store writes: the story's new record, the item's band keys to point at it, and the terms to
    (re-)post the story under."""

    story_id: str
    is_new: bool
    record: StoryRecord
    bands: tuple[str, ...]
    index_terms: tuple[str, ...]


def place(
    item: ItemProfile,
    decision: Decision,
    candidates: Sequence[Candidate],
    new_story_id: str,
    at: float,
    params: ModelParams,
    index_terms: int | None = None,
) -> Placement:
    """Apply ``decision``: the joined story absorbs the item, or a story ``new_story_id`` opens.  Pure."""
    k = params.index_terms if index_terms is None else index_terms
    joined = None
    if decision.story_id is not None:
        joined = next((c.record for c in candidates if c.record.story_id == decision.story_id), None)
    if joined is None:
        record = StoryRecord.new(new_story_id, item, at, params)
    else:
        record = joined.absorb(item, at, params)
    return Placement(record.story_id, joined is None, record, item.bands, tuple(record.index_terms(k)))
