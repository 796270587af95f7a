"""Hostile item text, issue 21 points 1, 3 and 17, through ``run --once`` on both stores.

* A date with 60,000 spaces inside (point 1) is read in linear time: the run finishes, its item is dated.
* A 600 KB all-capitals word without spaces (point 3) is matched in linear time.
* An alias written with an invisible format character inside (point 17: LRM, RLM, RLO, bidi isolates, U+2062,
  U+180E, tag characters, the Hangul filler, the blank Braille pattern…) still matches its watch.

Every item alerts exactly once, and the ordinary items of the same feed are neither lost nor doubled.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from newswatch.cli import run
from newswatch.config import load_config
from tests.feedserver import FeedServer
from tests.hostile.test_feeds import story, summary

INVISIBLE = {
    "LRM": "\u200e",
    "RLM": "\u200f",
    "LRE": "\u202a",
    "RLO": "\u202e",
    "PDF": "\u202c",
    "LRI": "\u2066",
    "PDI": "\u2069",
    "invisible times": "\u2062",
    "Mongolian vowel separator": "\u180e",
    "tag A": "\U000e0041",
    "language tag": "\U000e0001",
    "Arabic letter mark": "\u061c",
    "Hangul filler": "\u3164",
    "halfwidth Hangul filler": "\uffa0",
    "Braille blank": "\u2800",
    "zero-width space": "\u200b",
}


def rss(items: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
        + "".join(items)
        + "</channel></rss>"
    )


def item(n: int, title: str, *, pub: str = "Mon, 07 Dec 2026 10:00:00 GMT", text: str = "") -> str:
    return (
        f"<item><title>{title}</title><link>https://wire.example/{n}</link><guid>wire-{n}</guid>"
        f"<pubDate>{pub}</pubDate><description>{text}</description></item>"
    )


def write_config(tmp_path: Path, store_url: str, feed_url: str, watches: str) -> Path:
    path = tmp_path / "newswatch.yaml"
    path.write_text(
        f"store: {store_url}\nmax_item_age: null\nfeeds:\n  - {{url: {feed_url}}}\n"
        f"entities:\n  hamas: {{aliases: [Hamas]}}\nwatches:\n{watches}\n"
        f"notify:\n  jsonl: {tmp_path / 'alerts.jsonl'}\n",
        encoding="utf-8",
    )
    return path


def records(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "alerts.jsonl"
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    )


async def test_an_alias_with_an_invisible_character_inside_still_alerts(
    tmp_path: Path, store_url: str
) -> None:
    # Each item is its own story: words no other item uses around the name.
    names = list(INVISIBLE)
    items = [item(n, f"{story(n)} Ha{INVISIBLE[name]}mas", text=summary(n)) for n, name in enumerate(names)]
    items.append(item(99, f"{story(99)} Hamas", text=summary(99)))
    items.append(item(100, story(100), text=summary(100)))  # matches nothing
    async with FeedServer() as server:
        server.add("/wire.xml", rss(items))
        path = write_config(tmp_path, store_url, server.url("/wire.xml"),
                            "  - {name: Hamas, query: '@hamas'}\n  - {name: Word, query: 'hamas'}")  # fmt: skip
        assert await run(load_config(path), once=True) == 0
        assert await run(load_config(path), once=True) == 0  # a second run posts nothing again
    got = Counter((r["watch"], r["url"]) for r in records(tmp_path) if r["event"] == "alert")
    expected = {(w, f"https://wire.example/{n}") for w in ("Hamas", "Word") for n in [*range(len(names)), 99]}
    assert set(got) == expected, sorted(expected - set(got))
    assert set(got.values()) == {1}


async def test_a_date_with_60000_spaces_and_a_600_kb_capitalised_word_cost_linear_time(
    tmp_path: Path, store_url: str
) -> None:
    spaced = "Mon, 07 Dec 2026" + " " * 60_000 + "12:00:00 GMT"
    shouting = "U.S. " + "HAMAS'" * 100_000 + " and Hamas"  # 600 KB without a space, then the name
    items = [
        item(1, f"{story(1)} Hamas", pub=spaced, text=summary(1)),
        item(2, story(2), text=shouting),
        item(3, f"{story(3)} Hamas", text=summary(3)),
    ]
    async with FeedServer() as server:
        server.add("/wire.xml", rss(items))
        path = write_config(
            tmp_path, store_url, server.url("/wire.xml"), "  - {name: Hamas, query: '@hamas'}"
        )
        started = time.monotonic()
        assert await run(load_config(path), once=True) == 0
        elapsed = time.monotonic() - started
    got = [r for r in records(tmp_path) if r["event"] == "alert"]
    assert sorted(r["url"] for r in got) == [f"https://wire.example/{n}" for n in (1, 2, 3)]
    dated = next(r for r in got if r["url"] == "https://wire.example/1")
    assert dated["published"].startswith("2026-12-07T12:00:00")
    # Before: 49 s for the date alone, minutes for the word.  Generous for two busy cores.
    assert elapsed < 60, elapsed
