"""CPU per item per stage, and Redis commands and round trips per feed batch: the figures capacity is planned from.

    python benchmarks/bench_stages.py [--feeds 200] [--items 20] [--watch all|rare]

Generated news-length feeds (the same as bench_poll.py) go through each stage in this one process, timed with
the process's CPU clock (all threads), so the machine's other load inflates the figures less than wall time:

* worker side (runs in the pool, once per feed body): parse (``parse_feed``), match (``Matcher.match``),
  story sketch (terms + MinHash bands, matched items only);
* recording side (the main process): weigh (the item's profile under document frequencies learned from the
  same items), and ``Store.record`` per feed batch on SQLite and on Redis (a throwaway redis-server), every item
  in a story with ``--watch all``; the story decision (reading candidate records, scoring them with the learned
  model) is inside ``Store.record``.  On Redis, ``INFO commandstats`` and ``INFO cpu`` before and after give the script calls
  (round trips), the commands they run and the server's CPU per item.

Baseline in the same run: feedparser's parse of the same bodies (the floor's parser), so the stage figures can be
read against the work any feed reader does.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import io
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_HERE = Path(__file__).parent


def _bench_poll() -> Any:
    spec = importlib.util.spec_from_file_location("bench_poll", _HERE / "bench_poll.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cpu(fn: Any, *args: Any) -> tuple[float, Any]:
    start = time.process_time()
    out = fn(*args)
    return time.process_time() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--watch", choices=["all", "rare"], default="all")
    args = parser.parse_args()

    import feedparser

    from newswatch.config import EntityConfig, WatchConfig
    from newswatch.feeds.parse import parse_feed
    from newswatch.match import compile_watches
    from newswatch.stories import DocFreq, default_model, weigh
    from newswatch.stories.sketch import sketch

    params = default_model().params

    bp = _bench_poll()
    now = datetime.now(UTC)
    bodies = [bp.make_feed(f, args.items, now) for f in range(args.feeds)]
    n = args.feeds * args.items
    entities = {"us": EntityConfig(aliases=["United States", "US", "U.S.", "Washington", "White House"]),
                "hamas": EntityConfig(aliases=["Hamas"])}  # fmt: skip
    watches = (
        [WatchConfig(name="Everything", query="*")]
        if args.watch == "all"
        else [WatchConfig(name="talks", query="@us AND @hamas AND (talks OR negotiations)"),
              WatchConfig(name="floods", query='flooded OR "heavy rain"')]
    )  # fmt: skip
    matcher = compile_watches(entities, watches)

    floor_s, _ = _cpu(lambda: [feedparser.parse(io.BytesIO(b)) for b in bodies])
    parse_s, parsed = _cpu(lambda: [parse_feed(b, f"http://x/{i}", None, now) for i, b in enumerate(bodies)])
    items = [item for p in parsed for item in p.items]
    match_s, matches = _cpu(lambda: [matcher.match(i) for i in items])
    matched = [(i, m) for i, m in zip(items, matches, strict=True) if m]
    sketch_s, sketches = _cpu(lambda: [sketch(i, params) for i, _ in matched])
    df = DocFreq().with_batch(s.terms for s in sketches)  # warm: every term's frequency known
    weigh_s, features = _cpu(lambda: [weigh(s, df, params) for s in sketches])

    print(
        f"{args.feeds} feeds × {args.items} items = {n} items; {len(matched)} matched (watch {args.watch!r})\n"
    )
    print(f"{'stage (CPU of this process)':44} {'ms per item':>12}")
    rows = [
        ("baseline: feedparser.parse (defaults)", floor_s / n),
        ("parse_feed (lxml fast path)", parse_s / n),
        ("match", match_s / n),
        ("story sketch (per matched item)", sketch_s / max(1, len(matched))),
        ("weigh (per matched item)", weigh_s / max(1, len(matched))),
    ]
    for label, seconds in rows:
        print(f"{label:44} {seconds * 1000:12.3f}")
    worker = (parse_s + match_s + sketch_s) / n
    print(
        f"{'worker side, all stages, per item':44} {worker * 1000:12.3f}   ({worker / (floor_s / n):.2f}× feedparser)"
    )

    asyncio.run(_stores(args, items, matches, features, matched))


async def _stores(args: argparse.Namespace, items: list[Any], matches: list[Any], features: list[Any],
                  matched: list[Any]) -> None:  # fmt: skip
    from newswatch.store import Sighted, Sighting, WatchClaim, open_store
    from newswatch.stories import BatchStories, default_model

    bp = _bench_poll()
    by_item = {id(i): f for (i, _), f in zip(matched, features, strict=True)}
    batches: list[list[Sighted]] = []
    for start in range(0, len(items), args.items):  # one batch per feed, as the service records them
        batch = []
        for item, ms in zip(
            items[start : start + args.items], matches[start : start + args.items], strict=True
        ):
            claims = tuple(
                WatchClaim(
                    m.watch, ("jsonl",), {"watch": m.watch, "title": item.title}, by_item.get(id(item))
                )
                for m in ms
            )
            at = (item.published or datetime.now(UTC)).timestamp()
            batch.append(Sighted(Sighting(item.keys, "fp-" + item.keys[0], len(item.text), 3e6, at), claims))
        batches.append(batch)
    n = len(items)
    print(
        f"\n{'Store.record, one batch per feed':44} {'ms CPU/item':>12} {'ms wall/item':>13}  Redis per batch"
    )
    with tempfile.TemporaryDirectory() as tmp:
        redis = bp.RedisServer(tmp)
        try:
            for name, url in (("SQLite", f"sqlite:///{tmp}/state.db"), ("Redis", redis.url)):
                store = open_store(url)
                calls0, cpu0 = redis.calls(), _redis_cpu(redis)
                wall, cpu = time.perf_counter(), time.process_time()
                for batch in batches:
                    await store.record(batch, BatchStories({}, default_model()))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                await store.close()
                extra = ""
                if name == "Redis":
                    calls = {k: v - calls0.get(k, 0) for k, v in redis.calls().items()}
                    scripts = calls.get("evalsha", 0) + calls.get("eval", 0)
                    commands = sum(
                        v for k, v in calls.items() if k not in ("evalsha", "eval", "info", "ping")
                    )
                    server = _redis_cpu(redis) - cpu0
                    extra = (f"{scripts / len(batches):.2f} round trips, {commands / len(batches):.0f} commands "
                             f"inside scripts ({commands / n:.1f} per item); server CPU {server * 1000 / n:.3f} "
                             f"ms per item → one Redis core carries ~{n / server:,.0f} items/s of this load")  # fmt: skip
                print(f"{name:44} {cpu * 1000 / n:12.3f} {wall * 1000 / n:13.3f}  {extra}")
        finally:
            redis.stop()


def _redis_cpu(redis: Any) -> float:
    info = redis.command("INFO", "cpu")
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    return float(fields.get("used_cpu_user", 0)) + float(fields.get("used_cpu_sys", 0))


if __name__ == "__main__":
    main()
