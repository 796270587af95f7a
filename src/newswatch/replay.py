"""Replay: archived items (JSONL) through matching, stories and notification, as if they had been polled.

Owns reading an archive: one JSON object per line with ``title``, ``url``, optional ``published``, ``summary``,
``content``, ``source`` and ``id`` (other fields are ignored).  A line that cannot be used is reported with its
number and skipped; every other line is replayed.  Users backtest a watchlist on past news with it; the
evaluation in benchmarks/ uses it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from newswatch.models import Item
from newswatch.normalise import canonical_url, collapse_whitespace, html_to_text, item_keys, text_fingerprint
from newswatch.parse import parse_date

_LOOKS_HTML = re.compile(r"<(?:p|br|div|a|span|em|strong|b|i|ul|li|h[1-6])\b", re.IGNORECASE)


class ArchiveError(Exception):
    """The archive cannot be read at all (missing, unreadable)."""


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str


def read_archive(path: str | Path, source: str = "archive") -> Iterator[Item | BadLine]:
    """Items of an archive in file order, with a :class:`BadLine` in place of each unusable line."""
    p = Path(path)
    try:
        fh = p.open(encoding="utf-8")
    except OSError as exc:
        raise ArchiveError(f"{p}: cannot read archive: {exc.strerror or exc}") from None
    with fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield archive_item(json.loads(line), f"{p}#{number}", source)
            except json.JSONDecodeError as exc:
                yield BadLine(number, f"not JSON: {exc.msg} at column {exc.colno}")
            except (ValueError, TypeError) as exc:
                yield BadLine(number, str(exc))


def archive_item(obj: object, origin: str, default_source: str) -> Item:
    if not isinstance(obj, dict):
        raise ValueError("a line must be a JSON object")
    title = _text(obj.get("title"))
    url = str(obj.get("url") or "").strip()
    guid = str(obj.get("id") or "").strip() or None
    summary = _text(obj.get("summary"))
    content = _text(obj.get("content"))
    if not (title or url or guid):
        raise ValueError("a line needs at least a title, a url or an id")
    canonical = canonical_url(url) if url.startswith(("http://", "https://")) else ""
    published = _date(obj.get("published"))
    keys = item_keys(guid, canonical) or ("text:" + text_fingerprint(title, summary, content),)
    return Item(
        title=title,
        url=canonical or url,
        source=str(obj.get("source") or default_source),
        summary=summary,
        content=content,
        guid=guid,
        published=published,
        link=url,
        feed_url=origin,
        keys=keys,
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return html_to_text(value) if _LOOKS_HTML.search(value) else collapse_whitespace(value)


def _date(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"published: expected an ISO 8601 or RFC 822 date, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = parse_date(value)  # type: ignore[assignment]
        if parsed is None:
            raise ValueError(f"published: {value!r} is not a date") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
