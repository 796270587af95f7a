"""The fetch stage against a real local HTTP server: good feeds, conditional GET, and every way a feed fails."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from newswatch.config import FetchConfig
from newswatch.feeds.fetch import FetchResult, Validators, fetch, make_session
from newswatch.feeds.netguard import AddressGuard
from tests.feedserver import FeedServer

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Harbour Gazette</title>
<item><title>Ferry timetable changes next week</title><link>https://gazette.example/ferry</link></item>
</channel></rss>"""

MB = 1 << 20
# Small bounds so each failure shows up in about a second.
LIMITS = FetchConfig(timeout=2, connect_timeout=1, max_bytes=1 * MB, max_redirects=5)


@pytest_asyncio.fixture
async def srv() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


@pytest_asyncio.fixture
async def session(srv: FeedServer) -> AsyncIterator[aiohttp.ClientSession]:
    # The local server is "listed", as a configured feed would be; other local addresses are refused.
    async with make_session(LIMITS, AddressGuard([srv.url("/")])) as s:
        yield s


async def get(session: aiohttp.ClientSession, url: str, v: Validators | None = None) -> FetchResult:
    return await fetch(session, url, LIMITS, v or Validators())


# --------------------------------------------------------------------------------------------------------------
# Good feeds


async def test_ok_returns_body_validators_and_headers(
    session: aiohttp.ClientSession, srv: FeedServer
) -> None:
    srv.add(
        "/a.xml",
        RSS,
        etag='"v1"',
        last_modified="Wed, 05 Mar 2025 10:00:00 GMT",
        headers={"Cache-Control": "public, max-age=600"},
    )
    r = await get(session, srv.url("/a.xml"))
    assert r.status == "ok" and r.error is None
    assert r.body == RSS
    assert r.validators == Validators('"v1"', "Wed, 05 Mar 2025 10:00:00 GMT")
    assert r.max_age == 600
    assert r.final_url == srv.url("/a.xml") and r.permanent_redirect is None
    assert r.content_type == "application/rss+xml"
    sent = srv.requests["/a.xml"][0]
    assert (
        sent["User-Agent"].startswith("newswatch/")
        and "(+https://github.com/newswatch)" in sent["User-Agent"]
    )


