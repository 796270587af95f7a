"""Replay: archived items (JSONL) through matching, stories and notification, as if they had been polled.

Owns reading an archive: one JSON object per line with ``title``, ``url``, optional ``published``, ``summary``,
``content``, ``source`` and ``id`` (other fields are ignored).  A line that cannot be used (not UTF-8, not
JSON, longer than :data:`~newswatch.constants.MAX_ARCHIVE_LINE_BYTES`, missing every identity) is reported
with its number and the reason, and skipped; every other line is replayed.  A date that cannot be used (year
0, an offset of days, before :data:`~newswatch.constants.EARLIEST_ITEM_DATE`, after the present) counts as
missing, as in a feed.  An ``id`` identifies an item only within its ``source``, as a GUID does within its
feed.  Users backtest a watchlist on past news with it; the evaluation in benchmarks/ uses it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

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
    path: str | Path, source: str = "archive", *, max_line: int = MAX_ARCHIVE_LINE_BYTES
) -> Iterator[Item | BadLine]:
    """Items of an archive in file order, with a :class:`BadLine` in place of each unusable line."""
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
            yield from _entries(fh, p, source, max_line)
        except OSError as exc:
            raise ArchiveError(f"{p}: cannot read archive: {exc.strerror or exc}") from None


def _entries(fh: BinaryIO, p: Path, source: str, max_line: int) -> Iterator[Item | BadLine]:
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
            yield archive_item(json.loads(line), f"{p}#{number}", source)
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
    title = _text(obj.get("title"))
    url = strip_controls(str(obj.get("url") or "")).strip()
    guid = str(obj.get("id") or "").strip() or None
    summary = _text(obj.get("summary"))
    content = _text(obj.get("content"))
    if not (title or url or guid):
        raise ValueError("a line needs at least a title, a url or an id")
    canonical = http_url(url)  # javascript:, file:, data: … stay in link only
    published = _date(obj.get("published"), now or datetime.now(UTC))
    source = strip_controls(str(obj.get("source") or default_source))
    keys = item_keys(guid, canonical, f"archive:{source}")
    return Item(
        title=title,
        url=canonical,
        source=source,
        summary=summary,
        content=content,
        guid=guid,
        published=published,
        link=url,
        feed_url=origin,
        keys=keys or ("text:" + text_fingerprint(title, summary, content),),
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
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
