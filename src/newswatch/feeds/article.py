"""Article pages: one bounded download of the page behind a teaser, for feeds with ``full_text: true``.

Owns :func:`fetch_page`, which never raises for a page problem: every outcome is a :class:`Page` whose ``error``
is one short line naming the cause.  The download is :func:`newswatch.feeds.fetch.fetch` on the shared session,
so a page has the bounds of a feed (time, bytes on the wire and decompressed, redirects), the session's
:class:`~newswatch.feeds.netguard.AddressGuard` (an article's host is not listed in the config, so it and every
redirect must resolve to a public address; only the hosts and ports of configured feeds are trusted) and the
connector's per-host limit.  Only http(s) links are fetched, and only an HTML answer is kept.  Deciding which
items need a page and extracting its text are the orchestrator's (:mod:`newswatch.fulltext`) and the CPU
stage's (:mod:`newswatch.feeds.extract`).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from newswatch import constants as C
from newswatch.config import FetchConfig
from newswatch.feeds.fetch import fetch

__all__ = ["Page", "fetch_page"]

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass(frozen=True, slots=True)
class Page:
    """An article page: its body (decompressed) and Content-Type, or why there is none."""

    url: str
    body: bytes | None = None
    content_type: str | None = None
    error: str | None = None  # one line; set exactly when body is None


async def fetch_page(session: aiohttp.ClientSession, url: str, limits: FetchConfig) -> Page:
    """Download the page at ``url`` (an item's link) under the feed bounds; a failure is a Page with an error."""
    if not url.startswith(("http://", "https://")):
        return Page(url, error="not an http(s) link")
    result = await fetch(session, url, limits, accept=C.PAGE_ACCEPT)
    if result.status == "error" or result.body is None:
        return Page(url, error=result.error or f"no page ({result.status})")
    media = (result.content_type or "").partition(";")[0].strip().lower()
    if media and media not in _HTML_TYPES:
        return Page(url, error=f"not an HTML page: {media[:100]}")
    return Page(url, result.body, result.content_type)
