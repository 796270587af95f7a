"""Benchmark: the matching engine against a naive matcher, and 1 watch against 1,000.

Claim (issue 3): with 5,000 entities (10,000 aliases) and 1,000 watches, matching runs at >= 5,000 items/s on
one core, >= 20x a naive matcher (one compiled regex per alias and term, every watch evaluated for every item),
and going from 1 to 1,000 watches costs <= 1.5x end to end.  Everything is generated from a fixed seed, so runs
compare.  Figures printed:

* the match stage (``Matcher.match``) with 1,000 watches and with 1, and the naive matcher, in items/s of
  CPU time (``time.process_time``: one core's work, steady under other load on the machine; wall-clock rates
  are printed beside them).  The matcher re-plans its presearch triggers from observed frequencies after 256,
  1,024 and 4,096 items: those re-plans happen inside the timed run, as they would in a fresh process;
* end to end, ``newswatch run -c CFG --once`` in-process on N local feed files (200 feeds x 50 items, or
  40 x 25 with --quick) with 1 watch and with 1,000, each on a fresh SQLite store, alerts to a JSONL file,
  ``max_item_age: null``.  The config carries every entity both times; only the watchlist differs.  CPU is
  the process's and its worker pool's (sampled from /proc, see proctree.py), where matching now runs;

* the cost of script-aware normalisation (issue 15) and of the other matching changes since (issues 11): the
  matcher of an earlier commit (``--baseline REF``, by default the one before that work; see baseline.py) and
  ours, compiled from the same watchlist and timed on the same items in the same run, interleaved in chunks so
  that load from other processes falls on both alike; the same on items written in several scripts.

The naive baseline is given every advantage: each regex is searched at most once per item (memoised), NEAR is
treated as AND and exclusions and field scopes are ignored; it is timed on a slice of the items because it is
slow, and items/s is comparable across slice sizes.

    python benchmarks/bench_match.py            # full run (a few minutes)
    python benchmarks/bench_match.py --quick    # smaller run for a smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

from baseline import BEFORE_ISSUES_11_15, load_baseline
from newswatch.cli import main as cli_main
from newswatch.config import EntityConfig, WatchConfig
from newswatch.match import compile_watches
from newswatch.match.query import And, EntityRef, Near, Node, Not, Or, Scope, Term, parse
from newswatch.models import Item
from proctree import TreeSampler

SEED = 20250307
_COMMON_TEXT = (
    "the of and to in a is that for on was with he it as at by from his an were are which this be has had not "
    "but they have their one its also after new first who been more other into than two year would can said "
    "there when over time all some about people could only most them may up out what so year week government "
    "officials minister said talks agreement ceasefire police court election vote market prices economy bank "
    "report according statement president leaders meeting security forces military attack aid deal plan "
    "health hospital school students workers strike union company shares profit loss trade tariffs energy "
    "oil gas climate storm flood fire city region border country state capital village coast river island "
    "spokesman envoy delegation mediators negotiations hostages prisoners release sanctions investigation"
)
COMMON = _COMMON_TEXT.split()  # by rough frequency: the first hundred are function words
_SYLLABLE_TEXT = "ka lo mi ra ven to shi par dun el ri sa bo no ak ze tur hal vin qua mor lei gan fos wey"
SYLLABLES = _SYLLABLE_TEXT.split()


def pseudo_word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts))


def make_entities(rng: random.Random, n: int) -> dict[str, EntityConfig]:
    entities: dict[str, EntityConfig] = {}
    for i in range(n):
        first, last = pseudo_word(rng, 2).title(), pseudo_word(rng, 3).title()
        if i % 3 == 0:  # an organisation with an acronym: "Kolo Venra Agency", "KVA"
            full = f"{first} {last} Agency"
            aliases: list[str] = [full, "".join(w[0] for w in full.split()) + str(i % 7 or "")]
        else:  # a person: "Rami Tovensha", "Tovensha"
            aliases = [f"{first} {last}", last]
        entities[f"e{i}"] = EntityConfig(name=aliases[0], aliases=aliases, fuzzy=(i % 20 == 0))
    return entities


def make_watches(rng: random.Random, n: int, n_entities: int) -> list[WatchConfig]:
    shapes: list[Callable[[], str]] = [
        lambda: (
            f"@e{rng.randrange(n_entities)} AND ({rng.choice(COMMON[100:])} OR {rng.choice(COMMON[100:])})"
        ),
        lambda: f"@e{rng.randrange(n_entities)} NEAR/8 @e{rng.randrange(n_entities)}",
        lambda: f'"{rng.choice(COMMON[100:])} {rng.choice(COMMON[100:])}" AND @e{rng.randrange(n_entities)}',
        lambda: f"title:@e{rng.randrange(n_entities)} NOT {rng.choice(COMMON[100:])}",
        lambda: f"@e{rng.randrange(n_entities)} OR @e{rng.randrange(n_entities)}",
        lambda: f"{pseudo_word(rng, 3)}* AND {rng.choice(COMMON[100:])}",
    ]
    return [WatchConfig(name=f"watch {i}", query=rng.choice(shapes)()) for i in range(n)]


def make_items(rng: random.Random, n: int, entities: dict[str, EntityConfig]) -> list[Item]:
    """News-length items: Zipf-distributed common words, rare words, and a few entity mentions each."""
    aliases = [[str(a) for a in e.aliases] for e in entities.values()]
    popularity = [1.0 / (r + 10) for r in range(len(aliases))]  # a few entities are in the news a lot
    tail = [pseudo_word(rng, rng.randint(2, 4)) for _ in range(3000)]
    weights = [1.0 / (r + 1) for r in range(len(COMMON))]

    def sentence(words: int) -> list[str]:
        out = rng.choices(COMMON, weights, k=words)
        for j in range(0, words, 6):
            out[j] = rng.choice(tail)
        return out

    def prose(sentences: list[list[str]]) -> str:
        text = " ".join(" ".join(s).capitalize() + "." for s in sentences)
        if rng.random() < 0.3:  # curly quotes and dashes, as in real copy
            text = text.replace(" said ", " said “", 1) + "” — she added."
        return text

    items = []
    for i in range(n):
        parts = [[sentence(10)], [sentence(rng.randint(10, 20)) for _ in range(2)]]
        parts.append([sentence(rng.randint(12, 25)) for _ in range(14)])
        for _ in range(rng.randint(1, 5)):  # entity mentions, most in the body
            names = rng.choices(aliases, popularity)[0]
            where = rng.choices(parts, [1, 2, 8])[0]
            s = rng.choice(where)
            s[rng.randrange(len(s))] = rng.choice(names)
        title, summary, content = (prose(p) for p in parts)
        items.append(
            Item(
                title=title, url=f"https://example.org/{i}", source="bench", summary=summary, content=content
            )
        )
    return items


# ----------------------------------------------------------------------------------------------------------------
# The naive baseline


class NaiveMatcher:
    """One compiled regex per alias and per term; every watch evaluated for every item."""

    def __init__(self, entities: dict[str, EntityConfig], watches: list[WatchConfig]) -> None:
        self.trees = [(w.name, parse(w.query)) for w in watches]
        self.alias_res = {
            name: [self._regex(str(a), str(a).isupper()) for a in e.aliases] for name, e in entities.items()
        }
        self.term_res: dict[Term, re.Pattern[str]] = {}

    @staticmethod
    def _regex(text: str, case: bool) -> re.Pattern[str]:
        return re.compile(r"\b" + re.escape(text) + r"\b", 0 if case else re.IGNORECASE)

    def match(self, item: Item) -> list[str]:
        text = item.text
        memo: dict[object, bool] = {}

        def ev(node: Node) -> bool:
            if isinstance(node, Term):
                if node not in memo:
                    if node not in self.term_res:
                        pattern = re.escape(node.text) + (r"\w*" if node.kind == "prefix" else r"\b")
                        self.term_res[node] = re.compile(r"\b" + pattern, re.IGNORECASE)
                    memo[node] = self.term_res[node].search(text) is not None
                return memo[node]
            if isinstance(node, EntityRef):
                if node.name not in memo:
                    memo[node.name] = any(r.search(text) for r in self.alias_res[node.name])
                return memo[node.name]
            if isinstance(node, And):
                return all(ev(c) for c in node.children)
            if isinstance(node, Or):
                return any(ev(c) for c in node.children)
            if isinstance(node, Not):
                return not ev(node.child)
            if isinstance(node, Near):
                return ev(node.left) and ev(node.right)
            if isinstance(node, Scope):
                return ev(node.child)
            return True

        return [name for name, tree in self.trees if ev(tree)]


def make_feeds(items: list[Item], per_feed: int = 50) -> list[bytes]:
    """The items as RSS documents, ``per_feed`` items each (the feed files of the end-to-end run)."""
    feeds = []
    for start in range(0, len(items), per_feed):
        entries = "".join(
            f"<item><title>{escape(i.title)}</title><link>{i.url}</link><guid>{i.url}</guid>"
            f"<description>{escape(i.summary)}</description>"
            f"<content:encoded>{escape('<p>' + i.content + '</p>')}</content:encoded></item>"
            for i in items[start : start + per_feed]
        )
        feeds.append(
            (
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
                'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>bench</title>'
                f"<link>https://example.org/</link>{entries}</channel></rss>"
            ).encode()
        )
    return feeds


def write_config(
    root: Path, feeds: list[bytes], entities: dict[str, EntityConfig], watches: list[WatchConfig]
) -> Path:
    """A config over local feed files under ``root`` (written once, shared by both runs) and these watches."""
    feed_dir = root / "feeds"
    if not feed_dir.exists():
        feed_dir.mkdir()
        for i, body in enumerate(feeds):
            (feed_dir / f"feed{i:04d}.xml").write_bytes(body)
    config = {
        "max_item_age": None,
        "feeds": [
            {"url": str(feed_dir / f"feed{i:04d}.xml"), "name": f"feed {i}"} for i in range(len(feeds))
        ],
        "entities": {name: e.model_dump(exclude_defaults=True) for name, e in entities.items()},
        "watches": [{"name": w.name, "query": w.query} for w in watches],
        "notify": {"jsonl": str(root / f"alerts-{len(watches)}.jsonl")},
    }
    path = root / f"config-{len(watches)}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def run_once(root: Path, config: Path, label: str) -> tuple[float, float, int]:
    """(CPU s, wall s, alerts) of ``newswatch run -c CONFIG --once``, fresh store.

    CPU is this process's and that of the CPU stage's worker processes (sampled from /proc: they run under a
    forkserver, see proctree.py). Matching runs in those workers, so its share is the match-stage figure above,
    not something this run can time. Alerts also print to the console (no Slack is configured): stdout goes to
    /dev/null meanwhile.
    """
    store = root / f"state-{label}.db"
    if store.exists():
        store.unlink()
    argv = ["run", "-c", str(config), "--once", "-q", "--store", f"sqlite:///{store}"]
    sampler = TreeSampler()
    try:
        with open(os.devnull, "w", encoding="utf-8") as devnull, contextlib.redirect_stdout(devnull):
            cpu, wall, workers = time.process_time(), time.perf_counter(), sampler.descendants_cpu()
            code = cli_main(argv)
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu + sampler.descendants_cpu() - workers
    finally:
        sampler.stop()
    if code not in (0, None):
        raise SystemExit(f"newswatch run exited with {code}")
    alerts = root / f"alerts-{label}.jsonl"
    n = sum(1 for _ in alerts.open(encoding="utf-8")) if alerts.exists() else 0
    return cpu, wall, n


def rate(fn: Callable[[Item], object], items: list[Item]) -> tuple[float, float, int]:
    """(items per CPU second, items per wall-clock second, number of matches) over ``items``."""
    hits = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for item in items:
        result = fn(item)
        hits += len(result) if isinstance(result, list) else 0
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return len(items) / cpu, len(items) / wall, hits


def interleaved(fns: list[Callable[[Item], object]], items: list[Item], chunk: int = 50) -> list[float]:
    """Items per CPU second of each function over ``items``, timed chunk by chunk in turn (same order for all)."""
    spent = [0.0] * len(fns)
    for start in range(0, len(items), chunk):
        part = items[start : start + chunk]
        for k, fn in enumerate(fns):
            cpu = time.process_time()
            for item in part:
                fn(item)
            spent[k] += time.process_time() - cpu
    return [len(items) / s for s in spent]


# Sentences in other scripts (written for the benchmark), mixed into generated items for the multilingual run.
SCRIPT_SENTENCES = [
    "美国官员与哈马斯在多哈举行直接会谈，双方讨论了人质问题。",
    "米国とハマスが直接協議し、人質の解放について話し合った。",
    "محادثات مباشرة مع حَمَاس في الدوحة حول الرهائن والمساعدات.",
    "Переговоры с ХАМАС продолжились в Дохе, сообщили источники.",
    "สหรัฐเจรจากับฮามาสที่โดฮาเรื่องตัวประกัน",
    "Συνομιλίες στην Αθήνα για την ανθρωπιστική βοήθεια.",
    "Die Sperrung der Hauptstraße dauert bis Freitag.",
]


def multilingual(items: list[Item], rng: random.Random) -> list[Item]:
    """The items with a few sentences in other scripts in each body, and one in some titles."""
    out = []
    for item in items:
        extra = " ".join(rng.choices(SCRIPT_SENTENCES, k=4))
        title = f"{item.title} {rng.choice(SCRIPT_SENTENCES)}" if rng.random() < 0.5 else item.title
        out.append(
            Item(
                title=title,
                url=item.url,
                source=item.source,
                summary=item.summary,
                content=f"{item.content} {extra}",
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 entities, 200 watches, 1,000 items, 40 feeds")
    ap.add_argument("--baseline", default=BEFORE_ISSUES_11_15, help="git revision of the baseline matcher")
    ap.add_argument("--no-baseline", action="store_true", help="skip the same-run comparison with --baseline")
    args = ap.parse_args()
    n_ent, n_watch, n_items, n_naive = (1000, 200, 1000, 100) if args.quick else (5000, 1000, 10000, 300)
    n_feeds, per_feed = (40, 25) if args.quick else (200, 50)

    rng = random.Random(SEED)
    entities = make_entities(rng, n_ent)
    watches = make_watches(rng, n_watch, n_ent)
    items = make_items(rng, n_items, entities)
    words = sum(len(i.text.split()) for i in items) / len(items)
    n_alias = sum(len(e.aliases) for e in entities.values())
    print(f"corpus: {n_ent:,} entities ({n_alias:,} aliases), {n_watch:,} watches, {n_items:,} items")
    print(f"        ~{words:.0f} words per item, seed {SEED}")

    t0 = time.perf_counter()
    full = compile_watches(entities, watches)
    compile_s = time.perf_counter() - t0
    one = compile_watches(entities, watches[:1])
    print(f"compile: {compile_s:.2f}s for {n_watch:,} watches")

    warm = make_items(random.Random(SEED + 1), 50, entities)  # other items: the timed run starts unplanned
    for matcher in (full, one):  # warm the caches (character folding) before timing
        for item in warm:
            matcher.match(item)
    base_rates: list[float] = []
    if not args.no_baseline:
        base = load_baseline(args.baseline)
        # Compile time, best of three, the two compilers taking turns.
        compile_times: tuple[list[float], list[float]] = ([], [])
        for _ in range(3):
            for k, compiler in enumerate((base.compile_watches, compile_watches)):
                t0 = time.perf_counter()
                compiler(entities, watches)
                compile_times[k].append(time.perf_counter() - t0)
        # Fresh matchers for the timed run, so that both re-plan their triggers at the same items.
        base_full, ours_full = base.compile_watches(entities, watches), compile_watches(entities, watches)
        for matcher in (base_full, ours_full):
            for item in warm:
                matcher.match(item)
        base_rates = interleaved([base_full.match, ours_full.match], items)
        mixed = multilingual(items, random.Random(SEED + 3))
        base_mixed, ours_mixed = base.compile_watches(entities, watches), compile_watches(entities, watches)
        for matcher in (base_mixed, ours_mixed):
            for item in multilingual(warm, random.Random(SEED + 4)):
                matcher.match(item)
        base_rates += interleaved([base_mixed.match, ours_mixed.match], mixed)
    ours, ours_wall, ours_hits = rate(full.match, items)
    single, single_wall, _ = rate(one.match, items)
    naive = NaiveMatcher(entities, watches)
    baseline, baseline_wall, _ = rate(naive.match, items[:n_naive])

    e2e_items = make_items(random.Random(SEED + 2), n_feeds * per_feed, entities)
    feeds = make_feeds(e2e_items, per_feed)
    with tempfile.TemporaryDirectory(prefix="bench-match-") as tmp:
        root = Path(tmp)
        cfg_full = write_config(root, feeds, entities, watches)
        cfg_one = write_config(root, feeds, entities, watches[:1])
        e2e_one = run_once(root, cfg_one, "1")
        e2e_full = run_once(root, cfg_full, str(n_watch))

    print()
    print("match stage (items/s of CPU time; wall clock in brackets)")
    print(
        f"  ours, {n_watch:,} watches  : {ours:10,.0f}  ({ours_wall:,.0f})"
        f"   {ours_hits:,} matches, {ours_hits / n_items:.2f}/item"
    )
    print(f"  ours, 1 watch       : {single:10,.0f}  ({single_wall:,.0f})")
    print(
        f"  naive, {n_watch:,} watches : {baseline:10,.0f}  ({baseline_wall:,.0f})   timed on {n_naive:,} items"
    )
    print(f"  speed-up vs naive              : {ours / baseline:8.1f}x   (target >= 20x)")
    print(f"  items/s with {n_watch:,} watches     : {ours:8,.0f}    (target >= 5,000)")
    print(f"  match stage, 1 -> {n_watch:,} watches : {single / ours:8.2f}x")
    if base_rates:
        b_rate, o_rate, b_mixed, o_mixed = base_rates
        print()
        print(
            f"normalisation cost (issues 11 and 15): baseline = the matcher at git {args.baseline}, "
            f"same items, interleaved"
        )
        print(
            f"  compile, {n_watch:,} watches / {n_ent:,} entities (best of 3): "
            f"baseline {min(compile_times[0]):.2f}s, ours {min(compile_times[1]):.2f}s"
        )
        print(f"  baseline, {n_watch:,} watches : {b_rate:10,.0f} items/s CPU")
        print(f"  ours, {n_watch:,} watches     : {o_rate:10,.0f} items/s CPU")
        print(f"  cost of the new normalisation : {(1 - o_rate / b_rate) * 100:8.1f}%   (target < 20%)")
        print(
            f"  items with 4 sentences in other scripts: baseline {b_mixed:,.0f}, ours {o_mixed:,.0f} items/s CPU "
            f"({(1 - o_mixed / b_mixed) * 100:.1f}% cost; the baseline does not match those scripts)"
        )
    print()
    n_e2e = n_feeds * per_feed
    print(
        f"end to end: newswatch run --once, {n_feeds} feed files x {per_feed} items = {n_e2e:,} items, fresh SQLite"
    )
    for label, (cpu, wall, alerts) in (("1 watch", e2e_one), (f"{n_watch:,} watches", e2e_full)):
        print(
            f"  {label:14s}: {cpu:6.2f}s CPU  {wall:6.2f}s wall  ({n_e2e / cpu:,.0f} items/s CPU)  {alerts:,} alerts"
        )
    print(
        f"  cost of 1 -> {n_watch:,} watches, end to end: {e2e_full[0] / e2e_one[0]:5.2f}x CPU, "
        f"{e2e_full[1] / e2e_one[1]:5.2f}x wall   (target <= 1.5x; issue 12: <= 1.3x)"
    )
    print(
        f"  the extra {e2e_full[0] - e2e_one[0]:.2f}s CPU: matching (see the match stage above), compiling, and "
        f"recording and delivering {e2e_full[2] - e2e_one[2]:,} more alerts, each placed in a story"
    )


if __name__ == "__main__":
    main()
