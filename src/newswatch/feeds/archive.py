"""Replay: archived items (JSONL) through matching, stories and notification, as if they had been polled.

Owns the archive format, reading and writing one line: one JSON object per line with ``title``, ``url``,
optional ``published``, ``summary``, ``content``, ``source``, ``id`` and ``feed`` (other fields are ignored).  A line that cannot be used (not UTF-8, not
JSON, longer than :data:`~newswatch.constants.MAX_ARCHIVE_LINE_BYTES`, missing every identity) is reported
with its number and the reason, and skipped; every other line is replayed.  A date that cannot be used (year
0, an offset of days, before :data:`~newswatch.constants.EARLIEST_ITEM_DATE`, after the present) counts as
missing, as in a feed.  An ``id`` identifies an item only within its ``source``, as a GUID does within its
feed; with ``feed`` (what newswatch's own archive writes) within that feed, so an archived item is the item
it was when polled.  Users backtest a watchlist on past news with it; the evaluation in benchmarks/ uses it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from newswatch.constants import MAX_ARCHIVE_LINE_BYTES
from newswatch.feeds.dates import DateOutOfRange, read_date
from newswatch.feeds.text import (
    collapse_whitespace,
    html_to_text,
    http_url,
    item_keys,
    text_fingerprint,
)
from newswatch.models import Item
from newswatch.shared.terminal import strip_controls

_LOOKS_HTML = re.compile(r"<(?:p|br|div|a|span|em|strong|b|i|ul|li|h[1-6])\b", re.IGNORECASE)
# A date this far ahead of the clock is a wrong zone or a bad clock, as in a feed.
_FUTURE_SLACK = timedelta(minutes=10)
_SKIP_CHUNK = 64 * 1024
# Archives that are not UTF-8 text at all: one clear error instead of every line named.
_NOT_TEXT = {
    b"\x1f\x8b": "gzip-compressed; decompress it first",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


class ArchiveError(Exception):
    """The archive cannot be read at all (missing, unreadable, not UTF-8 text)."""


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str


def read_archive(
    path: str | Path,
    source: str = "archive",
    *,
    max_line: int = MAX_ARCHIVE_LINE_BYTES,
    seen_since: datetime | None = None,
) -> Iterator[Item | BadLine]:
    """Items of an archive in file order, with a :class:`BadLine` in place of each unusable line.

    ``seen_since``: only the lines newswatch's archive recorded (``seen``) since then."""
    p = Path(path)
    try:
        fh = p.open("rb")
    except OSError as exc:
        raise ArchiveError(f"{p}: cannot read archive: {exc.strerror or exc}") from None
    with fh:
        try:
            head = fh.peek(4)[:4]
        except OSError as exc:
            raise ArchiveError(f"{p}: cannot read archive: {exc.strerror or exc}") from None
        for magic, what in _NOT_TEXT.items():
            if head.startswith(magic):
                raise ArchiveError(f"{p}: not a JSONL archive: the file is {what}")
        try:
            yield from _entries(fh, p, source, max_line, seen_since)
        except OSError as exc:
            raise ArchiveError(f"{p}: cannot read archive: {exc.strerror or exc}") from None


def _entries(
    fh: BinaryIO, p: Path, source: str, max_line: int, seen_since: datetime | None
) -> Iterator[Item | BadLine]:
    number = 0
    while raw := fh.readline(max_line + 1):
        number += 1
        if len(raw) > max_line and not raw.endswith(b"\n"):
            _skip_rest_of_line(fh)
            yield BadLine(number, f"longer than {max_line} bytes (not read)")
            continue
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield BadLine(number, f"not UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}")
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if seen_since is not None and not _seen_since(obj, seen_since):
                continue
            yield archive_item(obj, f"{p}#{number}", source)
        except json.JSONDecodeError as exc:
            yield BadLine(number, f"not JSON: {exc.msg} at column {exc.colno}")
        except RecursionError:
            yield BadLine(number, "not JSON we read: nested too deeply")
        except (ValueError, TypeError) as exc:
            yield BadLine(number, str(exc))


def _skip_rest_of_line(fh: BinaryIO) -> None:
    """Read past the end of an over-long line in bounded pieces, keeping none of it."""
    while chunk := fh.readline(_SKIP_CHUNK):
        if chunk.endswith(b"\n"):
            return


def archive_item(obj: object, origin: str, default_source: str, now: datetime | None = None) -> Item:
    if not isinstance(obj, dict):
        raise ValueError("a line must be a JSON object")
    # newswatch's own archive (it names the feed) holds texts as they were matched: kept exactly, so the item
    # comes back with the same length and fingerprint.
    exact = bool(obj.get("feed"))
    title = _text(obj.get("title"), exact)
    url = strip_controls(str(obj.get("url") or "")).strip()
    guid = str(obj.get("id") or "").strip() or None
    summary = _text(obj.get("summary"), exact)
    content = _text(obj.get("content"), exact)
    if not (title or url or guid):
        raise ValueError("a line needs at least a title, a url or an id")
    canonical = http_url(url)  # javascript:, file:, data: … stay in link only
    published = _date(obj.get("published"), now or datetime.now(UTC))
    source = strip_controls(str(obj.get("source") or default_source))
    # The feed an archived line came from scopes its GUID and its text (the same text twice in one feed is one
    # report); a line that names neither feed nor source is taken for its site's, not for the file's: copies
    # from two outlets stay two reports.
    origin_of = str(obj.get("source") or "") or urlsplit(canonical).hostname or default_source
    feed = strip_controls(str(obj.get("feed") or "")) or f"archive:{strip_controls(origin_of)}"
    keys = item_keys(guid, canonical, feed, text_fingerprint(title, summary, content))
    return Item(
        title=title,
        url=canonical,
        source=source,
        summary=summary,
        content=content,
        guid=guid,
        published=published,
        link=url,
        feed_url=feed if exact else origin,
        keys=keys,
    )


def _seen_since(obj: object, since: datetime) -> bool:
    seen = obj.get("seen") if isinstance(obj, dict) else None
    try:
        return isinstance(seen, str) and datetime.fromisoformat(seen) >= since
    except ValueError:
        return False


def archive_line(item: Item) -> str:
    """One item as a line of the archive (without the newline): what :func:`archive_item` reads back as the
    same item, under the same identity keys."""
    row = {
        "title": item.title,
        "url": item.url or item.link,
        "published": item.published.isoformat() if item.published else None,
        "summary": item.summary,
        "content": item.content,
        "source": item.source,
        "id": item.guid,
        "feed": item.feed_url,
    }
    return json.dumps({k: v for k, v in row.items() if v not in (None, "")}, ensure_ascii=False)


def _text(value: object, exact: bool = False) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    if exact:
        return value
    value = strip_controls(value)
    return html_to_text(value) if _LOOKS_HTML.search(value) else collapse_whitespace(value)


def _date(value: object, now: datetime) -> datetime | None:
    """The item's date in UTC; None when missing or unusable (out of range, in the future)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"published: expected an ISO 8601 or RFC 822 date, got {type(value).__name__}")
    try:
        parsed = read_date(value)
    except DateOutOfRange:
        return None
    if parsed is None:
        raise ValueError(f"published: {value[:80]!r} is not a date")
    return None if parsed > now + _FUTURE_SLACK else parsed
