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

A cold profile (every term weighed alike: too few items seen to know which words are common) is compared with
``cold_threshold``, chosen for such profiles when the weights were fitted.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from operator import mul
from pathlib import Path
from typing import Any

from newswatch.stories.params import StoryParams
from newswatch.stories.profile import ItemProfile
from newswatch.stories.record import StoryRecord
from newswatch.stories.signals import SIGNALS, ItemSignals

__all__ = [
    "NEW_INPUTS",
    "Candidate",
    "Decision",
    "Linear",
    "Scored",
    "StoryModel",
    "decide",
    "default_model",
    "explain",
    "load_model",
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
    params: StoryParams
    join: Linear
    new: Linear | None
    threshold: float
    meta: dict[str, Any]
    cold_threshold: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StoryModel:
        """The model a weights file describes; ValueError saying what is wrong with it otherwise."""
        try:
            if tuple(d["signals"]) != SIGNALS:
                raise ValueError(f"fitted for signals {d['signals']}, this code computes {list(SIGNALS)}")
            join = _linear(d["join"])
            new = None if d["new"] is None else _linear(d["new"])
            if len(join.coef) != len(SIGNALS) or (new is not None and len(new.coef) != len(NEW_INPUTS)):
                raise ValueError("the coefficient count does not match the signals")
            threshold = float(d["threshold"])
            cold = float(d.get("cold_threshold", threshold))
            for name, value in (("threshold", threshold), ("cold_threshold", cold)):
                if not 0.0 < value < 1.0:
                    raise ValueError(f"{name} must be in (0, 1), got {value}")
            return cls(StoryParams(**d["params"]), join, new, threshold, dict(d.get("meta", {})), cold)
        except KeyError as exc:
            raise ValueError(f"no {exc} in the weights") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None

    @classmethod
    def load(cls, path: str | Path) -> StoryModel:
        """A weights file written by ``benchmarks/train_stories.py``; ValueError or OSError if unusable."""
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: not a JSON object")
        try:
            return cls.from_dict(raw)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def tuned(self, *, threshold: float | None = None, window_s: float | None = None) -> StoryModel:
        """This model with the deployment's threshold (for warm profiles) and story window (None keeps the
        fitted one)."""
        params = self.params if window_s is None else replace(self.params, window_s=window_s)
        return replace(self, params=params, threshold=self.threshold if threshold is None else threshold)


def _linear(d: dict[str, Any]) -> Linear:
    return Linear(tuple(float(c) for c in d["coef"]), float(d["intercept"]))


@functools.lru_cache(maxsize=8)
def load_model(path: str) -> StoryModel:
    """:meth:`StoryModel.load`, read once per process and path (a config reload does not read it again)."""
    return StoryModel.load(path)


@functools.cache
def default_model() -> StoryModel:
    """The shipped model (package data ``weights.json``)."""
    raw = resources.files("newswatch.stories").joinpath("weights.json").read_text(encoding="utf-8")
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
    sig = ItemSignals(item, m.params)
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
    threshold = m.threshold if item.warm else m.cold_threshold
    if best_key is None:
        return Decision(None, None, 0.0, threshold, tuple(scored))
    best = scored[best_i]
    if m.new is None:
        p = _sigmoid(best.score)
    else:
        margin = min(MAX_MARGIN, best.score - second)
        p = _sigmoid(m.new([best.score, margin, *best.signals]))
    chosen = best.story_id if p >= threshold else None
    return Decision(chosen, best.story_id, p, threshold, tuple(scored))


def explain(decision: Decision) -> dict[str, Any]:
    """Why an item joined a story or opened one: the decision, and every candidate's signals and score.

    Plain data (JSON-able), best candidate first, for ``newswatch replay --explain`` to print.
    """
    rows = sorted(decision.scored, key=lambda s: -s.score)
    return {
        "decision": "join" if decision.story_id is not None else "new story",
        "story": decision.story_id,
        "best_candidate": decision.best,
        "p_join": round(decision.p_join, 4),
        "threshold": decision.threshold,
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
