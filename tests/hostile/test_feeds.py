"""Hostile feeds and archives, feeds side of issue 11: dates out of range, GUIDs claimed across feeds, redirects
into the private network, control characters on a terminal, bad replay archives.

Each test runs the real command (`run --once`, `replay`, `feeds`) against the local feed server, on both stores
where a store is involved, and shows the clear message and that every good item of the same run alerts exactly
once.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswatch.app import open_app
from newswatch.cli import EXIT_CONFIG, EXIT_OK, main
from newswatch.cli.feeds import format_rows
from newswatch.config import FetchConfig, load_config
from newswatch.constants import EARLIEST_ITEM_DATE
from newswatch.delivery.notify.console import ConsoleNotifier
from newswatch.feeds.archive import BadLine, read_archive
from newswatch.feeds.dates import parse_date
from newswatch.feeds.fetch import fetch, make_session
from newswatch.feeds.netguard import AddressGuard
from newswatch.feeds.parse import parse_feed
from newswatch.feeds.push import WebSubSettings, WebSubSubscriber
from newswatch.feeds.pushed import PushedFeeds
from tests.conftest import RedisServer, free_port
from tests.feeds.test_push import LocalHub, wait_for
from tests.feedserver import FeedServer

NOW = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
SYLLABLES = "ba ko ri te mu sa lo ne vi du fe ga hi jo pu ra zi we".split()


def word(n: int) -> str:
    """A made-up name, different for every n below 5832."""
    return (SYLLABLES[n % 18] + SYLLABLES[n // 18 % 18] + SYLLABLES[n // 324 % 18] + "n").capitalize()


def story(i: int) -> str:
    """A title of words no other item uses, so each item is its own story (one alert each)."""
    return " ".join(word(i * 8 + k) for k in range(4))


def summary(i: int) -> str:
    return " ".join(word(i * 8 + k) for k in range(4, 8)) + "."


def rss(items: list[str], title: str = "Wire", decl: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    return f"{decl}<rss version='2.0'><channel><title>{title}</title>{''.join(items)}</channel></rss>"


def item(i: int, *, link: str | None = None, guid: str | None = None, extra: str = "") -> str:
    link = link if link is not None else f"https://good.example/n/{i}"
    guid_el = f"<guid isPermaLink='false'>{guid}</guid>" if guid else ""
    return (
        f"<item><title>{story(i)}</title><link>{link}</link>{guid_el}"
        f"<description>{summary(i)}</description>{extra}</item>"
    )


def write_config(
    tmp_path: Path, store_url: str, feeds: list[str], notify: str | None = None, query: str = "*"
) -> Path:
    cfg = tmp_path / "cfg.yaml"
    lines = "".join(f"\n  - url: {url}" for url in feeds) or " []"
    cfg.write_text(
        f"""
store: {store_url}
max_item_age: null
fetch: {{timeout: 3s}}
feeds:{lines}
watches:
  - {{name: all, query: {query!r}}}
