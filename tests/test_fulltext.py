"""Full text on request (issue 15), on both stores: a ``full_text: true`` feed of teasers alerts on words that only
its article pages hold; a page that fails falls back to the teaser with one log line; a re-sighting never fetches
its page again.

Feeds (tests/fixtures/fulltext/) and article pages (tests/fixtures/articles/*-full.html) were written for these
tests and are served by the local feed server; alerts are read back from the JSONL notifier.  Expected outcomes
are written out here, item by item.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from newswatch import constants as C
from newswatch.app import open_app
from newswatch.cli import run
from newswatch.config import FeedConfig, load_config
from tests.feedserver import FeedServer

FIXTURES = Path(__file__).parent / "fixtures"
FEEDS, ARTICLES = FIXTURES / "fulltext", FIXTURES / "articles"

ENVOY, AID, VOTE = "/world/envoy-doha", "/world/aid-convoy", "/world/ceasefire-vote"
ACCORD, LEDGER = "/world/shipping-accord", "/ledger/envoy-channel"
WATCHES = """
watches:
  - {name: Envoy, query: 'Boehler'}            # only in the envoy article
  - {name: Desalination, query: 'desalination'}  # only in the aid convoy article
  - {name: Witkoff, query: 'Witkoff'}          # only in the ceasefire vote article
  - {name: Newsletter, query: 'newsletter'}    # only in the pages' headers and footers, never in an article
  - {name: Doha, query: 'Doha'}                # in titles and teasers
