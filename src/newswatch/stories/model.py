"""The story decision: which candidate story an item joins, whether it opens a new one, and when to say that a
new story is possibly related to an earlier one.

This module owns the fitted weights (``weights.json`` beside it, written by ``benchmarks/train_stories.py``)
and the pure function that applies them with plain Python: no scikit-learn at run time.

How an item is placed:

1. Each candidate story in the story window is compared **member by member** (its first report and its latest
   ones, :mod:`~newswatch.stories.record`); a member below the content floor (:mod:`~newswatch.stories.signals`)
   is not scored, so a story with nothing but a number, a name or a band in common is never joined.
2. A member's score is a logistic model of the pair signals, each weight constrained to the sign of its
   evidence; the story's score is its best member's (single link over a bounded set of members: a story's pull
   does not grow with its size).
3. The best story is joined when its probability reaches ``threshold``.  Below it, down to ``related``, the item
   opens a new story that says it is **possibly related** to that one: a join that close is too uncertain to
   hide in a thread, and too likely to ignore.  ``related`` is where, in the cross-validation, a pair scored so
   is as likely to be the same event as not (below it, "related" would mislead more often than it helps).

The same threshold applies from the first item of a fresh store: profiles are weighed with prior document
frequencies from the start (:mod:`~newswatch.stories.profile`).
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
from newswatch.stories.signals import SIGNALS, SIGNS, ItemSignals

__all__ = [
    "Candidate",
    "Decision",
    "Scored",
    "StoryModel",
    "decide",
    "default_model",
    "load_model",
    "logit",
    "sigmoid",
]


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


@dataclass(frozen=True, slots=True)
class StoryModel:
    """Fitted weights (``coef`` over :data:`SIGNALS`, raw inputs) and the two thresholds, with the sizes they were
    fitted with.  ``related`` equal to ``threshold``: no "possibly related" band."""

    params: StoryParams
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    related: float
    meta: dict[str, Any]

    def __post_init__(self) -> None:
        if len(self.coef) != len(SIGNALS):
            raise ValueError(f"{len(self.coef)} weights for {len(SIGNALS)} signals")
        for name, c, sign in zip(SIGNALS, self.coef, SIGNS, strict=True):
            if c * sign < 0:
                raise ValueError(f"the weight of {name} must be {'>=' if sign > 0 else '<='} 0, got {c}")
        for name, value in (("threshold", self.threshold), ("related", self.related)):
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if self.related > self.threshold:
            raise ValueError(f"related ({self.related}) must not exceed threshold ({self.threshold})")

    def score(self, x: Sequence[float]) -> float:
        """The logit of "same event" for one member's signals."""
        total: float = sum(map(mul, self.coef, x))
        return self.intercept + total

    @property
    def band(self) -> float:
        """Width of the "possibly related" band in logits (kept when a deployment moves the threshold)."""
        return logit(self.threshold) - logit(self.related)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StoryModel:
        """The model a weights file describes; ValueError saying what is wrong with it otherwise."""
        try:
            if tuple(d["signals"]) != SIGNALS:
                raise ValueError(f"fitted for signals {d['signals']}, this code computes {list(SIGNALS)}")
            threshold = float(d["threshold"])
            return cls(
                StoryParams(**d["params"]),
                tuple(float(c) for c in d["coef"]),
                float(d["intercept"]),
                threshold,
                float(d.get("related", threshold)),
                dict(d.get("meta", {})),
            )
        except KeyError as exc:
            raise ValueError(f"no {exc} in the weights") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "signals": list(SIGNALS),
            "params": asdict(self.params),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "related": self.related,
            "meta": self.meta,
        }

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

    def tuned(
        self, *, threshold: float | None = None, window_s: float | None = None, related: bool = True
    ) -> StoryModel:
        """This model with the deployment's threshold (None keeps the fitted one; the "possibly related" band
        keeps its width in logits), story window (None keeps it) and "possibly related" alerts on or off."""
        params = self.params if window_s is None else replace(self.params, window_s=window_s)
        t = self.threshold if threshold is None else threshold
        r = sigmoid(logit(t) - self.band) if related else t
        return replace(self, params=params, threshold=t, related=min(r, t))


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
    """One candidate story, as the decision saw it.

    ``signals``: of its best-scoring member (``member``: its index in the record), () when the story is out of
    the window or no member passed the content floor; ``score``: that member's logit, -inf then.
    """

    story_id: str
    signals: tuple[float, ...]
    score: float
    in_window: bool
    member: int = -1


@dataclass(frozen=True, slots=True)
class Decision:
    """Join ``story_id``, or open a new story when it is None (``related``: the story it is possibly related to).

    ``best``: the record of the best-scoring comparable candidate (None when there was none); ``p_join``: the
    probability of joining it, compared with ``threshold`` and ``related_threshold``; ``scored``: every
    candidate, in input order.
    """

    story_id: str | None
    related: str | None
    best: StoryRecord | None
    p_join: float
    threshold: float
    related_threshold: float
    scored: tuple[Scored, ...]
    words: tuple[str, ...] = ()  # informative words the item shares with the best candidate's closest member
    names: tuple[str, ...] = ()  # and the names

    @property
    def best_scored(self) -> Scored | None:
        if self.best is None:
            return None
        return next(s for s in self.scored if s.story_id == self.best.story_id)


def decide(
    item: ItemProfile, candidates: Sequence[Candidate], at: float, model: StoryModel | None = None
) -> Decision:
    """Which candidate ``item`` (placed at time ``at``) joins, or None for a new story.  Pure."""
    m = model if model is not None else default_model()
    sig = ItemSignals(item, m.params)
    window = m.params.window_s
    scored: list[Scored] = []
    best: StoryRecord | None = None
    best_key: tuple[float, int, float, str] | None = None
    for c in candidates:
        rec = c.record
        if not rec.in_window(at, window):
            scored.append(Scored(rec.story_id, (), -math.inf, False))
            continue
        top_z, top_j = -math.inf, -1
        top_x: tuple[float, ...] = ()
        for j, member in enumerate(rec.members):
            x = sig(member)
            if x is None:
                continue
            z = m.score(x)
            if z > top_z:
                top_z, top_x, top_j = z, tuple(x), j
        scored.append(Scored(rec.story_id, top_x, top_z, True, top_j))
        if top_j < 0:
            continue
        key = (top_z, c.band_hits, rec.latest, rec.story_id)  # ties: more band hits, then the latest story
        if best_key is None or key > best_key:
            best_key, best = key, rec
    if best is None or best_key is None:
        return Decision(None, None, None, 0.0, m.threshold, m.related, tuple(scored))
    p = sigmoid(best_key[0])
    joined = best.story_id if p >= m.threshold else None
    related = best.story_id if joined is None and p >= m.related else None
    closest = next(s.member for s in scored if s.story_id == best.story_id)
    words, names = sig.shared_with(best.members[closest])
    return Decision(
        joined, related, best, p, m.threshold, m.related, tuple(scored), tuple(words), tuple(names)
    )
