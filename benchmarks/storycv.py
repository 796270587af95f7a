"""Leave-topics-out cross-validation for the story model: choosing the configuration and the threshold.

Shared by train_stories.py (chooses on every ECB+ dev topic, then fits the shipped weights) and
eval_storymodel.py (runs that whole choice inside each outer fold, so the held-out topics never influence it).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from newswatch.stories import ItemProfile, StoryModel, StoryParams
from newswatch.stories.sketch import item_profile
from storysim import (
    Config,
    Doc,
    Query,
    baseline_clusters,
    baseline_links,
    bcubed,
    fit,
    model_queries,
    oracle_queries,
    replay,
    with_threshold,
)

GRID: tuple[Config, ...] = tuple(
    Config(c=1.0, new_model=new, drop=drop, uci=True, rounds=rounds, min_body=floor)
    for new, drop, rounds, floor in itertools.product(
        (True, False), ((), ("lead_name", "story_lead")), (0, 1), (0.02, 0.1)
    )
)
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# The cold threshold is chosen for fixed weights, so a finer grid costs only replays.
COLD_THRESHOLDS = tuple(t / 1000 for t in range(100, 901, 25))
BASELINE_THRESHOLDS = tuple(t / 100 for t in range(5, 60))
MIN_PRECISION = 0.95  # precision first: merging two events hides an alert


def topic_folds(groups: Sequence[str], k: int, seed: int) -> list[list[str]]:
    """``k`` folds of whole topics, assigned round-robin after a seeded shuffle."""
    topics = sorted(set(groups), key=lambda g: (len(g), g))
    random.Random(seed).shuffle(topics)
    return [topics[i::k] for i in range(k)]


@dataclass
class Corpus:
    docs: Sequence[Doc]
    profs: Sequence[ItemProfile]

    def where(self, topics: Sequence[str], keep: bool = True) -> list[int]:
        chosen = set(topics)
        return [i for i, d in enumerate(self.docs) if (d.group in chosen) == keep]

    def queries(self, idx: Sequence[int], params: StoryParams, corpus: str) -> list[Query]:
        return oracle_queries([self.profs[i] for i in idx], [self.docs[i].gold for i in idx], params, corpus)

    def score(
        self, idx: Sequence[int], model: StoryModel, stream: Sequence[int] | None = None
    ) -> tuple[float, float, float]:
        """B-cubed of the items ``idx``.  With ``stream`` (file order, containing ``idx``), the whole stream is
        replayed and only ``idx`` is scored, its stories counted in full: merging a scored item into another
        topic's story costs precision, as it would in a watch with many unrelated stories."""
        order = list(idx) if stream is None else list(stream)
        pred = replay([self.profs[i] for i in order], model)
        gold = [self.docs[i].gold for i in order]
        if stream is None:
            return bcubed(pred, gold)
        scored = set(idx)
        return bcubed(pred, gold, [n for n, i in enumerate(order) if i in scored])


Results = dict[tuple[Config, float], list[tuple[float, float, float]]]
RULES = ("precision-first", "F0.5", "best-F1")


def _f_half(p: float, r: float) -> float:
    return 1.25 * p * r / (0.25 * p + r) if p + r else 0.0


def pick(results: Results, rule: str = "precision-first") -> tuple[Config, float, float, float]:
    """Choose (config, threshold) from inner-CV results; returns them with their mean P and mean F1.

    ``precision-first``: best mean F1 among the points with mean precision >= MIN_PRECISION, or the best mean
    precision if none reaches it.  ``F0.5``: best F-beta (beta 0.5) of mean precision and mean recall.
    ``best-F1``: best mean F1 (the rule the baseline's threshold is chosen by).
    """
    rows = []
    for (cfg, th), scores in results.items():
        p = sum(s[0] for s in scores) / len(scores)
        f = sum(s[2] for s in scores) / len(scores)
        rows.append((cfg, th, p, f))
    if rule == "best-F1":
        return max(rows, key=lambda r: (r[3], r[2]))
    if rule == "F0.5":  # precision weighs more than recall, without a hard floor
        means = {
            (cfg, th): [sum(s[j] for s in sc) / len(sc) for j in range(3)]
            for (cfg, th), sc in results.items()
        }
        cfg, th = max(means, key=lambda k: (_f_half(means[k][0], means[k][1]), means[k][0]))
        return cfg, th, means[cfg, th][0], means[cfg, th][2]
    ok = [r for r in rows if r[2] >= MIN_PRECISION]
    return max(ok, key=lambda r: r[3]) if ok else max(rows, key=lambda r: (r[2], r[3]))