async def test_gzip_body_is_decompressed(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    srv.add("/gz.xml", RSS, gzip=True)
    r = await get(session, srv.url("/gz.xml"))
    assert r.status == "ok" and r.body == RSS
    assert "gzip" in srv.requests["/gz.xml"][0]["Accept-Encoding"]


async def test_conditional_get_by_etag_is_not_modified(
    session: aiohttp.ClientSession, srv: FeedServer
) -> None:
    srv.add("/a.xml", RSS, etag='"v1"')
    first = await get(session, srv.url("/a.xml"))
    second = await get(session, srv.url("/a.xml"), first.validators)
    assert second.status == "not_modified" and second.body is None and second.error is None
    assert second.validators.etag == '"v1"'
    assert srv.requests["/a.xml"][1]["If-None-Match"] == '"v1"'


async def test_conditional_get_by_last_modified(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    lm = "Thu, 06 Mar 2025 08:30:00 GMT"
    srv.add("/a.xml", RSS, last_modified=lm)
    r = await get(session, srv.url("/a.xml"), Validators(last_modified=lm))
    assert r.status == "not_modified"
    assert r.validators.last_modified == lm
    assert srv.requests["/a.xml"][0]["If-Modified-Since"] == lm


async def test_changed_feed_is_downloaded_again(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    srv.add("/a.xml", RSS, etag='"v2"')
    r = await get(session, srv.url("/a.xml"), Validators(etag='"v1"'))
    assert r.status == "ok" and r.validators.etag == '"v2"'


async def test_permanent_redirect_is_reported(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    srv.add("/new.xml", RSS)
    srv.redirect("/old.xml", "/mid.xml", status=301)
    srv.redirect("/mid.xml", "/new.xml", status=308)
    r = await get(session, srv.url("/old.xml"))
    assert r.status == "ok" and r.body == RSS
    assert r.permanent_redirect == srv.url("/new.xml")
    assert r.final_url == srv.url("/new.xml")


async def test_permanent_redirect_answered_by_304_is_not_reported(
    session: aiohttp.ClientSession, srv: FeedServer
) -> None:
    # The new address sent no body, so nothing shows it serves the feed: no move yet.
    srv.add("/new.xml", RSS, etag='"v1"')
    srv.redirect("/old.xml", "/new.xml", status=301)
    r = await get(session, srv.url("/old.xml"), Validators(etag='"v1"'))
    assert r.status == "not_modified" and r.permanent_redirect is None
    r = await get(session, srv.url("/old.xml"))
    assert r.status == "ok" and r.permanent_redirect == srv.url("/new.xml")


async def test_redirect_to_an_unlisted_local_port_is_refused(
    session: aiohttp.ClientSession, srv: FeedServer
) -> None:
    async with FeedServer() as other:
        other.add("/a.xml", RSS)
        srv.redirect("/ip.xml", other.url("/a.xml"))
        srv.redirect("/name.xml", f"http://localhost:{other.port}/a.xml")
        assert_error(
            await get(session, srv.url("/ip.xml")),
            f"redirect to 127.0.0.1:{other.port} refused: loopback address, neither public nor listed",
        )
        assert_error(
            await get(session, srv.url("/name.xml")),
            f"redirect to localhost:{other.port} (127.0.0.1) refused",
        )
        assert other.hits["/a.xml"] == 0


async def test_temporary_redirect_is_followed_not_remembered(
    session: aiohttp.ClientSession, srv: FeedServer
) -> None:
    srv.add("/new.xml", RSS)
    srv.redirect("/old.xml", "/tmp.xml", status=302)
    srv.redirect("/tmp.xml", "/new.xml", status=301)
    r = await get(session, srv.url("/old.xml"))
    assert r.status == "ok" and r.permanent_redirect is None


async def test_local_file_and_unchanged_file(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS)
    first = await get(session, str(path))
    assert first.status == "ok" and first.body == RSS and first.validators.etag
    second = await get(session, str(path), first.validators)
    assert second.status == "not_modified" and second.body is None
    path.write_bytes(RSS + b"\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    third = await get(session, str(path), first.validators)
    assert third.status == "ok" and third.body == RSS + b"\n"


# --------------------------------------------------------------------------------------------------------------
# Failures: each one a result with a one-line cause, quickly


def assert_error(r: FetchResult, starts: str, within: float = 4.0) -> None:
    assert r.status == "error", r
    assert r.error is not None and r.error.startswith(starts), r.error
    assert "\n" not in r.error
    assert r.body is None
    assert r.elapsed < within, r.elapsed


@pytest.mark.parametrize("status", [404, 500, 410])
async def test_http_error_status(session: aiohttp.ClientSession, srv: FeedServer, status: int) -> None:
    srv.status("/x.xml", status)
    assert_error(await get(session, srv.url("/x.xml")), f"HTTP {status}")


async def test_unregistered_path_is_404(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    assert_error(await get(session, srv.url("/nothing.xml")), "HTTP 404")


async def test_retry_after_seconds_on_429(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    srv.status("/x.xml", 429, {"Retry-After": "120"})
    r = await get(session, srv.url("/x.xml"))
    assert_error(r, "HTTP 429")
    assert r.retry_after == 120


async def test_retry_after_http_date_on_503(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    from email.utils import formatdate

    srv.status("/x.xml", 503, {"Retry-After": formatdate(time.time() + 300, usegmt=True)})
    r = await get(session, srv.url("/x.xml"))
    assert_error(r, "HTTP 503")
    assert r.retry_after is not None and 290 <= r.retry_after <= 301


async def test_hanging_server_times_out(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    srv.hang("/hang.xml")
    r = await get(session, srv.url("/hang.xml"))
    assert_error(r, "timeout after 2s")
    assert r.elapsed >= 1.9


async def test_trickling_server_is_cut_off_at_total_timeout(
    session: aiohttp.ClientSession, srv: FeedServer
) -> None:
    srv.trickle("/slow.xml", interval=0.5)
    assert_error(await get(session, srv.url("/slow.xml")), "timeout after 2s")


async def test_huge_body_with_length_is_refused_before_reading(
    session: aiohttp.ClientSession, srv: FeedServer
) -> None:
    srv.huge("/big.xml", 200 * MB)
    assert_error(await get(session, srv.url("/big.xml")), "body larger than 1 MB", within=2)


async def test_huge_chunked_body_is_cut_at_the_cap(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    srv.huge("/big.xml", 200 * MB, content_length=False)
    assert_error(await get(session, srv.url("/big.xml")), "body larger than 1 MB", within=2)


async def test_gzip_bomb_is_cut_at_the_decompressed_cap(
    session: aiohttp.ClientSession, srv: FeedServer
) -> None:
    srv.gzip_bomb("/bomb.xml", 1 << 30)
    assert_error(await get(session, srv.url("/bomb.xml")), "decompressed body larger than 1 MB", within=3)


async def test_redirect_loop(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    srv.redirect("/a.xml", "/b.xml")
    srv.redirect("/b.xml", "/a.xml")
    assert_error(await get(session, srv.url("/a.xml")), "redirect loop")


async def test_too_many_redirects(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    for i in range(10):
        srv.redirect(f"/r{i}.xml", f"/r{i + 1}.xml")
    srv.add("/r10.xml", RSS)
    assert_error(await get(session, srv.url("/r0.xml")), "too many redirects")
    assert srv.hits["/r5.xml"] == 1 and srv.hits["/r6.xml"] == 0


async def test_exactly_max_redirects_is_fine(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    for i in range(5):
        srv.redirect(f"/r{i}.xml", f"/r{i + 1}.xml")
    srv.add("/r5.xml", RSS)
    assert (await get(session, srv.url("/r0.xml"))).status == "ok"


async def test_redirect_to_a_local_file_is_refused(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    srv.redirect("/a.xml", "file:///etc/passwd")
    assert_error(await get(session, srv.url("/a.xml")), "redirect to a non-http URL")


async def test_connection_refused() -> None:
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/feed.xml"
    async with make_session(LIMITS, AddressGuard([url])) as session:
        assert_error(await get(session, url), "connection refused")


async def test_tls_error(session: aiohttp.ClientSession, srv: FeedServer) -> None:
    # A plain-HTTP server spoken to over https: the TLS handshake fails.
    r = await get(session, srv.url("/a.xml").replace("http://", "https://"))
    assert_error(r, "TLS error")


async def test_missing_local_file(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    missing = tmp_path / "gone.xml"
    assert_error(await get(session, str(missing)), f"not found: {missing}")


async def test_local_file_over_the_cap(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes(b" " * (MB + 1))
    assert_error(await get(session, str(path)), "body larger than 1 MB")


async def test_relative_path_is_refused(session: aiohttp.ClientSession) -> None:
    assert_error(await get(session, "feeds/local.xml"), "not an http(s) URL or absolute path")


async def test_good_feed_unaffected_by_bad_ones_in_the_same_session(
    session: aiohttp.ClientSession, srv: FeedServer
) -> None:
    import asyncio

    srv.add("/good.xml", RSS)
    srv.hang("/hang.xml")
    srv.gzip_bomb("/bomb.xml")
    srv.status("/404.xml", 404)
    urls = [srv.url(p) for p in ("/good.xml", "/hang.xml", "/bomb.xml", "/404.xml")]
    started = time.monotonic()
    results = await asyncio.gather(*(get(session, u) for u in urls))
    assert time.monotonic() - started < 4
    assert [r.status for r in results] == ["ok", "error", "error", "error"]
    assert results[0].elapsed < 1


async def test_feed_server_gzip_bomb_is_a_valid_gzip_stream(srv: FeedServer) -> None:
    # The helper itself: a small "bomb" must inflate to exactly the zeros it announces.
    srv.gzip_bomb("/small.gz", 3 * MB)
    limits = FetchConfig(timeout=5, max_bytes=4 * MB)
    async with make_session(limits, AddressGuard([srv.url("/")])) as s:
        r = await fetch(s, srv.url("/small.gz"), limits)
    assert r.status == "ok" and r.body == bytes(3 * MB)
