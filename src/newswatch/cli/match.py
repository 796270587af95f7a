"""``newswatch match -c FILE ARTICLE... [--json]``: explain, per watch, why articles match or not.

Owns reading the articles a user points at (a text or HTML file, an RSS/Atom feed file, or an http(s) URL
fetched like a feed, under the config's ``fetch`` bounds) and printing :meth:`Matcher.explain` for each item
found.  An HTML page is read as a full-text feed's article is (:func:`newswatch.feeds.extract.article_text`,
trafilatura), so ``match`` explains what ``run`` matches; a page where trafilatura finds no article is read
whole.  The command line itself lives in ``newswatch.cli``, which calls :func:`run_match`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from lxml import html as lxml_html

from newswatch.config import ConfigError, FetchConfig, load_config
from newswatch.feeds.extract import article_text
from newswatch.feeds.fetch import fetch, make_session
from newswatch.feeds.netguard import AddressGuard
from newswatch.feeds.parse import FeedParseError, parse_feed
from newswatch.feeds.text import html_to_text
from newswatch.match.explain import format_explanations
from newswatch.match.matcher import compile_watches
from newswatch.match.query import QuerySyntaxError
from newswatch.models import Item

MAX_BYTES = 5 * 1024 * 1024  # a file argument


class ArticleError(Exception):
    """An article argument that could not be read; ``str()`` is one line."""


def run_match(config_path: str, articles: list[str], as_json: bool, out: TextIO | None = None) -> int:
    """Print, for each item in ``articles``, every watch's verdict; 0 if all were read, 1 if some were not,
    2 when the config or a query is unusable."""
    out = out or sys.stdout
    try:
        loaded = load_config(config_path)
        matcher = compile_watches(loaded.config.entities, loaded.config.watches)
    except (ConfigError, QuerySyntaxError) as exc:
        print(f"newswatch match: {exc}", file=sys.stderr)
        return 2
    status = 0
    report: list[dict[str, Any]] = []
    for arg in articles:
        try:
            items = load_articles(arg, loaded.config.fetch)
        except ArticleError as exc:
            print(f"newswatch match: {arg}: {exc}", file=sys.stderr)
            status = 1
            continue
        for item in items:
            explanations = matcher.explain(item)
            if as_json:
                report.append(
                    {
                        "article": arg,
                        "title": item.title,
                        "url": item.url,
                        "watches": [e.to_dict() for e in explanations],
                    }
                )
            else:
                print(f"== {item.title or '(untitled)'}  [{arg}]", file=out)
                print(format_explanations(explanations) or "(no watches configured)", file=out)
                print(file=out)
    if as_json:
        json.dump(report, out, ensure_ascii=False, indent=2)
        print(file=out)
    return status


def load_articles(arg: str, limits: FetchConfig | None = None) -> list[Item]:
    """The items in one ARTICLE argument: every entry of a feed, or the page/text as one item."""
    if arg.startswith(("http://", "https://")):
        body, content_type = asyncio.run(download(arg, limits or FetchConfig()))
        url = arg
    else:
        path = Path(arg)
        try:
            with path.open("rb") as fh:
                body = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise ArticleError(f"cannot read: {exc.strerror or exc}") from None
        if len(body) > MAX_BYTES:
            raise ArticleError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
        content_type, url = None, path.resolve().as_uri()
    try:
        feed = parse_feed(body, url, None, datetime.now(UTC), content_type=content_type)
        if feed.items:
            return feed.items
    except FeedParseError:
        pass  # not a feed: an article page or plain text
    return [article_item(body, url, content_type)]


def article_item(body: bytes, url: str, content_type: str | None = None) -> Item:
    """One item from an HTML page (its article, as trafilatura reads it) or a plain-text file (first line as the
    title)."""
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    head = text[:2048].lower()
    if "<html" in head or "<body" in head or "<p" in head or "<!doctype html" in head:
        title = ""
        try:
            doc = lxml_html.fromstring(body)
            found = doc.xpath("//title//text()") or doc.xpath("//h1//text()")
            title = " ".join(" ".join(str(t) for t in found).split())
        except (ValueError, SyntaxError):
            pass
        content = article_text(body, content_type) or html_to_text(text)
        if title and content.startswith(title):
            content = content[len(title) :].lstrip()
        return Item(title=title, url=url, source="match", content=content)
    lines = text.strip().splitlines()
    title = lines[0].strip() if lines else ""
    return Item(title=title, url=url, source="match", content="\n".join(lines[1:]).strip())


async def download(url: str, limits: FetchConfig) -> tuple[bytes, str | None]:
    """The body and Content-Type of ``url``, downloaded as a feed is (same bounds); the host named on the command
    line is trusted, a redirect elsewhere must reach a public address."""
    async with make_session(limits, AddressGuard([url])) as session:
        result = await fetch(session, url, limits)
    if result.status != "ok" or result.body is None:
        raise ArticleError(result.error or "no body")
    return result.body, result.content_type
