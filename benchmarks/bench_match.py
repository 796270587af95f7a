"""Benchmark: the matching engine against a naive matcher, and 1 watch against 1,000.

Claim (issue 3): with 5,000 entities (10,000 aliases) and 1,000 watches, matching runs at >= 5,000 items/s on
one core, >= 20x a naive matcher (one compiled regex per alias and term, every watch evaluated for every item),
and going from 1 to 1,000 watches costs <= 1.5x end to end.  The last is shown twice: for the match stage
alone (the strict reading) and for feed parsing + matching on the same items as RSS, a proxy for
`run --once` without network and store.  Everything is generated from a fixed seed, so runs compare.

The naive baseline is given every advantage: each regex is searched at most once per item (memoised), NEAR is
treated as AND and exclusions and field scopes are ignored; it is timed on a slice of the items because it is
slow, and items/s is comparable across slice sizes.

    python benchmarks/bench_match.py            # full run (about a minute)
    python benchmarks/bench_match.py --quick    # smaller run for a smoke test
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from newswatch.config import EntityConfig, WatchConfig
from newswatch.match import Matcher, compile_watches
from newswatch.match.query import And, EntityRef, Near, Node, Not, Or, Scope, Term, parse
from newswatch.models import Item
from newswatch.parse import parse_feed

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
    """The items as RSS documents, to time parsing + matching (a proxy for `run --once` without I/O)."""
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


def end_to_end(matcher: Matcher, feeds: list[bytes]) -> float:
    """Items per second through parse_feed (feedparser, HTML to text, keys) and matching."""
    now = datetime.now(UTC)
    n = 0
    start = time.perf_counter()
    for i, body in enumerate(feeds):
        for item in parse_feed(body, f"https://example.org/feed{i}.xml", "bench", now).items:
            matcher.match(item)
            n += 1
    return n / (time.perf_counter() - start)


def rate(fn: Callable[[Item], object], items: list[Item]) -> tuple[float, int]:
    """(items per second, number of matches) over ``items``."""
    hits = 0
    start = time.perf_counter()
    for item in items:
        result = fn(item)
        hits += len(result) if isinstance(result, list) else 0
    return len(items) / (time.perf_counter() - start), hits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 entities, 200 watches, 1,000 items")
    args = ap.parse_args()
    n_ent, n_watch, n_items, n_naive = (1000, 200, 1000, 100) if args.quick else (5000, 1000, 10000, 300)

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

    for matcher in (full, one):  # warm the caches (character folding) before timing
        for item in items[:50]:
            matcher.match(item)
    ours, ours_hits = rate(full.match, items)
    single, _ = rate(one.match, items)
    naive = NaiveMatcher(entities, watches)
    baseline, _ = rate(naive.match, items[:n_naive])
    feeds = make_feeds(items[: n_items // 5])
    e2e_full, e2e_one = end_to_end(full, feeds), end_to_end(one, feeds)

    print()
    print(
        f"ours, {n_watch:,} watches   : {ours:10,.0f} items/s  ({ours_hits:,} matches, {ours_hits / n_items:.2f}/item)"
    )
    print(f"ours, 1 watch        : {single:10,.0f} items/s")
    print(f"naive, {n_watch:,} watches  : {baseline:10,.0f} items/s  (timed on {n_naive:,} items)")
    print()
    print(f"speed-up vs naive            : {ours / baseline:8.1f}x   (target >= 20x)")
    print(f"cost of 1 -> {n_watch:,} watches     : {single / ours:8.2f}x   (target <= 1.5x)")
    print(f"items/s with {n_watch:,} watches  : {ours:8,.0f}    (target >= 5,000)")
    print()
    print(f"parse + match, {n_watch:,} watches: {e2e_full:8,.0f} items/s   1 watch: {e2e_one:8,.0f} items/s")
    print(
        f"cost of 1 -> {n_watch:,} watches, parse + match: {e2e_one / e2e_full:6.2f}x   (target <= 1.5x end to end)"
    )


if __name__ == "__main__":
    main()
