"""The parse stage: feed bytes in, normalised :class:`~newswatch.models.Item` values out.

Owns turning one downloaded body into items: refusing hostile or non-feed input with a one-line
:class:`FeedParseError`, choosing the character set, running feedparser (the correctness reference), and
building each item with its canonical URL (http(s) only), plain text without control characters, date
(read by :mod:`newswatch.feeds.dates`; an unusable one is missing) and dedupe keys (GUIDs scoped to the feed).

``parse_feed`` is a pure top-level function over picklable values, so the pipeline can run it in a thread or
process pool.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import feedparser

from newswatch.feeds.dates import DateOutOfRange, from_struct_time, parse_date, read_date
from newswatch.feeds.fastpath import feedparser_date, read_feed
from newswatch.feeds.text import (
    collapse_whitespace,
    html_to_text,
    http_url,
    item_keys,
    strip_source_suffix,
    text_fingerprint,
)
from newswatch.models import Item
from newswatch.shared.terminal import strip_controls

__all__ = ["FeedParseError", "ParsedFeed", "parse_date", "parse_feed"]


class FeedParseError(Exception):
    """A body that yields no feed; ``str()`` is one line naming the cause."""


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    items: list[Item]
    ttl: float | None  # seconds the publisher asks us to wait between polls (RSS <ttl>, sy:updatePeriod)
    # One line when feedparser had to recover from an error but still found entries (e.g. an unescaped "&").
    warning: str | None = None


# A date more than this far in the future is a wrong zone or a bad clock; it is read as "now" so the item
# neither jumps ahead of everything nor escapes max_item_age for ever.
_FUTURE_SLACK = timedelta(minutes=10)


def parse_feed(
    body: bytes,
    feed_url: str,
    source: str | None,
    now: datetime,
    *,
    content_type: str | None = None,
    fast: bool = True,
) -> ParsedFeed:
    """Items of one feed document; raise :class:`FeedParseError` for anything that is not a usable feed.

    ``source`` is the configured feed name (falls back to the feed's title, then the host); ``now`` bounds
    future dates; ``content_type`` is the HTTP Content-Type header when there was one (its charset is used
    when the document declares none).  ``fast=False`` skips the lxml fast path (:mod:`newswatch.feeds.fastpath`)
    and always uses feedparser; both give the same items for every document the fast path accepts.
    """
    if not body.removeprefix(b"\xef\xbb\xbf").strip():
        raise FeedParseError("empty body")
    head = _ascii_head(body)
    root = _root_start(head)
    if _declares_entities(head):
        raise FeedParseError("entity declarations are not allowed")
    if re.match(rb"<(?:!doctype\s+html|html[\s>])", root, re.IGNORECASE):
        raise FeedParseError("not a feed (HTML page)")

    ctype = _content_type_for(body, content_type)
    # The common, plain RSS 2.0 / Atom document is read with lxml (about 10x faster); anything it does not
    # clearly understand comes back None and goes to feedparser, the reference.
    doc = read_feed(body, _declared_charset(ctype)) if fast else None
    if doc is not None:
        return _parsed(doc.feed, doc.entries, feed_url, source, now, None)

    # No content-location: feedparser would resolve a non-URL permalink GUID ("abc-1") against it and
    # invent both a GUID and a link; relative links are resolved against feed_url in _items instead.
    headers = {"content-type": ctype}
    # BytesIO, never the bytes: feedparser.parse treats a bytes/str argument that names a file or URL as a
    # path to open, so a body consisting of "/etc/passwd" would read that file.
    # sanitize_html / resolve_relative_uris only rewrite HTML we turn into plain text anyway (see
    # benchmarks/bench_parse.py for what they cost).
    d = feedparser.parse(
        io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    warning = None
    if d.get("bozo"):
        exc = d.get("bozo_exception")
        if isinstance(exc, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType):
            pass  # feedparser coped; the items are fine
        elif _is_truncated(body) or not d.entries:
            raise FeedParseError(_describe_xml_error(exc, d))
        else:
            warning = _describe_xml_error(exc, d) + " (recovered)"
    if not d.entries and not d.get("version"):
        raise FeedParseError("not a feed (no RSS or Atom root element)")

    return _parsed(d.feed, d.entries, feed_url, source, now, warning)


def _parsed(
    feed: Mapping[str, Any],
    entries: list[Any],
    feed_url: str,
    source: str | None,
    now: datetime,
    warning: str | None,
) -> ParsedFeed:
    """The result from feed values and entries in feedparser's shape, whichever parser produced them."""
    feed_title = _plain(feed.get("title", ""), feed.get("title_detail")) or None
    item_source = source or feed_title or _host(feed_url)
    items = _items(entries, feed_url, item_source, now)
    return ParsedFeed(title=feed_title, items=items, ttl=_ttl(feed), warning=warning)


# --------------------------------------------------------------------------------------------------------------
# Entries → items


def _items(entries: list[Any], feed_url: str, source: str, now: datetime) -> list[Item]:
    items: list[Item] = []
    seen_guids: set[str] = set()
    base = feed_url if feed_url.startswith(("http://", "https://")) else None
    for e in entries:
        guid = (e.get("id") or "").strip() or None
        if guid is not None:
            if guid in seen_guids:  # a feed listing one entry twice: the first one is the current one
                continue
            seen_guids.add(guid)
        link = (e.get("link") or "").strip()
        if e.get("guidislink") and not link.startswith(("http://", "https://")):
            # feedparser copies a permalink GUID into link; one that is not a URL ("x", "tag:…") is no link
            link = ""
        title = _plain(e.get("title", ""), e.get("title_detail"))
        if not (link or guid or title):
            continue
        entry_source = (e.get("source") or {}).get("title")
        if entry_source:  # aggregators (Google News …) append " - Outlet" and say so in <source>
            title = strip_source_suffix(title, entry_source)
        summary = _plain(e.get("summary", ""), e.get("summary_detail"), default_html=True)
        content = "\n\n".join(
            text for c in e.get("content") or () if (text := _plain(c.get("value", ""), c, default_html=True))
        )
        if content == summary:
            # feedparser copies content:encoded into summary when there is no description: say it once.
            summary = ""
        # mailto:, javascript:, data:, file: or a relative link in a local file: nothing to open or key on.
        url = http_url(link, base)
        if not url and guid:
            url = http_url(guid)
        keys = item_keys(guid, url, feed_url, text_fingerprint(title, summary, content))
        items.append(
            Item(
                title=title,
                url=url,
                # An aggregator's entry that names its outlet is that outlet's report ("Also reported by …").
                source=collapse_whitespace(strip_controls(str(entry_source)))[:200] or source
                if entry_source
                else source,
                summary=summary,
                content=content,
                guid=guid,
                published=_published(e, now),
                link=link,
                feed_url=feed_url,
                keys=keys,
            )
        )
    return items


def _plain(value: str, detail: Mapping[str, Any] | None, default_html: bool = False) -> str:
    if not value:
        return ""
    kind = (detail or {}).get("type") or ""
    if "html" in kind or (not kind and default_html):
        return html_to_text(value)  # which also strips escape sequences and control characters
    value = strip_controls(value)  # never text, and a terminal would obey them
    return collapse_whitespace(value) if "\n" not in value else _plain_text(value)


def _plain_text(value: str) -> str:
    """Plain text kept as text (a literal "<" stays), with line structure kept and spaces collapsed."""
    lines = (collapse_whitespace(line) for line in value.splitlines())
    return "\n".join(line for line in lines if line)


def _host(feed_url: str) -> str:
    if feed_url.startswith(("http://", "https://")):
        return urlsplit(feed_url).hostname or feed_url
    return feed_url.rstrip("/").rsplit("/", 1)[-1] or feed_url


# --------------------------------------------------------------------------------------------------------------
# Dates

_MISSING = object()


def _published(e: dict[str, Any], now: datetime) -> datetime | None:
    """The entry's date in UTC; None when it has none we can use (unreadable or out of range)."""
    dt = None
    for key in ("published", "updated", "created"):
        # dict.get, not e.get: FeedParserDict maps a missing "updated" to "published" with a
        # DeprecationWarning, and we ask for each key on purpose.
        raw = dict.get(e, key)
        if not raw:
            continue
        try:
            dt = read_date(raw)
        except DateOutOfRange:
            continue  # a date, but not one to use: feedparser's reading of it would be no better
        if dt is None:
            # The fast path leaves feedparser's date reading to here, where it is rarely needed.
            parsed = dict.get(e, key + "_parsed", _MISSING)
            if parsed is _MISSING:
                parsed = _feedparser_date(raw)
            if parsed:  # formats feedparser knows and we don't (W3CDTF parts…)
                dt = from_struct_time(parsed)
        if dt is not None:
            break
    if dt is None:
        return None
    now_utc = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    return now_utc if dt > now_utc + _FUTURE_SLACK else dt


def _feedparser_date(raw: str) -> Any:
    try:
        return feedparser_date(raw)
    except Exception:  # its handlers catch only some errors; a date must never cost the feed its items
        return None


# --------------------------------------------------------------------------------------------------------------
# Poll hints

_PERIOD_S = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 30 * 86400,
    "yearly": 365 * 86400,
}


