"""Choosing the story model on some kinds of data only: the weights, the content floor and the thresholds.

Shared by train_stories.py (chooses on every kind, fits the shipped weights) and eval_stories.py (chooses on all
kinds but one, then scores the kind left out).  The objective says that a false join hides news:

* the weights: a logistic regression of "same event" on the signals of (item, story member) pairs met in an
  oracle replay, each weight constrained to its sign, each corpus weighing the same;
* the content floor (``min_shared``) and the join threshold: from :data:`FLOORS` x :data:`THRESHOLDS`, the
  setting with the best mean F1 over the training kinds (corpora averaged within their kind, so six synthetic
  streams weigh as much as one ECB+) among those whose **every** training corpus keeps B-cubed precision >=
  :data:`MIN_PRECISION`; if none does, the setting with the best worst-corpus precision;
* the "possibly related" threshold: where pairs start to be the same event at least half the time
  (:func:`storysim.related_threshold`).

The naive baseline's threshold is chosen by the same rule on the same kinds (:func:`choose_baseline`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from newswatch.stories import SIGNALS, ItemSketch, StoryModel
from storydata import Corpus
from storysim import (
    Pairs,
    baseline_clusters,
    bcubed,
    fit,
    model_of,
    oracle_pairs,
    related_threshold,
    replay,
)

MIN_PRECISION = 0.97  # the target on the training kinds: a margin over the 0.95 a held-out kind must keep
FLOORS = (
    1.5,
)  # a word and a name at least; 2.0 was also tried (folds chose either; kept the one the design states)
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99)
# Kinds that train the weights but do not choose thresholds: UCI's gold stories are an aggregator's, which files
# identical headlines under different stories, so its precision stays near 0.97 at every threshold and would
# push every threshold to the top of the grid.
UNSELECTED = frozenset({"headlines"})
BASELINE_THRESHOLDS = tuple(round(t / 100, 2) for t in range(10, 91, 2))
Score = tuple[float, float, float]


@dataclass(frozen=True)
class Choice:
    model: StoryModel
    floor: float
    threshold: float
    kind_scores: dict[str, Score]  # training kinds at the chosen setting (in memory)
    worst: float  # the lowest precision of a training corpus there


def by_kind(corpora: Sequence[Corpus], scores: Mapping[str, Score]) -> dict[str, Score]:
    """Corpus scores averaged within each kind."""
    out: dict[str, list[Score]] = {}
    for c in corpora:
        out.setdefault(c.kind, []).append(scores[c.name])
    return {k: tuple(statistics.fmean(s[j] for s in v) for j in range(3)) for k, v in out.items()}  # type: ignore[misc]


def better(a: tuple[dict[str, Score], float], b: tuple[dict[str, Score], float] | None) -> bool:
    """Whether (kind scores, worst corpus precision) ``a`` beat ``b`` by the precision-first rule: every corpus
    at precision >= MIN_PRECISION first, then the best mean F1 over kinds (see the module docstring)."""
    if b is None:
        return True

    def key(s: tuple[dict[str, Score], float]) -> tuple[bool, float, float]:
        kinds, worst = s
        mean_f1 = statistics.fmean(v[2] for v in kinds.values())
        ok = worst >= MIN_PRECISION
        return (ok, mean_f1 if ok else worst, worst if ok else mean_f1)

    return key(a) > key(b)


def with_floor(pairs: Pairs, floor: float) -> Pairs:
    """The rows that pass a content floor of ``floor`` (pairs were collected at the lowest floor)."""
    keep = pairs.x[:, SIGNALS.index("shared")] >= np.log1p(floor) - 1e-9
    return Pairs(pairs.x[keep], pairs.y[keep], pairs.corpus)


def choose(
    corpora: Sequence[Corpus],
    sks: Mapping[str, Sequence[ItemSketch]],
    base: StoryModel,
    *,
    progress: Callable[[str], None] = lambda s: None,
) -> Choice:
    """The model chosen on ``corpora`` (see the module docstring)."""
    lowest = replace(base, params=replace(base.params, min_shared=min(FLOORS)))
    pairs = [oracle_pairs(sks[c.name], c.gold, lowest, c.name) for c in corpora]
    best: Choice | None = None
    for floor in FLOORS:
        fp = [with_floor(p, floor) for p in pairs]
        coef, intercept = fit(fp)
        params = replace(base.params, min_shared=floor)
        for th in THRESHOLDS:
            model = model_of(replace(base, params=params), coef, intercept, th, th, {})
            scores = {c.name: bcubed(replay(sks[c.name], model), c.gold) for c in corpora}
            chosen = [c for c in corpora if c.kind not in UNSELECTED]
            kinds = by_kind(chosen, scores)
            worst = min(scores[c.name][0] for c in chosen)
            progress(f"    floor {floor} threshold {th}: worst P {worst:.3f} " + "  ".join(
                f"{k} {v[0]:.3f}/{v[1]:.3f}/{v[2]:.3f}" for k, v in kinds.items()))  # fmt: skip
            if best is None or better((kinds, worst), (best.kind_scores, best.worst)):
                related = related_threshold(fp, {c.name: c.kind for c in corpora}, coef, intercept, th)
                meta = {"floor": floor, "chosen_on": sorted(kinds)}
                best = Choice(model_of(model, coef, intercept, th, related, meta), floor, th, kinds, worst)
    assert best is not None
    return best


def choose_baseline(
    corpora: Sequence[Corpus], links: Mapping[str, Sequence[tuple[int, float]]]
) -> tuple[float, dict[str, Score]]:
    """The naive baseline's threshold by the same rule on ``corpora``."""
    best: tuple[float, dict[str, Score], float] | None = None
    chosen = [c for c in corpora if c.kind not in UNSELECTED]
    for th in BASELINE_THRESHOLDS:
        scores = {c.name: bcubed(baseline_clusters(links[c.name], th), c.gold) for c in chosen}
        kinds, worst = by_kind(chosen, scores), min(s[0] for s in scores.values())
        if best is None or better((kinds, worst), (best[1], best[2])):
            best = (th, kinds, worst)
    assert best is not None
    return best[0], best[1]
