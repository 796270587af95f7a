"""Parse cost of one 50-item news feed: feedparser with its defaults (baseline) vs newswatch's parse_feed.

Also times feedparser with sanitize_html / resolve_relative_uris off, to show what those two options cost and
how much of parse_feed's time is feedparser itself versus our normalisation (plain text, URLs, keys).
Everything runs in one process, interleaved, and reports the median of several rounds, because these
machines are shared and noisy.

    python benchmarks/bench_parse.py [--items 50] [--rounds 7] [--repeat 20]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import feedparser

from newswatch.feeds.parse import parse_feed

_PARAGRAPHS = [
    "The White House confirmed on Wednesday that a US envoy had held direct talks with Hamas officials in "
    "Doha about the American captives still held in Gaza, a break with a long-standing policy.",
    "Officials said the discussions, led by the special envoy for hostage affairs, covered the release of "
    "the remaining living hostages and the bodies of others, and that Israel had been consulted.",
    "A spokesperson described the meetings as &ldquo;useful&rdquo; but declined to say whether further "
    "rounds were planned. Egyptian and Qatari mediators were briefed separately, according to two people.",
    "Analysts noted that the move came as a ceasefire agreement entered a fragile phase, with both sides "
    "trading accusations over aid deliveries and the sequencing of prisoner exchanges.",
]


def make_feed(n_items: int) -> bytes:
    """An RSS 2.0 feed shaped like a news site's: HTML description, full content, tracking links."""
    items = []
    for i in range(n_items):
        body = "".join(
            f'<p>{p} <a href="/world/related-{i}-{k}">Related</a></p>' for k, p in enumerate(_PARAGRAPHS * 2)
        )
        items.append(
            f"""  <item>
    <title>Envoy meets Hamas officials over captives, report {i}</title>
    <link>https://news.example.com/world/2025/03/05/envoy-talks-{i}?utm_source=rss&amp;utm_medium=feed</link>
    <guid isPermaLink="false">news-example-{i:05d}</guid>
    <pubDate>Wed, 05 Mar 2025 {i % 24:02d}:{i % 60:02d}:00 +0000</pubDate>
    <dc:creator>Staff reporter</dc:creator>
    <category>World</category><category>Middle East</category>
    <description><![CDATA[<p>{_PARAGRAPHS[i % len(_PARAGRAPHS)]}</p><img src="/img/{i}.jpg" alt="">]]></description>
    <content:encoded><![CDATA[{body}<script>trackView({i})</script>]]></content:encoded>
  </item>"""
        )
    return (
        """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>News Example – World</title>
  <link>https://news.example.com/world</link>
  <description>World news</description>
  <ttl>15</ttl>
"""
        + "\n".join(items)
        + "\n</channel>\n</rss>\n"
    ).encode("utf-8")


def _time_per_call(fn: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    body = make_feed(args.items)
    url = "https://news.example.com/world/rss.xml"
    now = datetime(2025, 3, 8, tzinfo=UTC)

    candidates: dict[str, Callable[[], object]] = {
        "feedparser, default options (baseline)": lambda: feedparser.parse(io.BytesIO(body)),
        "feedparser, sanitize/resolve off": lambda: feedparser.parse(
            io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False
        ),
        "newswatch parse_feed": lambda: parse_feed(body, url, None, now),
    }
    # Same answers first: the speed claim is only worth something if the items agree.
    reference = feedparser.parse(io.BytesIO(body))
    ours = parse_feed(body, url, None, now)
    assert len(ours.items) == len(reference.entries) == args.items
    assert [i.guid for i in ours.items] == [e.id for e in reference.entries]

    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for fn in candidates.values():  # warm-up
        fn()
    for _ in range(args.rounds):
        for name, fn in candidates.items():  # interleaved so drift hits every candidate alike
            samples[name].append(_time_per_call(fn, args.repeat))

    base = statistics.median(samples["feedparser, default options (baseline)"])
    print(
        f"feed: {args.items} items, {len(body) / 1024:.0f} KiB; median of {args.rounds} rounds × {args.repeat}"
    )
    for name, values in samples.items():
        ms = statistics.median(values) * 1000
        print(f"  {name:<42} {ms:8.2f} ms/feed   {statistics.median(values) / base:5.2f}× baseline")


if __name__ == "__main__":
    main()