def train(
    ecb: Corpus,
    idx: Sequence[int],
    base: Sequence[Query],
    uci_queries: Sequence[Query],
    cfg: Config,
    params: StoryParams,
    threshold: float,
    seed: int,
) -> StoryModel:
    """Fit on the oracle queries ``base`` of ``idx`` (+ UCI), then ``cfg.rounds`` times add the states the model
    itself makes when it replays ``idx`` (at threshold 0.5) and refit."""
    queries = [*base, *uci_queries]
    model = fit(queries, cfg, params, 0.5, seed)
    profs, gold = [ecb.profs[i] for i in idx], [ecb.docs[i].gold for i in idx]
    for _ in range(cfg.rounds):
        queries += model_queries(profs, gold, model, "ecb")
        model = fit(queries, cfg, params, 0.5, seed)
    return with_threshold(model, threshold)


def choose(
    ecb: Corpus,
    topics: Sequence[str],
    uci_queries: Sequence[Query],
    params: StoryParams,
    folds: int,
    seed: int,
    grid: Sequence[Config] = GRID,
) -> Results:
    """Every (config, threshold) scored by leave-topics-out CV over ``topics`` only."""
    results: Results = {}
    stream = ecb.where(topics)  # the held-out topics are scored inside the stream of all these topics
    for held in topic_folds(topics, folds, seed):
        train_idx = [i for i in stream if ecb.docs[i].group not in held]
        test = ecb.where(held)
        base = ecb.queries(train_idx, params, "ecb")
        for cfg in grid:
            model = train(ecb, train_idx, base, uci_queries if cfg.uci else [], cfg, params, 0.5, seed)
            for th in THRESHOLDS:
                results.setdefault((cfg, th), []).append(ecb.score(test, with_threshold(model, th), stream))
    return results


def choose_baseline(ecb: Corpus, topics: Sequence[str], folds: int, seed: int) -> float:
    """The baseline's threshold with the best mean F1 over the inner folds (scored inside the stream of all
    ``topics``, as ours is): its own best rule."""
    fit_texts = [d.item.text for d in ecb.docs]
    sums = dict.fromkeys(BASELINE_THRESHOLDS, 0.0)
    stream = ecb.where(topics)
    links = baseline_links([ecb.docs[i].item.text for i in stream], fit_texts)
    gold = [ecb.docs[i].gold for i in stream]
    for held in topic_folds(topics, folds, seed):
        scored = [n for n, i in enumerate(stream) if ecb.docs[i].group in held]
        for th in BASELINE_THRESHOLDS:
            sums[th] += bcubed(baseline_clusters(links, th), gold, scored)[2]
    return max(BASELINE_THRESHOLDS, key=lambda t: (sums[t], -t))


def choose_cold(
    docs: Sequence[Doc], topics: Sequence[str], model: StoryModel, folds: int, seed: int
) -> tuple[float, float, float]:
    """The cold threshold of ``model``: its best mean F1 over ``folds`` folds of ``topics`` (each fold's items
    scored inside the stream of all ``topics``), with profiles weighed without document frequencies, as a
    fresh deployment weighs its first items.  Returns (threshold, mean P, mean F1); ties: the higher one."""
    chosen = set(topics)
    stream = [d for d in docs if d.group in chosen]
    profs = [item_profile(d.item, None, model.params) for d in stream]
    gold = [d.gold for d in stream]
    parts = [
        [n for n, d in enumerate(stream) if d.group in held] for held in topic_folds(topics, folds, seed)
    ]
    best = (0.0, 0.0, 0.0)
    for th in COLD_THRESHOLDS:
        pred = replay(profs, replace(model, cold_threshold=th))
        scores = [bcubed(pred, gold, part) for part in parts]
        p, f = (sum(s[j] for s in scores) / len(scores) for j in (0, 2))
        if (f, th) > (best[2], best[0]):
            best = (th, p, f)
    return best