def _ttl(feed: Mapping[str, Any]) -> float | None:
    ttl = feed.get("ttl")
    if ttl:
        try:
            minutes = float(str(ttl).strip())
        except ValueError:
            minutes = 0
        if minutes > 0:
            return minutes * 60
    period = _PERIOD_S.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    if period:
        try:
            freq = max(1.0, float(str(feed.get("sy_updatefrequency") or "1").strip()))
        except ValueError:
            freq = 1.0
        return period / freq
    return None


# --------------------------------------------------------------------------------------------------------------
# Hostile and malformed input

_PROLOG_SKIP_RE = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)", re.DOTALL)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _ascii_head(body: bytes) -> bytes:
    """The document in an ASCII-compatible encoding, for looking at its prolog.

    UTF-16/32 documents are decoded first, or their DOCTYPE would hide between NUL bytes.
    """
    head = body
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
        for codec in ("utf-32", "utf-16") if head[:4].count(b"\x00") >= 3 else ("utf-16", "utf-32"):
            try:
                return head.decode(codec, "ignore").encode("utf-8")
            except (UnicodeError, LookupError):
                continue
    return head.removeprefix(b"\xef\xbb\xbf")


def _root_start(head: bytes) -> bytes:
    """The head from the first thing that is not whitespace, an XML declaration, a PI or a comment."""
    pos = 0
    while m := _PROLOG_SKIP_RE.match(head, pos):
        if m.end() == pos:
            break
        pos = m.end()
    return head[pos:]


