"""Article pages of full-text feeds: the bounded download (feeds/article.py) and the extraction (feeds/extract.py).

The pipeline's use of both, on both stores, is tests/test_fulltext.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio

from newswatch.config import FetchConfig
from newswatch.feeds.article import fetch_page
from newswatch.feeds.extract import article_text, is_teaser
from newswatch.feeds.fetch import make_session
from newswatch.feeds.netguard import AddressGuard
from newswatch.models import Item
from tests.feedserver import FeedServer

ARTICLES = Path(__file__).parents[1] / "fixtures" / "articles"
LIMITS = FetchConfig(timeout=2, connect_timeout=1, max_bytes=100_000)


@pytest_asyncio.fixture
async def srv() -> AsyncIterator[FeedServer]:
    async with FeedServer() as s:
        yield s


@pytest_asyncio.fixture
async def session(srv: FeedServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with make_session(LIMITS, AddressGuard([srv.url("/")])) as s:
        yield s


async def test_a_page_is_fetched_asking_for_html(srv: FeedServer, session: aiohttp.ClientSession) -> None:
    srv.html("/story", (ARTICLES / "envoy-doha-full.html").read_text(encoding="utf-8"))
    page = await fetch_page(session, srv.url("/story"), LIMITS)
    assert page.error is None and page.body is not None and b"Boehler" in page.body
    assert page.content_type == "text/html; charset=utf-8"
    assert srv.requests["/story"][0]["Accept"].startswith("text/html")


async def test_what_is_not_an_html_page_is_refused(srv: FeedServer, session: aiohttp.ClientSession) -> None:
    srv.add("/feed.xml", "<rss version='2.0'><channel/></rss>")  # application/rss+xml
    srv.add("/photo.jpg", b"\xff\xd8\xff\xe0", content_type="image/jpeg")
    assert (await fetch_page(session, srv.url("/feed.xml"), LIMITS)).error == (
        "not an HTML page: application/rss+xml"
    )
    assert (await fetch_page(session, srv.url("/photo.jpg"), LIMITS)).body is None


async def test_only_http_links_are_fetched(session: aiohttp.ClientSession, tmp_path: Path) -> None:
    secret = tmp_path / "secret.html"
    secret.write_text("<html><body><p>local file</p></body></html>", encoding="utf-8")
    for link in (str(secret), secret.as_uri(), "javascript:alert(1)", ""):
        page = await fetch_page(session, link, LIMITS)
        assert page.body is None and page.error == "not an http(s) link"


async def test_a_redirect_off_the_listed_origin_to_loopback_is_refused(
    srv: FeedServer, session: aiohttp.ClientSession
) -> None:
    async with FeedServer() as other:  # loopback, at a port nothing lists
        other.html("/x", "<html><body><p>internal</p></body></html>")
        srv.redirect("/story", other.url("/x"))
        page = await fetch_page(session, srv.url("/story"), LIMITS)
        assert page.body is None and page.error is not None
        assert page.error.startswith(f"redirect to 127.0.0.1:{other.port} refused: loopback address")
        assert not other.hits


def test_extraction_keeps_the_article_and_drops_the_page_around_it() -> None:
    text = article_text((ARTICLES / "envoy-doha-full.html").read_bytes(), "text/html; charset=utf-8")
    assert "Adam Boehler, met senior Hamas officials in Doha" in text
    assert "Qatari mediators hosted the meeting" in text
    for boilerplate in ("newsletter", "Cookie settings", "Markets", "Gulf Courier staff"):
        assert boilerplate not in text
    assert "\n\n" not in text  # one line per paragraph, as feed text


def test_extraction_uses_the_http_charset_and_strips_control_characters() -> None:
    paragraph = (
        "Die Gespräche in Zürich über Gaza dauerten bis in die Nacht; die Vermittler äußerten sich nicht. "
    )
    html = f"<html><body><article><p>{paragraph * 4}</p><p>Ende\x07 der \x1b[2JMeldung.</p></article></body></html>"
    text = article_text(html.encode("iso-8859-1"), "text/html; charset=ISO-8859-1")
    assert "Gespräche in Zürich" in text and "äußerten" in text
    assert "\x07" not in text and "\x1b" not in text


def test_a_page_without_an_article_gives_no_text() -> None:
    assert article_text(b"") == ""
    assert article_text(b"<!DOCTYPE html><html><head><title>Gone</title></head></html>") == ""
    assert article_text(b"\x1f\x8b\x08 not really gzip", "text/html") == ""


def test_a_teaser_is_under_500_characters_of_text_title_aside() -> None:
    long_title = "T" * 2000
    assert is_teaser(Item(title=long_title, url="", source="s", summary="x" * 499))
    assert is_teaser(Item(title="t", url="", source="s", summary="x" * 300, content="y" * 199))
    assert not is_teaser(Item(title="t", url="", source="s", summary="x" * 300, content="y" * 200))
    assert not is_teaser(Item(title="t", url="", source="s", content="y" * 500))