"""


def page(name: str) -> str:
    return (ARTICLES / name).read_text(encoding="utf-8")


def feed(server: FeedServer, name: str) -> str:
    return (FEEDS / name).read_text(encoding="utf-8").replace("BASE", server.url(""))


def records(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "alerts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def config(tmp_path: Path, store_url: str, feeds: str, extra: str = "") -> Path:
    path = tmp_path / "newswatch.yaml"
    path.write_text(
        f"store: {store_url}\nmax_item_age: null\n{extra}\nfeeds:\n{feeds}\n{WATCHES}\n"
        f"notify:\n  jsonl: {tmp_path / 'alerts.jsonl'}\n",
        encoding="utf-8",
    )
    return path


async def test_teaser_feed_alerts_on_words_only_its_articles_hold(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server:
        server.add("/courier.xml", feed(server, "courier.xml"), etag='"v1"')
        server.add("/digest.xml", feed(server, "digest.xml"))
        server.add("/ledger.xml", feed(server, "ledger.xml"))
        server.html(ENVOY, page("envoy-doha-full.html"))
        server.html(AID, page("aid-convoy-full.html"))
        server.html(VOTE, page("ceasefire-vote-full.html"))
        server.html(LEDGER, page("envoy-doha-full.html"))  # holds Boehler too, but its feed is not full_text
        feeds = (
            f"  - {{url: {server.url('/courier.xml')}, full_text: true}}\n"
            f"  - {{url: {server.url('/digest.xml')}, full_text: true}}\n"
            f"  - {{url: {server.url('/ledger.xml')}}}"
        )
        loaded = load_config(config(tmp_path, store_url, feeds))
        assert await run(loaded, once=True) == 0

        got = records(tmp_path)
        url = server.url
        assert sorted((r["watch"], r["url"]) for r in got) == sorted(
            [
                # From the article, fetched once for the Courier's copy and the digest's.
                ("Envoy", url(ENVOY)),
                ("Desalination", url(AID)),
                ("Doha", url(ENVOY)),
                ("Doha", url(ACCORD)),  # a full item: matched on its own text, its page never asked for
                ("Doha", url(LEDGER)),
            ]
        )
        envoy = next(r for r in got if r["watch"] == "Envoy")
        assert "Boehler" in envoy["matched"] and "Boehler" in envoy["snippet"]
        # The alert record is the same contract, whether the text came from an article or from the feed.
        ledger = next(r for r in got if r["url"] == url(LEDGER))
        assert set(envoy) == set(ledger)
        assert server.hits[ENVOY] == 1 and server.hits[AID] == 1
        assert server.hits[LEDGER] == 0 and server.hits[ACCORD] == 0 and server.hits[VOTE] == 0
        assert "text/html" in server.requests[ENVOY][0]["Accept"]

        # Later: one new teaser on top, the others seen again in a changed feed.  A new process (run --once),
        # so only the store can tell the re-sightings apart: their pages are not fetched again.
        server.add("/courier.xml", feed(server, "courier-later.xml"), etag='"v2"')
        assert await run(loaded, once=True) == 0
        assert server.hits["/courier.xml"] == 2
        assert server.hits[VOTE] == 1
        assert server.hits[ENVOY] == 1 and server.hits[AID] == 1
        later = records(tmp_path)[len(got) :]
        assert [(r["watch"], r["url"]) for r in later] == [("Witkoff", url(VOTE))]


BROKEN = {  # path -> (cause in the log line and the metric, what the error says)
    "/pages/missing": ("http_status", "HTTP 404"),
    "/pages/slow": ("timeout", "timeout after 2s"),
    "/pages/huge": ("too_large", "body larger than"),
    "/pages/away": ("http_status", "refused: loopback address"),
    "/pages/report.pdf": ("other", "not an HTML page: application/pdf"),
    "/pages/empty": ("other", "no article text found"),
}


def teasers(server: FeedServer, paths: list[str]) -> str:
    items = "".join(
        f"<item><title>Envoy in Doha, part {n}</title><link>{server.url(p)}</link><guid>{server.url(p)}</guid>"
        f"<description>Officials met in Doha. Read more…</description></item>"
        for n, p in enumerate(paths)
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>{items}</channel></rss>'


async def test_a_page_that_fails_falls_back_to_the_teaser_with_one_log_line(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="newswatch")
    async with FeedServer() as server, FeedServer() as unlisted:
        # On loopback, at a port the config does not list:
        unlisted.html("/envoy", page("envoy-doha-full.html"))
        server.hang("/pages/slow")
        server.huge("/pages/huge", 1_000_000)
        server.redirect("/pages/away", unlisted.url("/envoy"))
        server.add("/pages/report.pdf", b"%PDF-1.4 Boehler", content_type="application/pdf")
        server.html("/pages/empty", "<!DOCTYPE html><html><head><title>Gone</title></head></html>")
        server.html("/pages/envoy", page("envoy-doha-full.html"))
        paths = [*BROKEN, "/pages/envoy"]
        server.add("/wire.xml", teasers(server, paths))
        path = config(tmp_path, store_url, f"  - {{url: {server.url('/wire.xml')}, full_text: true}}",
                      extra="fetch: {timeout: 2s, max_bytes: 100000}")  # fmt: skip
        async with open_app(load_config(path)) as app:
            await app.pipeline.run_once()
            metrics = app.metrics.registry

        # Nothing lost: every item alerts on its teaser, once; the one good page adds its article's word.
        got = records(tmp_path)
        assert sorted((r["watch"], r["url"]) for r in got) == sorted(
            [("Doha", server.url(p)) for p in paths] + [("Envoy", server.url("/pages/envoy"))]
        )
        lines = [r for r in caplog.records if r.getMessage() == "full text unavailable"]
        assert {r.url: (r.cause, r.error) for r in lines}.keys() == {server.url(p) for p in BROKEN}
        assert len(lines) == len(BROKEN)  # one line each
        for line in lines:
            cause, says = BROKEN[line.url.removeprefix(server.url(""))]
            assert line.cause == cause and says in line.error, (line.url, line.cause, line.error)
        assert not unlisted.hits  # the refused address was never connected to
        assert metrics.get_sample_value("newswatch_pages_fetched_total") == 1
        for cause in ("http_status", "timeout", "too_large", "other"):
            expected = sum(c == cause for c, _ in BROKEN.values())
            assert metrics.get_sample_value("newswatch_page_failures_total", {"cause": cause}) == expected


async def test_items_too_old_to_record_have_no_page_fetched(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server:
        server.add("/courier.xml", feed(server, "courier.xml"))
        server.html(ENVOY, page("envoy-doha-full.html"))
        server.html(AID, page("aid-convoy-full.html"))
        path = config(tmp_path, store_url, f"  - {{url: {server.url('/courier.xml')}, full_text: true}}",
                      extra="workers: 0")  # fmt: skip
        path.write_text(path.read_text().replace("max_item_age: null", "max_item_age: 3d"))
        assert await run(load_config(path), once=True) == 0  # the items are from 2025
        assert server.hits["/courier.xml"] == 1
        assert server.hits[ENVOY] == 0 and server.hits[AID] == 0
        assert records(tmp_path) == []


async def test_one_poll_fetches_at_most_max_pages_per_poll(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="newswatch")
    paths = [f"/pages/{n}" for n in range(C.MAX_PAGES_PER_POLL + 3)]
    async with FeedServer() as server:
        for p in paths:
            server.html(p, page("envoy-doha-full.html"))
        server.add("/wire.xml", teasers(server, paths))
        path = config(tmp_path, store_url, f"  - {{url: {server.url('/wire.xml')}, full_text: true}}")
        async with open_app(load_config(path)) as app:
            await app.pipeline.run_once()
        fetched, skipped = paths[: C.MAX_PAGES_PER_POLL], paths[C.MAX_PAGES_PER_POLL :]
        assert [server.hits[p] for p in fetched] == [1] * len(fetched)
        assert [server.hits[p] for p in skipped] == [0] * len(skipped)
        (line,) = [r for r in caplog.records if r.getMessage() == "full text skipped"]
        assert line.items == len(skipped)
        got = sorted((r["watch"], r["url"]) for r in records(tmp_path))
        assert got == sorted(
            [("Doha", server.url(p)) for p in paths] + [("Envoy", server.url(p)) for p in fetched]
        )


class Topics:
    """A stand-in for the WebSub side (feeds/pushed.py): which feed a pushed topic is."""

    def __init__(self, feeds: dict[str, FeedConfig]) -> None:
        self.feeds = feeds

    def feed(self, topic: str) -> FeedConfig | None:
        return self.feeds.get(topic)


async def test_a_pushed_teaser_is_matched_on_its_article_too(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server:
        server.html(ENVOY, page("envoy-doha-full.html"))
        topic = server.url("/courier.xml")
        path = config(tmp_path, store_url, f"  - {{url: {topic}, full_text: true}}", extra="workers: 0")
        loaded = load_config(path)
        async with open_app(loaded) as app:
            app.pipeline.push = Topics({topic: loaded.config.feeds[0]})  # type: ignore[assignment]
            await app.pipeline.on_push(topic, feed(server, "courier.xml").encode(), "application/rss+xml")
            await app.pipeline.delivery.drain_all(deadline=time.time() + 30)
        assert server.hits[ENVOY] == 1
        assert ("Envoy", server.url(ENVOY)) in {(r["watch"], r["url"]) for r in records(tmp_path)}