notify: {notify or f"{{jsonl: {tmp_path / 'alerts.jsonl'}}}"}
""",
        encoding="utf-8",
    )
    return cfg


async def run_once(cfg: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """`newswatch run --once` (its own event loop, in a thread, beside the test's feed server): (stdout, log)."""
    assert await asyncio.to_thread(main, ["run", "-c", str(cfg), "--once"]) == EXIT_OK
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    return captured.out, captured.err


def records(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "alerts.jsonl"
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    )


def alerted_once(recs: list[dict[str, Any]]) -> Counter[str]:
    counts = Counter(r["url"] for r in recs if r["event"] == "alert")
    assert all(n == 1 for n in counts.values()), counts
    return counts


async def feed_rows(cfg: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    assert await asyncio.to_thread(main, ["feeds", "-c", str(cfg), "--json"]) == EXIT_OK
    return {r["url"]: r for r in json.loads(capsys.readouterr().out)}


# --------------------------------------------------------------------------------------------------------------
# 1. Dates out of range count as missing, on both parse paths


BAD_DATES = {
    1: "<pubDate>Fri, 31 Dec 9999 23:59:59 -1200</pubDate>",
    2: "<pubDate>Mon, 01 Jan 0000 00:00:00 GMT</pubDate>",
    3: "<pubDate>Wed, 05 Mar 2025 10:00:00 +9999</pubDate>",
    4: "<pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate>",
    5: "<pubDate>0001-01-01T00:00:00+14:00</pubDate>",
}


async def test_out_of_range_dates_count_as_missing(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = "<pubDate>Wed, 05 Mar 2025 10:00:00 GMT</pubDate>"
    fast = rss([item(i, extra=d) for i, d in BAD_DATES.items()] + [item(6, extra=good)])
    # Windows-1252: read by feedparser, not the lxml fast path.
    slow = rss(
        [item(10 + i, extra=d) for i, d in BAD_DATES.items()] + [item(16, extra=good)],
        decl='<?xml version="1.0" encoding="windows-1252"?>',
    )
    atom = (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>A</title>"
        f"<entry><id>tag:a.example,2025:1</id><title>{story(20)}</title><link href='https://good.example/n/20'/>"
        "<published>0001-01-01T00:00:00+14:00</published><updated>9999-12-31T23:59:59-12:00</updated></entry>"
        "</feed>"
    )
    async with FeedServer() as srv:
        srv.add("/fast.xml", fast)
        srv.add("/slow.xml", slow.encode("cp1252"))
        srv.add("/atom.xml", atom, content_type="application/atom+xml")
        cfg = write_config(tmp_path, store_url, [srv.url(p) for p in ("/fast.xml", "/slow.xml", "/atom.xml")])
        _, log = await run_once(cfg, capsys)
        assert "cycle done feeds=3 failed=0 items=13" in log
        first = records(tmp_path)
        # A second cycle over the same feeds sends nothing again.
        _, log = await run_once(cfg, capsys)
    assert "feed failed" not in log
    recs = records(tmp_path)
    assert recs == first
    counts = alerted_once(recs)
    assert len(counts) == 13
    dates = {r["url"].rsplit("/", 1)[1]: r["published"] for r in recs}
    for n in (1, 2, 3, 4, 5, 11, 12, 13, 14, 15, 20):
        assert dates[str(n)] is None, (n, dates[str(n)])  # missing: the item is dated when first seen
    assert dates["6"] == dates["16"] == "2025-03-05T10:00:00+00:00"


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_parse_date_never_raises(text: str) -> None:
    dt = parse_date(text)
    assert dt is None or (dt.tzinfo is UTC and dt >= EARLIEST_ITEM_DATE)


_DATE_LIKE = st.from_regex(
    r"\A(?:[A-Z][a-z]{2}, )?-?\d{1,5} [A-Z][a-z]{2} -?\d{1,6} \d{1,3}:\d{1,3}(:\d{1,3})? ?([+-]\d{1,5}|[A-Z]{1,5})?\Z"
    r"|\A-?\d{1,6}-\d{1,3}-\d{1,3}(T\d{1,3}:\d{1,3}(:\d{1,3}(\.\d{1,7})?)?)?([+-]\d{1,2}:?\d{0,2}|Z)?\Z",
    fullmatch=True,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DATE_LIKE, st.booleans())
def test_any_item_date_leaves_the_item_in_the_feed(date: str, fast: bool) -> None:
    # Date-shaped text with absurd fields, through either parse path: the item is always kept.
    body = rss([item(1, extra=f"<pubDate>{date}</pubDate><dc:date>{date}</dc:date>")]).replace(
        "<rss version='2.0'>", "<rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
    )
    assert parse_date(date) is None or parse_date(date).tzinfo is UTC  # type: ignore[union-attr]
    (got,) = parse_feed(body.encode(), "https://good.example/rss", None, NOW, fast=fast).items
    assert got.published is None or EARLIEST_ITEM_DATE <= got.published <= NOW


# --------------------------------------------------------------------------------------------------------------
# 5. A GUID identifies an item within its feed only


async def test_same_guid_in_two_feeds_is_two_items_and_cannot_be_claimed(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def dated(i: int, guid: str, link: str, day: int) -> str:
        return item(i, guid=guid, link=link, extra=f"<pubDate>0{day} Mar 2025 10:00:00 GMT</pubDate>")

    # Two outlets number their items alike; a hostile feed, dated earlier so it is recorded first, claims
    # the same GUIDs for its own junk; a section feed of the first outlet repeats its article; an aggregator
    # links it with tracking parameters.
    outlet_a = rss(
        [dated(1, "1001", "https://a.example/story-1", 5), dated(2, "1002", "https://a.example/s2", 5)]
    )
    outlet_b = rss([dated(3, "1001", "https://b.example/other-story", 5)])
    hostile = rss(
        [dated(4, "1001", "https://evil.example/x", 1), dated(5, "1002", "https://evil.example/y", 1)]
    )
    section = rss([dated(1, "a-world-1001", "https://a.example/story-1", 5)])
    aggregator = rss([dated(1, "agg-77", "https://a.example/story-1?utm_source=agg&utm_medium=rss", 5)])
    async with FeedServer() as srv:
        for path, body in [("/a.xml", outlet_a), ("/b.xml", outlet_b), ("/evil.xml", hostile),
                           ("/a-world.xml", section), ("/agg.xml", aggregator)]:  # fmt: skip
            srv.add(path, body)
        urls = [srv.url(p) for p in ("/a.xml", "/b.xml", "/evil.xml", "/a-world.xml", "/agg.xml")]
        cfg = write_config(tmp_path, store_url, urls)
        _, log = await run_once(cfg, capsys)
        _, log2 = await run_once(cfg, capsys)
    assert "cycle done feeds=5 failed=0 items=7 new=5 alerts=5" in log
    assert "0 alerts" in log2  # stable keys: nothing is new the second time
    counts = alerted_once(records(tmp_path))
    assert set(counts) == {
        "https://a.example/story-1",  # one item through its own feed, a section feed and an aggregator
        "https://a.example/s2",
        "https://b.example/other-story",  # the same GUID in another outlet's feed: its own item
        "https://evil.example/x",
        "https://evil.example/y",
    }


# --------------------------------------------------------------------------------------------------------------
# 9. Redirects into the private network


async def test_redirects_into_the_private_network_are_refused(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FeedServer() as srv, FeedServer() as inside:
        # `inside` stands for a service on the private network (another port on 127.0.0.1): not listed.
        inside.add("/secret.xml", rss([item(99)]))
        srv.add("/good.xml", rss([item(1)]))
        srv.add("/moved.xml", rss([item(2)]))
        srv.html("/page.html")
        hostile = {
            "/to-ip.xml": (
                inside.url("/secret.xml"),
                302,
                f"127.0.0.1:{inside.port} refused: loopback address",
            ),
            "/to-name.xml": (
                f"http://localhost:{inside.port}/secret.xml",
                302,
                f"localhost:{inside.port} (127.0.0.1) refused: loopback address",
            ),
            "/to-metadata.xml": (
                "http://169.254.169.254/latest/meta-data/",
                302,
                "169.254.169.254:80 refused: link-local address",
            ),
            "/to-mapped.xml": (
                f"http://[::ffff:127.0.0.1]:{inside.port}/secret.xml",
                307,
                f"[::ffff:7f00:1]:{inside.port} refused: loopback address",
            ),
            "/perm-to-ip.xml": (inside.url("/secret.xml"), 301, f"127.0.0.1:{inside.port} refused"),
        }
        for path, (target, status, _) in hostile.items():
            srv.redirect(path, target, status=status)
        srv.redirect("/perm-to-page.xml", "/page.html", status=301)  # a move to something that is no feed
        srv.redirect("/old.xml", "/moved.xml", status=301)  # a move within the listed origin
        feeds = ["/good.xml", "/old.xml", "/perm-to-page.xml", *hostile]
        cfg = write_config(tmp_path, store_url, [srv.url(p) for p in feeds])
        _, log = await run_once(cfg, capsys)
        rows = await feed_rows(cfg, capsys)
    assert inside.hits["/secret.xml"] == 0  # nothing of that address was fetched
    failures = [line for line in log.splitlines() if "feed failed" in line]
    for path, (_, _, message) in hostile.items():
        (line,) = [f for f in failures if srv.url(path) in f]
        assert f"redirect to {message}" in line, line
        assert rows[srv.url(path)]["moved_to"] is None
        assert "refused" in rows[srv.url(path)]["last_error"]
    assert "cycle done feeds=8 failed=6" in log
    # A permanent redirect is remembered once the new address served a valid feed, and only then.
    assert rows[srv.url("/old.xml")]["moved_to"] == srv.url("/moved.xml")
    assert rows[srv.url("/perm-to-page.xml")]["moved_to"] is None
    counts = alerted_once(records(tmp_path))
    assert set(counts) == {"https://good.example/n/1", "https://good.example/n/2"}


async def test_redirect_to_the_local_redis_never_reaches_it(redis_server: RedisServer) -> None:
    # The finding: a feed redirecting to the local Redis made it log "Possible SECURITY ATTACK".
    client = redis.Redis(port=redis_server.port)
    limits = FetchConfig(timeout=3)
    try:
        before = int(client.info("stats")["total_connections_received"])
        async with FeedServer() as srv:
            srv.redirect("/feed.xml", f"http://127.0.0.1:{redis_server.port}/", status=302)
            srv.redirect("/feed2.xml", f"http://localhost:{redis_server.port}/", status=301)
            async with make_session(limits, AddressGuard([srv.url("/")])) as session:
                r1 = await fetch(session, srv.url("/feed.xml"), limits)
                r2 = await fetch(session, srv.url("/feed2.xml"), limits)
        after = int(client.info("stats")["total_connections_received"])
    finally:
        client.close()
    assert r1.error == (
        f"redirect to 127.0.0.1:{redis_server.port} refused: loopback address, neither public nor listed in the config"
    )
    assert r2.error is not None and r2.error.startswith(
        f"redirect to localhost:{redis_server.port} (127.0.0.1)"
    )
    assert r2.permanent_redirect is None
    assert after == before  # our own client's one connection was counted before


# --------------------------------------------------------------------------------------------------------------
# 10. WebSub topics: a feed naming a new topic on every poll cannot grow the subscription table


async def test_feed_churning_its_websub_topic_keeps_the_table_bounded(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    hub = LocalHub()
    async with FeedServer() as srv:
        await hub.mount(srv)  # beside the listed feeds: a hub elsewhere on 127.0.0.1 would be refused

        def churn(n: int) -> str:
            entries = "".join(
                f"<entry><id>tag:churn.example,2025:{i}</id><title>{story(i)}</title>"
                f"<link href='https://churn.example/{i}'/><summary>{summary(i)}</summary></entry>"
                for i in range(30, 31 + n)
            )
            return (
                "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>C</title>"
                f"<link rel='hub' href='{hub.url}'/><link rel='self' href='{srv.url('/churn.atom')}?v={n}'/>"
                f"{entries}</feed>"
            )

        srv.add("/good.xml", rss([item(1)]))
        cfg = write_config(tmp_path, store_url, [srv.url("/good.xml"), srv.url("/churn.atom")])
        port = free_port()
        settings = WebSubSettings(
            f"http://127.0.0.1:{port}/websub", "a-long-enough-secret", f"127.0.0.1:{port}"
        )
        try:
            async with open_app(load_config(cfg)) as app:
                subscriber = WebSubSubscriber(settings, app.pipeline.on_push, max_subscriptions=3)
                await subscriber.start()
                app.pipeline.push = PushedFeeds(subscriber, app.pipeline.session, app.tasks.spawn)
                good, churning = app.pipeline.config.feeds
                try:
                    for n in range(6):
                        srv.add("/churn.atom", churn(n), content_type="application/atom+xml")
                        await app.pipeline.poll(churning)
                        topic = f"{srv.url('/churn.atom')}?v={n}"
                        await wait_for(lambda t=topic: t in hub.subscribers)  # type: ignore[misc]
                        assert len(subscriber) <= 3
                    await app.pipeline.poll(good)
                    await app.pipeline.poll(good)  # again: nothing new
                    await app.pipeline.delivery.drain_all(deadline=time.time() + 30)
                finally:
                    await subscriber.close()
        finally:
            await hub.close()
    assert len(subscriber) == 3
    dropped = [r.topic for r in caplog.records if r.getMessage() == "websub subscription dropped: table full"]
    assert len(dropped) == 3 and all("/churn.atom?v=" in m for m in dropped)
    counts = alerted_once(records(tmp_path))
    assert set(counts) == {"https://good.example/n/1", *(f"https://churn.example/{i}" for i in range(30, 36))}


# --------------------------------------------------------------------------------------------------------------
# 11. Control characters never reach a terminal; item urls are http(s) or nothing

EVIL_TITLE = "\x1b]8;;http://evil\x07click\x1b]8;;\x07 Harbour \x1b[2Jreport"


async def test_control_characters_stripped_on_console_and_feeds(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Raw escapes are not well-formed XML (feedparser recovers them); "&#27;" in escaped HTML is.
    evil = rss(
        [
            f"<item><title>{EVIL_TITLE}</title><link>https://good.example/evil</link>"
            "<description>&lt;p&gt;Bell &amp;#7; and &amp;#27;[31m red &amp;#155;&lt;/p&gt;</description></item>",
            item(1),
        ],
        title=f"Wire {EVIL_TITLE}",
    )
    async with FeedServer() as srv:
        srv.add("/evil.xml", evil)
        srv.add("/good.xml", rss([item(2)]))
        cfg = write_config(tmp_path, store_url, [srv.url("/evil.xml"), srv.url("/good.xml")], notify="{}")
        out, _ = await run_once(cfg, capsys)
        assert await asyncio.to_thread(main, ["feeds", "-c", str(cfg)]) == EXIT_OK
        table = capsys.readouterr().out
    for text in (out, table):
        assert not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text), repr(text)
        assert "evil" not in text.replace("good.example/evil", "")  # the hidden OSC-8 target is gone too
    assert "[ALERT] all: click Harbour report" in out
    alerts = Counter(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("[ALERT]"))
    assert alerts == Counter({"click Harbour report": 1, story(1): 1, story(2): 1})
    assert "Wire click Harbour report" in table and "2 feeds, 0 failing" in table


async def test_console_notifier_and_feed_table_strip_controls_themselves() -> None:
    # Records and feed state from elsewhere (an older store, an error text) are stripped at the terminal too.
    out = io.StringIO()
    record = {"event": "alert", "watch": "w\x1b[31m", "title": EVIL_TITLE + "\nforged line", "source": "S\x07",
              "url": "https://x.example/\x1b[2J", "published": None, "matched": ["a\x9b1m"]}  # fmt: skip
    await ConsoleNotifier(out).send("console", record, None)
    text = out.getvalue()
    assert text == (
        "[ALERT] w: click Harbour report forged line\n    S · no date · https://x.example/\n    matched: a\n"
    )
    row = {"feed": EVIL_TITLE, "url": "u", "last_success": None, "failures": 1, "last_error": "HTTP 500 \x1b[2J",
           "last_error_at": None, "items_seen": 0, "next_poll": None, "moved_to": None}  # fmt: skip
    table = format_rows([row], now=0)
    assert "\x1b" not in table and "\x07" not in table and "click Harbour report" in table


async def test_links_that_are_not_http_never_become_the_url(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    links = ["javascript:alert(document.cookie)", "JaVaScRiPt:alert(1)", "file:///etc/passwd",
             "data:text/html;base64,PHNjcmlwdD4=", "vbscript:msgbox", "https://", "http://exa mple.com/x"]  # fmt: skip
    async with FeedServer() as srv:
        srv.add("/links.xml", rss([item(i, link=link) for i, link in enumerate(links)] + [item(50)]))
        cfg = write_config(tmp_path, store_url, [srv.url("/links.xml")])
        _, log = await run_once(cfg, capsys)
    recs = records(tmp_path)
    assert "cycle done feeds=1 failed=0" in log
    assert sorted(r["url"] for r in recs) == ["", "", "", "", "", "", "", "https://good.example/n/50"]
    assert len({r["title"] for r in recs if r["event"] == "alert"}) == 8  # each still alerts, once


# --------------------------------------------------------------------------------------------------------------
# 1 and 11. Replay names and skips what it cannot use


def write_archive(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


def archive_line(i: int, **extra: Any) -> bytes:
    obj = {"title": story(i), "url": f"https://good.example/n/{i}", "published": "2025-03-05T10:00:00Z"}
    return json.dumps({**obj, **extra}).encode()


@pytest.mark.parametrize("huge", [2 * 1024 * 1024])
def test_replay_names_and_skips_bad_lines(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str], huge: int
) -> None:
    archive = tmp_path / "archive.jsonl"
    write_archive(
        archive,
        [
            archive_line(1),
            b'{"title": "Caf\xe9 talks", "url": "https://latin1.example/1"}',  # Latin-1, not UTF-8
            archive_line(2, published="Fri, 31 Dec 9999 23:59:59 -1200"),  # out of range: kept, undated
            b'{"title": "' + b"x" * huge + b'"}',  # over the line cap
            archive_line(3, published="0000-01-01"),
            b"[" * 100_000 + b"]" * 100_000,  # nested past the JSON reader's recursion limit
            archive_line(4, url="javascript:alert(1)"),
            archive_line(5, published="sometime soon"),  # unreadable: named and skipped, as before
            archive_line(6),
            archive_line(7, published="2999-01-01T00:00:00Z"),  # ahead of the clock: kept, undated
        ],
    )
    cfg = write_config(tmp_path, store_url, [])
    assert main(["replay", "-c", str(cfg), str(archive), "--notify"]) == EXIT_OK
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for number, reason in [
        (2, "not UTF-8: byte 0xe9 at column 15"),
        (4, "longer than 1048576 bytes (not read)"),
        (6, "not JSON we read: nested too deeply"),
        (8, "published: 'sometime soon' is not a date"),
    ]:
        [text] = [t for t in err.splitlines() if "archive line skipped" in t and f" line={number}" in t]
        assert reason in text and str(archive) in text, text
    assert "bad_lines=4" in err
    recs = records(tmp_path)
    alerted_once(recs)
    by_title = {r["title"]: r for r in recs}
    assert sorted(by_title) == sorted(story(i) for i in (1, 2, 3, 4, 6, 7))
    assert [by_title[story(i)]["published"] for i in (2, 3, 7)] == [None, None, None]
    assert by_title[story(1)]["published"] == "2025-03-05T10:00:00+00:00"
    assert by_title[story(4)]["url"] == ""  # javascript: never becomes the url


def test_over_long_line_is_not_read_whole(tmp_path: Path) -> None:
    archive = tmp_path / "big.jsonl"
    with archive.open("wb") as f:
        f.write(archive_line(1) + b"\n" + b'{"title": "')
        for _ in range(64):  # a 64 MB line
            f.write(b"y" * (1 << 20))
        f.write(b'"}\n' + archive_line(2) + b"\n")
    tracemalloc.start()
    try:
        entries = list(read_archive(archive))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [type(e).__name__ for e in entries] == ["Item", "BadLine", "Item"]
    assert isinstance(entries[1], BadLine) and entries[1].line == 2
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for a 64 MB line"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("\ufeff".encode("utf-16-le") + '{"title": "x"}\n'.encode("utf-16-le"), "the file is UTF-16"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "the file is gzip-compressed; decompress it first"),
    ],
)
def test_replay_of_an_archive_that_is_not_utf8_text_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, message: str
) -> None:
    archive = tmp_path / "archive.jsonl"
    archive.write_bytes(data)
    cfg = write_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}", [])
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["replay", "-c", str(cfg), str(archive)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"not a JSONL archive: {message}" in err and "Traceback" not in err