def _declares_entities(head: bytes) -> bool:
    """Whether a DOCTYPE in the prolog declares entities (billion laughs, external entities / XXE).

    Feeds have no use for them; refusing them here means no XML parser ever sees one, whatever its defaults.
    Any ``<!ENTITY`` after a DOCTYPE counts, even inside a string, since a false alarm costs one feed
    and a miss could cost a file.
    """
    rest = _root_start(head)
    if rest[:9].upper() != b"<!DOCTYPE":
        return False
    return re.search(rb"<!ENTITY", rest, re.IGNORECASE) is not None


_TRAILING_MISC_RE = re.compile(rb"(?:\s|\x00|<!--.*?-->|<\?.*?\?>)+$", re.DOTALL)
_CLOSING_ROOT_RE = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF|rdf)\s*>\s*$", re.IGNORECASE)


def _is_truncated(body: bytes) -> bool:
    """A feed whose root element never closes was cut off in transit: its last item cannot be trusted."""
    if b"\x00" in body[:4]:  # UTF-16/32: the byte patterns below do not apply
        return False
    tail = _TRAILING_MISC_RE.sub(b"", body[-1024:])  # comments and PIs may follow the root element
    return _CLOSING_ROOT_RE.search(tail) is None


def _describe_xml_error(exc: object, d: Mapping[str, Any]) -> str:
    if exc is None:
        return "malformed XML"
    get_line = getattr(exc, "getLineNumber", None)
    line = get_line() if callable(get_line) else None
    reason = getattr(exc, "getMessage", None)
    msg = reason() if callable(reason) else str(exc)
    msg = collapse_whitespace(str(msg)) or type(exc).__name__
    return f"malformed XML: {msg} at line {line}" if line else f"malformed XML: {msg}"


# --------------------------------------------------------------------------------------------------------------
# Character sets

_XML_DECL_RE = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def _declared_charset(content_type: str) -> str | None:
    m = _CHARSET_RE.search(content_type)
    return m.group(1) if m else None


def _content_type_for(body: bytes, http_content_type: str | None) -> str:
    """The Content-Type to tell feedparser, naming the charset we settled on.

    Order: a BOM, then the document's own declaration when the bytes agree with it, then the HTTP charset,
    then UTF-8 when the bytes are valid UTF-8, else a guess between Windows-1251 and Windows-1252.
    """
    if body.startswith(_BOMS) or b"\x00" in body[:4]:
        return "application/xml"  # feedparser reads BOMs and UTF-16/32 correctly itself
    declared = _XML_DECL_RE.match(body.lstrip())
    candidates: list[str] = []
    if declared:
        candidates.append(declared.group(1).decode("ascii"))
    if http_content_type and (m := _CHARSET_RE.search(http_content_type)):
        candidates.append(m.group(1))
    candidates.append("utf-8")
    for charset in candidates:
        try:
            body.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
        return f"application/xml; charset={charset}"
    return f"application/xml; charset={_guess_single_byte(body)}"


# "<" is excluded inside a tag so that each of "<<<<…" stops at the next one (linear; "[^>]*" was quadratic).
_TAG_RE = re.compile(rb"<[^<>]*>")


def _guess_single_byte(body: bytes) -> str:
    """Windows-1251 when high bytes are most of the letters (Cyrillic text), else Windows-1252 (Latin text).

    In Russian text nearly every letter is a byte ≥ 0xC0; in French or German ones only accented letters are.
    """
    text = _TAG_RE.sub(b" ", body)  # tag and attribute names are ASCII in every feed
    high = sum(1 for b in text if b >= 0xC0)
    letters = high + sum(1 for b in text if 65 <= b <= 90 or 97 <= b <= 122)
    return "windows-1251" if letters and high / letters > 0.3 else "windows-1252"
