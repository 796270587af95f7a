"""Benchmark: issue 11's big item, matched and explained, the matcher before issue 11 against ours.

The item is 600 KB: ``"Zarquon and Hamas held talks. " * 20000`` (100,000 words), against the watch
``Zarquon AND (talks OR Hamas)``; a second watch, ``Zarquon NEAR/2 Hamas``, exercises NEAR on as many
occurrences.  Claim (issue 11 point 2): ours matches and explains the whole item in well under 1 s.

The baseline is the matching code before issue 11 (``--baseline REF``, loaded from git: see baseline.py).  It is
quadratic in the number of hits (issue 11 measured ~89 s for the whole item in ``newswatch match``), so it runs
on smaller multiples of the sentence (``--baseline-sizes``, by default 500, 1,000 and 2,000 sentences) and ours
runs on the same multiples and on the whole item; the ratios are printed for the common sizes.  Last,
``newswatch match`` itself (``run_match`` in-process, reading the item from a file) on the whole item.

Times are CPU seconds of this process (``time.process_time``: steady under load from other processes), with
wall-clock seconds in brackets.

    python benchmarks/bench_big_item.py
    python benchmarks/bench_big_item.py --baseline-sizes 500,1000,2000,4000   # a slower, longer baseline
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baseline import BEFORE_ISSUES_11_15, load_baseline
from newswatch.cli.match import run_match
from newswatch.config import WatchConfig
from newswatch.match import compile_watches
from newswatch.models import Item

SENTENCE = "Zarquon and Hamas held talks. "
WHOLE = 20000
WATCHES = [
    WatchConfig(name="issue 11", query="Zarquon AND (talks OR Hamas)"),
    WatchConfig(name="near", query="Zarquon NEAR/2 Hamas"),
]


def item_of(sentences: int) -> Item:
    return Item(
        title="Weekly digest", url="https://example.org/big", source="bench", content=SENTENCE * sentences
    )


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(CPU seconds, wall seconds, result) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def measure(compile_fn: Callable[..., Any], sentences: int) -> tuple[float, float, float, float]:
    """(match CPU, match wall, explain CPU, explain wall) of both watches on an item of ``sentences``."""
    matcher = compile_fn({}, WATCHES)
    matcher.match(item_of(10))  # warm the caches on a small item
    item = item_of(sentences)
    m_cpu, m_wall, matched = timed(lambda: matcher.match(item))
    e_cpu, e_wall, explained = timed(lambda: matcher.explain(item))
    if [m.watch for m in matched] != [w.name for w in WATCHES] or not all(e.matched for e in explained):
        raise SystemExit(f"wrong answer on {sentences} sentences: {matched}")
    return m_cpu, m_wall, e_cpu, e_wall


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--baseline", default=BEFORE_ISSUES_11_15, help="git revision of the baseline matcher")
    ap.add_argument("--baseline-sizes", default="500,1000,2000", help="sentence counts for the baseline")
    args = ap.parse_args()
    sizes = [int(s) for s in args.baseline_sizes.split(",")]
    base = load_baseline(args.baseline)

    print(f"item: {SENTENCE!r} x N; watches: {', '.join(w.query for w in WATCHES)}")
    print(f"baseline: the matcher at git {args.baseline}; times: CPU s (wall s)")
    print()
    print(
        f"{'sentences':>9} {'KB':>6}   {'baseline match':>16} {'explain':>16}   {'ours match':>14} {'explain':>14}   ratio"
    )
    for n in sizes:
        b = measure(base.compile_watches, n)
        o = measure(compile_watches, n)
        kb = len(SENTENCE) * n / 1000
        print(
            f"{n:9,} {kb:6.0f}   {b[0]:7.3f} ({b[1]:6.3f}) {b[2]:7.3f} ({b[3]:6.3f})   "
            f"{o[0]:6.3f} ({o[1]:5.3f}) {o[2]:6.3f} ({o[3]:5.3f})   {(b[0] + b[2]) / (o[0] + o[2]):6.1f}x"
        )
    whole = measure(compile_watches, WHOLE)
    kb = len(SENTENCE) * WHOLE / 1000
    print(
        f"{WHOLE:9,} {kb:6.0f}   {'(not run)':>16} {'':>16}   "
        f"{whole[0]:6.3f} ({whole[1]:5.3f}) {whole[2]:6.3f} ({whole[3]:5.3f})"
    )

    with tempfile.TemporaryDirectory(prefix="bench-big-") as tmp:
        config, article = Path(tmp) / "watch.yaml", Path(tmp) / "big.txt"
        lines = [f"  - {{name: {w.name!r}, query: {w.query!r}}}" for w in WATCHES]
        config.write_text("watches:\n" + "\n".join(lines) + "\n", encoding="utf-8")
        article.write_text("Weekly digest\n" + SENTENCE * WHOLE, encoding="utf-8")
        cpu, wall, code = timed(lambda: run_match(str(config), [str(article)], False, out=io.StringIO()))
        if code != 0:
            raise SystemExit(f"newswatch match exited with {code}")
    print()
    print(f"the whole {kb:.0f} KB item, ours:")
    print(f"  match (both watches)       : {whole[0]:.3f}s CPU ({whole[1]:.3f}s wall)")
    print(f"  explain (both watches)     : {whole[2]:.3f}s CPU ({whole[3]:.3f}s wall)")
    print(
        f"  newswatch match FILE       : {cpu:.3f}s CPU ({wall:.3f}s wall)   (target < 1 s; config load included)"
    )
    print("  baseline on the whole item : not run (quadratic: ~89 s in issue 11's report)")


if __name__ == "__main__":
    main()
