"""Identity of "the same report" (issue 21, points 6, 7 and 19), through the real path on both stores.

6. A longer copy under the wire story's URL in another feed (an aggregator's "Morning briefing" with filler)
   never makes the wire's own report "the same": exactly one alert, whichever is recorded first.
7. No GUID and a link token that changes every poll (``?rsskey=101``, ``102``, …) with the same text: the same
   feed with the same text is the same report, one alert and no thread reply.
19. A live item whose text changes every poll keeps a bounded set of fingerprints in the store, and is not
   alerted again.

Each test also shows that the other items of the same feeds alert exactly once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newswatch import constants as C
from newswatch.app import open_app
from newswatch.config import load_config
from newswatch.feeds.text import item_keys
from tests.feedserver import FeedServer
from tests.hostile.test_feeds import (
    alerted_once,
    item,
    records,
    rss,
    run_once,
    story,
    summary,
    write_config,
)
from tests.store.test_item_texts import texts_kept

# --------------------------------------------------------------------------------------------------------------
# 6. A copy's length never outranks where it came from

WIRE = {"a": 11, "b": 12, "c": 13, "other": 14}
FILLER = " ".join(["Weather, markets and sport in brief for the morning commute."] * 24)  # 1,463 chars


def wire_item(n: int, link: str) -> str:
    """A wire story of words no other item uses (its own story), under 200 characters."""
    return f"<item><title>{story(n)}</title><link>{link}</link><description>{summary(n)}</description></item>"


def briefing_item(link: str) -> str:
    return (
        f"<item><title>Morning briefing</title><link>{link}</link><description>{FILLER}</description></item>"
    )


async def test_a_longer_copy_in_another_feed_never_hides_the_wire_report(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(FILLER) > 1400
    # Three wire stories an aggregator's briefing links to: recorded after the briefing (a), before it (b), in
    # the same cycle (c).  The wire feed's other story and the briefing's own link alert as usual.
    links = {k: f"https://wire.example/story-{k}" for k in "abc"}
    async with FeedServer() as srv:
        for k, link in links.items():
            srv.add(f"/wire-{k}.xml", rss([wire_item(WIRE[k], link)], title="Wire"))
            srv.add(f"/agg-{k}.xml", rss([briefing_item(link)], title="Aggregator"))
        srv.add(
            "/wire-other.xml",
            rss(
                [
                    wire_item(WIRE["other"], "https://wire.example/other"),
                    item(7, link="https://wire.example/seven"),
                ]
            ),
        )
        first = [srv.url(p) for p in ("/agg-a.xml", "/wire-b.xml", "/wire-other.xml")]
        everything = first + [srv.url(p) for p in ("/wire-a.xml", "/agg-b.xml", "/wire-c.xml", "/agg-c.xml")]
        query = " OR ".join(story(n).split()[0] for n in [*WIRE.values(), 7])  # not the briefing
        _, log1 = await run_once(write_config(tmp_path, store_url, first, query=query), capsys)
        _, log2 = await run_once(write_config(tmp_path, store_url, everything, query=query), capsys)
        _, log3 = await run_once(write_config(tmp_path, store_url, everything, query=query), capsys)
    assert "0 alerts" in log3 or "alerts=0" in log3, log3
    recs = records(tmp_path)
    assert alerted_once(recs) == {
        links["a"]: 1,  # the briefing was recorded first, longer: the wire's report still alerts
        links["b"]: 1,  # recorded before the briefing
        links["c"]: 1,  # both in one cycle
        "https://wire.example/other": 1,
        "https://wire.example/seven": 1,
    }, (log1, log2)
    assert all(r["event"] == "alert" for r in recs), recs  # and nothing else: no update, no briefing


# --------------------------------------------------------------------------------------------------------------
# 7. Same source, same text: a new link token is not a new report


async def test_a_changing_link_token_with_the_same_text_is_one_report(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def poll(token: int) -> str:
        # No GUID; the link carries a per-poll token that is no tracking parameter newswatch knows.
        tokened = (
            f"<item><title>{story(1)}</title><link>https://portal.example/a?id=9&amp;rsskey={token}</link>"
        )
        return rss([tokened + f"<description>{summary(1)}</description></item>", item(2), item(3)])

    async with FeedServer() as srv:
        srv.add("/portal.xml", poll(101))
        cfg = write_config(tmp_path, store_url, [srv.url("/portal.xml")])
        logs = [(await run_once(cfg, capsys))[1]]
        for token in (102, 103):
            srv.add("/portal.xml", poll(token))
            logs.append((await run_once(cfg, capsys))[1])
    recs = records(tmp_path)
    assert alerted_once(recs) == {
        "https://portal.example/a?id=9&rsskey=101": 1,
        "https://good.example/n/2": 1,
        "https://good.example/n/3": 1,
    }, logs
    assert [r["event"] for r in recs] == ["alert"] * 3, recs  # no update: no thread reply, no source count


# --------------------------------------------------------------------------------------------------------------
# 19. A live item's texts are bounded in the store


async def test_a_live_item_keeps_a_bounded_set_of_texts_and_alerts_once(
    tmp_path: Path, store_url: str
) -> None:
    live = "https://live.example/blog"
    polls = 100

    def poll(n: int) -> str:
        # A live blog without a GUID whose comment count changes every poll, beside two steady items.
        blog = (
            f"<item><title>Live: {story(1)}</title><link>{live}</link>"
            f"<description>{summary(1)} {1000 + n} comments so far.</description></item>"
        )
        return rss([blog, item(2), item(3)])

    async with FeedServer() as srv:
        srv.add("/live.xml", poll(0))
        feed_url = srv.url("/live.xml")
        async with open_app(
            load_config(write_config(tmp_path, store_url, [feed_url])), exclusive=True
        ) as app:
            for n in range(polls):
                srv.add("/live.xml", poll(n))
                result = await app.pipeline.run_once()
                assert [r.status for r in result.feeds] == ["ok"], result
    item_id = item_keys(None, live, feed_url)[0]  # a GUID-less item's id: its own feed's key of the URL
    kept = texts_kept(store_url, item_id)
    assert C.ITEM_TEXTS_KEPT <= len(kept) <= 2 * C.ITEM_TEXTS_KEPT < polls, len(kept)
    recs = records(tmp_path)
    assert alerted_once(recs) == {live: 1, "https://good.example/n/2": 1, "https://good.example/n/3": 1}
    assert [r["event"] for r in recs] == ["alert"] * 3, recs  # its new texts are not new reports
