"""Honest evaluation of story grouping: nested leave-topics-out CV through ``newswatch replay``, with the naive
baseline and today's algorithm (from git) in the same run.

    pip install -e '.[train]'
    PYTHONPATH=src python benchmarks/eval_stories.py [../shared/data/ecbplus-dev.jsonl] \\
        [--uci ../shared/data/uci-news-subset.csv] [--folds 7] [--inner 4] [--seed 0] [--today REV]

ECB+ (no dates; every item gets one publication time): the dev topics are split into ``--folds`` outer folds of
whole topics.  In each outer fold *everything* of the learned model (configuration and threshold) is chosen by
an inner leave-topics-out CV over the training topics only (storycv.py: in memory, the rule the shipped
weights use, best mean F1, and two others for comparison), refitted on the training topics and written as a
weights file.  Then the **real path**: the whole file (42 events) is replayed as one stream by ``newswatch
replay`` (SQLite, a catch-all watch, ``stories.weights`` set to that fold's file, document frequencies learned
online from a cold store) and only the held-out topics are scored (B-cubed; their stories counted in full, so
merging a held-out report into another topic's story costs precision).  The in-memory figure of the same
model (document frequencies counted over the whole file first) is printed beside it.

In the same run, on the same stream and the same scored items:

* **today's algorithm** (``--today``, default the commit before the learned model): its own ``newswatch
  replay``, extracted from git, once per threshold of a grid; its threshold is chosen per outer fold by the same
  inner CV (best mean F1 over the inner folds' topics in that replay), and it is also scored at its shipped
  default (0.375, chosen on half of these topics: optimistic);
* **the naive baseline**: scikit-learn TF-IDF (sublinear tf, English stop words), cosine, online single-link, at
  0.2 and at the threshold its own inner CV chose.

UCI headlines (dated, titles only) are reported separately, in memory (as in storycv.py): 5 folds of whole
stories, the configuration chosen on all ECB+ topics, fitted on ECB+ and the other folds' UCI stories.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from storycv import RULES, Corpus, choose, choose_baseline, pick, topic_folds, train
from storyreplay import checkout, replay_stories
from storysim import (
    HARNESS_PARAMS,
    baseline_clusters,
    baseline_links,
    bcubed,
    load_ecb,
    load_uci,
    oracle_queries,
    profiles,
    weights_dict,
)

UCI_STRIDE = 3
SHIPPED_RULE = "best-F1"
TODAY = "baf932a"  # the last commit before the learned model replaced today's algorithm
TODAY_THRESHOLDS = (0.25, 0.3, 0.325, 0.35, 0.375, 0.4, 0.425, 0.45, 0.5)
TODAY_DEFAULT = 0.375
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
Score = tuple[float, float, float]


def fmt(name: str, scores: Sequence[Score]) -> str:
    cols = []
    for j, label in enumerate(("P", "R", "F1")):
        vals = [s[j] for s in scores]
        sd = statistics.pstdev(vals) if len(vals) > 1 else 0.0
        cols.append(f"{label} {statistics.fmean(vals):.3f} ±{sd:.3f} [{min(vals):.3f}–{max(vals):.3f}]")
    return f"  {name:<34} " + "   ".join(cols)


def line(s: Score) -> str:
    return f"P {s[0]:.3f} R {s[1]:.3f} F1 {s[2]:.3f}"


def inner_f1(pred: Sequence[str], gold: Sequence[str], inner: Sequence[Sequence[int]]) -> float:
    """Mean F1 over the inner folds' items (each fold's items scored within the whole stream)."""
    return statistics.fmean(bcubed(pred, gold, idx)[2] for idx in inner)


def ecb(args: argparse.Namespace, tmp: Path) -> None:
    params = HARNESS_PARAMS
    docs = load_ecb(args.ecb)
    corpus = Corpus(docs, profiles(docs, params))
    uci_queries = []
    if args.uci:
        udocs = load_uci(args.uci)
        uci_queries = oracle_queries(profiles(udocs, params), [d.gold for d in udocs], params, "uci")[
            ::UCI_STRIDE
        ]
    topics = sorted({d.group for d in docs})
    gold = [d.gold for d in docs]
    items = [d.item for d in docs]
    stream = list(range(len(docs)))
    folds = topic_folds(topics, args.folds, args.seed)
    print(f"ECB+ dev: {len(docs)} articles, {len({*gold})} events, {len(topics)} topics; {args.folds} outer folds, "
          f"{args.inner} inner folds, seed {args.seed}; the whole file replayed as one stream")  # fmt: skip
    t0 = time.time()
    today_src = checkout(args.today, tmp)
    today = {th: replay_stories(items, src=today_src, stories={"threshold": th}) for th in TODAY_THRESHOLDS}
    print(
        f"  today's algorithm ({args.today}): {len(TODAY_THRESHOLDS)} real-path replays, {time.time() - t0:.0f} s"
    )
    links = baseline_links([d.item.text for d in docs], [d.item.text for d in docs])
    real: list[Score] = []
    mem: dict[str, list[Score]] = {rule: [] for rule in RULES}
    today_cv: list[Score] = []
    today_default: list[Score] = []
    base20: list[Score] = []
    basecv: list[Score] = []
    for k, held in enumerate(folds):
        train_topics = [t for t in topics if t not in held]
        test = corpus.where(held)
        results = choose(corpus, train_topics, uci_queries, params, args.inner, args.seed)
        train_idx = corpus.where(train_topics)
        base = corpus.queries(train_idx, params, "ecb")
        print(f"  fold {k}: held-out topics {','.join(sorted(held, key=int))} ({len(test)} articles)")
        for rule in RULES:
            cfg, th, ip, if1 = pick(results, rule)
            model = train(corpus, train_idx, base, uci_queries if cfg.uci else [], cfg, params, th, args.seed)
            mem[rule].append(corpus.score(test, model, stream))
            print(f"    ours in memory, {rule:<15} {cfg.label()} t={th:.2f} (inner P {ip:.3f} F1 {if1:.3f}): "
                  f"{line(mem[rule][-1])}")  # fmt: skip
            if rule == SHIPPED_RULE:
                # The fold's weights keep the warm threshold as their cold one: the replay's first batch
                # (REPLAY_BATCH, 200 items) already counts min_docs items, so no ECB+ item is weighed cold.
                weights = tmp / f"fold{k}.json"
                weights.write_text(json.dumps(weights_dict(model, {"config": cfg.label(), "fold": k})))
                real.append(bcubed(replay_stories(items, stories={"weights": str(weights)}), gold, test))
                print(f"    ours, real path (newswatch replay), {rule}: {line(real[-1])}", flush=True)
        inner = [corpus.where(f) for f in topic_folds(train_topics, args.inner, args.seed)]
        th = max(TODAY_THRESHOLDS, key=lambda t: (inner_f1(today[t], gold, inner), t))
        today_cv.append(bcubed(today[th], gold, test))
        today_default.append(bcubed(today[TODAY_DEFAULT], gold, test))
        print(f"    today, real path, CV threshold {th:.3f}: {line(today_cv[-1])};  at {TODAY_DEFAULT}: "
              f"{line(today_default[-1])}")  # fmt: skip
        bth = choose_baseline(corpus, train_topics, args.inner, args.seed)
        base20.append(bcubed(baseline_clusters(links, 0.2), gold, test))
        basecv.append(bcubed(baseline_clusters(links, bth), gold, test))
        print(
            f"    baseline at 0.2: {line(base20[-1])};  at its CV threshold {bth:.2f}: {line(basecv[-1])}",
            flush=True,
        )
    print(f"ECB+ leave-topics-out, mean ±std [min–max] over {args.folds} folds ({time.time() - t0:.0f} s):")
    print(fmt(f"ours, real path ({SHIPPED_RULE})", real))
    for rule in RULES:
        print(fmt(f"ours in memory ({rule})", mem[rule]))
    print(fmt("today, real path, CV threshold", today_cv))
    print(fmt(f"today, real path, at {TODAY_DEFAULT}", today_default))
    print(fmt("baseline at 0.2", base20))
    print(fmt("baseline at CV threshold", basecv))
    f = statistics.fmean(s[2] for s in real)
    for name, other in (
        ("the CV-chosen baseline", basecv),
        ("the baseline at 0.2", base20),
        ("today (CV)", today_cv),
    ):
        print(f"  F1 of ours (real path) minus {name}: {f - statistics.fmean(s[2] for s in other):+.3f}")


def uci(args: argparse.Namespace) -> None:
    params = HARNESS_PARAMS
    docs = load_ecb(args.ecb)
    corpus = Corpus(docs, profiles(docs, params))
    udocs = load_uci(args.uci)
    ucorpus = Corpus(udocs, profiles(udocs, params))
    uq = oracle_queries(ucorpus.profs, [d.gold for d in udocs], params, "uci")[::UCI_STRIDE]
    topics = sorted({d.group for d in docs})
    cfg, th, p, f = pick(choose(corpus, topics, uq, params, args.folds, args.seed), SHIPPED_RULE)
    print(
        f"UCI: configuration chosen on all ECB+ topics ({SHIPPED_RULE}; CV P {p:.3f} F1 {f:.3f}): {cfg.label()} t={th:.2f}"
    )
    all_idx = list(range(len(docs)))
    ecb_queries = corpus.queries(all_idx, params, "ecb")
    stories = sorted({d.group for d in udocs})
    folds = topic_folds(stories, args.uci_folds, args.seed)
    fit_texts = [d.item.text for d in udocs]
    ours, base = [], []
    for k, held in enumerate(folds):
        test = ucorpus.where(held)
        other_q = ucorpus.queries(ucorpus.where(held, keep=False), params, "uci")[::UCI_STRIDE]
        model = train(corpus, all_idx, ecb_queries, other_q, cfg, params, th, args.seed)
        ours.append(ucorpus.score(test, model))
        others = [
            (baseline_links([udocs[i].item.text for i in ucorpus.where(g)], fit_texts), [udocs[i].gold for i in ucorpus.where(g)])
            for j, g in enumerate(folds)
            if j != k
        ]  # fmt: skip
        cands = [t / 100 for t in range(5, 95, 5)]
        bt = max(
            cands, key=lambda t: statistics.fmean(bcubed(baseline_clusters(lk, t), g)[2] for lk, g in others)
        )
        links = baseline_links([udocs[i].item.text for i in test], fit_texts)
        base.append(bcubed(baseline_clusters(links, bt), [udocs[i].gold for i in test]))
        print(
            f"  fold {k}: {len(test)} headlines: ours {line(ours[-1])}; baseline (t={bt:.2f}) {line(base[-1])}",
            flush=True,
        )
    print(f"UCI headlines, {args.uci_folds} folds of whole stories, in memory, mean ±std [min–max]:")
    print(fmt("ours", ours))
    print(fmt("baseline at CV threshold", base))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ecb", nargs="?", type=Path, default=DATA / "ecbplus-dev.jsonl")
    ap.add_argument("--uci", type=Path, help="UCI headlines CSV: training pairs, and reported separately")
    ap.add_argument("--folds", type=int, default=7)
    ap.add_argument("--inner", type=int, default=4)
    ap.add_argument("--uci-folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--today", default=TODAY, help="git revision of today's algorithm (default %(default)s)")
    ap.add_argument("--no-ecb", action="store_true", help="skip the ECB+ cross-validation")
    args = ap.parse_args(argv)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="eval-stories-") as tmp:
        if not args.no_ecb:
            ecb(args, Path(tmp))
    if args.uci is not None:
        uci(args)
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
