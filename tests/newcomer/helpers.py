"""Small builders for the newcomer tests: RSS files written for each test, and running the CLI on them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from newswatch.feeds.text import http_url
from newswatch.feeds.text import url_key as _url_key


def rss(title: str, items: Sequence[dict[str, Any]]) -> str:
    """An RSS 2.0 document; each item: title, link, description, and ``age`` (a timedelta before now)."""
    now = datetime.now(UTC)
    parts = []
    for it in items:
        when = format_datetime(now - it.get("age", timedelta(minutes=5)))
        source = (
            f'<source url="https://src.example/rss">{escape(it["source"])}</source>' if "source" in it else ""
        )
        parts.append(
            f"<item><title>{escape(it['title'])}</title><link>{escape(it['link'])}</link>"
            f"<description>{escape(it.get('description', ''))}</description><pubDate>{when}</pubDate>{source}</item>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>https://example.org/</link>{''.join(parts)}</channel></rss>"
    )


def url_key(url: str) -> str:
    return _url_key(http_url(url))


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
