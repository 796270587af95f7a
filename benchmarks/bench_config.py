"""Benchmark: loading a big config, ours against the loader it replaced, and compiling its watchlist.

Claim (issue 12, point 4): a config of 1,000 watches and 5,000 entities (about 17,000 lines) loads and
compiles in under 0.5 s.  The script writes such a file (fixed seed) into a temporary directory and times, in
the same run:

* **ours**: ``newswatch.config.load_config`` (one libyaml parse, checked while composing, constructed from the
  same node tree, validated);
* **baseline**: the approach it replaced: PyYAML's pure-Python loader twice (``yaml.compose`` for line numbers,
  then ``yaml.safe_load`` for the data) and the same pydantic validation;
* for reference, PyYAML's ``CSafeLoader`` alone (libyaml with its C composer, no checks, no validation): what
  the checks and the validation cost on top of the fastest plain load;
* ``compile_watches`` on the loaded config (the matcher's compile step; it belongs to the match stage and is
  timed separately).

Each figure is the best of several runs (the baseline, being slow, of fewer), in CPU seconds of this process
(``time.process_time``, steady under other load on the machine) with wall-clock seconds beside it.

    PYTHONPATH=src python benchmarks/bench_config.py            # 1,000 watches, 5,000 entities
    PYTHONPATH=src python benchmarks/bench_config.py --repeat 9
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from newswatch.config import Config, load_config
from newswatch.match import compile_watches

SEED = 20250307
SYLLABLES = "ka lo mi ra ven to shi par dun el ri sa bo no ak ze tur hal vin qua mor lei gan fos wey".split()
WORDS = (
    "talks agreement ceasefire election vote market prices economy bank report statement president meeting "
    "security aid deal plan health hospital strike union shares trade tariffs energy oil climate storm flood "
    "border envoy delegation negotiations hostages prisoners release sanctions investigation"
).split()


def name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def write_config(path: Path, n_entities: int, n_watches: int) -> int:
    """A config like a big newsroom's: entities with aliases (some with exclusions or fuzzy spelling), and
    watches combining them with words.  Returns the number of lines."""
    rng = random.Random(SEED)
    lines = [
        f"store: sqlite:///{path.parent / 'state.db'}",
        "max_item_age: 3d",
        "feeds:",
        *(f"  - {{url: https://news{i}.example/rss.xml, interval: 5m}}" for i in range(20)),
        "entities:",
    ]
    for i in range(n_entities):
        first, last = name(rng, 2), name(rng, 3)
        acronym = (first[0] + last[0]).upper() + str(i % 10)
        lines += [
            f"  e{i}:",
            f"    name: {first} {last}",
            f'    aliases: ["{first} {last}", "{last}", "{acronym}"]',
        ]
        if i % 25 == 0:
            lines.append(f'    exclude: ["{last} Street"]')
        if i % 40 == 0:
            lines.append("    fuzzy: true")
    lines.append("watches:")
    for i in range(n_watches):
        a, b = rng.randrange(n_entities), rng.randrange(n_entities)
        w1, w2 = rng.choice(WORDS), rng.choice(WORDS)
        query = rng.choice(
            [f"@e{a} AND ({w1} OR {w2})", f"@e{a} NEAR/8 @e{b}", f'"{w1} {w2}" AND @e{a}', f"@e{a} OR @e{b}"]
        )
        lines += [f"  - name: watch {i}", f"    query: '{query}'"]
    lines += ["notify:", f"  jsonl: {path.parent / 'alerts.jsonl'}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(CPU s, wall s, result) of the fastest of ``repeat`` runs."""
    cpu, wall, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        result = fn()
        cpu, wall = min(cpu, time.process_time() - c), min(wall, time.perf_counter() - w)
    return cpu, wall, result


def baseline(path: Path) -> Config:
    """The loader before issue 12: pure-Python compose for line numbers, pure-Python safe_load for data."""
    text = path.read_text(encoding="utf-8")
    yaml.compose(text, Loader=yaml.SafeLoader)
    return Config.model_validate(yaml.safe_load(text))


def plain_libyaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--entities", type=int, default=5000)
    ap.add_argument("--watches", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5, help="runs per figure (the baseline gets half)")
    args = ap.parse_args()
    if not getattr(yaml, "__with_libyaml__", False):
        print("warning: PyYAML has no libyaml here; ours falls back to the pure-Python parser")
    with tempfile.TemporaryDirectory(prefix="bench-config-") as tmp:
        path = Path(tmp) / "newswatch.yaml"
        n_lines = write_config(path, args.entities, args.watches)
        print(f"config: {args.entities:,} entities, {args.watches:,} watches, {n_lines:,} lines, seed {SEED}")
        ours_cpu, ours_wall, loaded = best(lambda: load_config(path, environ={}), args.repeat)
        base_cpu, base_wall, base_cfg = best(lambda: baseline(path), max(1, args.repeat // 2))
        plain_cpu, plain_wall, _ = best(lambda: plain_libyaml(path), args.repeat)
        cfg = loaded.config
        assert cfg.model_dump(exclude={"feeds"}) == base_cfg.model_dump(exclude={"feeds"}), "loaders disagree"
        comp_cpu, comp_wall, _ = best(lambda: compile_watches(cfg.entities, cfg.watches), args.repeat)

    print("CPU seconds (wall clock in brackets), best of the runs")
    print(f"  baseline load (pure-Python compose + safe_load, validate): {base_cpu:6.3f}  ({base_wall:.3f})")
    print(f"  ours load (load_config: libyaml, checked, validated)     : {ours_cpu:6.3f}  ({ours_wall:.3f})")
    print(
        f"  reference: CSafeLoader alone (no checks, no validation)  : {plain_cpu:6.3f}  ({plain_wall:.3f})"
    )
    print(f"  compile_watches                                          : {comp_cpu:6.3f}  ({comp_wall:.3f})")
    print(f"  load speed-up vs baseline : {base_cpu / ours_cpu:6.1f}x")
    total = ours_cpu + comp_cpu
    verdict = "met" if total < 0.5 else "NOT met"
    print(
        f"  load + compile            : {total:6.3f} s CPU  ({ours_wall + comp_wall:.3f} s wall)  target < 0.5 s: {verdict}"
    )


if __name__ == "__main__":
    main()
