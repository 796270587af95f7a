"""`newswatch feeds`: one line per configured feed with what the store knows of its health and schedule.

Feed titles and error texts come from the feeds themselves, so the table strips terminal escape sequences and
control characters from every cell (``--json`` output is escaped by the JSON encoder instead).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from newswatch.cli.common import EXIT_OK, EXIT_STARTUP, read_store
from newswatch.config import Config, LoadedConfig
from newswatch.shared.terminal import strip_controls
from newswatch.store.base import Store


async def feeds(loaded: LoadedConfig, *, as_json: bool) -> int:
    rows = await read_store(loaded, lambda store: feed_rows(loaded.config, store))
    if rows is None:
        return EXIT_STARTUP
    print(json.dumps(rows, indent=2) if as_json else format_rows(rows))
    return EXIT_OK


COLUMNS = ("feed", "last success", "failures", "last error", "items seen", "next poll")


async def feed_rows(cfg: Config, store: Store) -> list[dict[str, Any]]:
    rows = []
    for feed in cfg.feeds:
        state = await store.get_feed_state(feed.url) or {}
        due = await store.due_time(feed.url)
        rows.append(
            {
                "feed": feed.name or state.get("title") or feed.url,
                "url": feed.url,
                "last_success": _epoch(state.get("last_success")),
                "failures": int(state.get("failures") or 0),
                "last_error": state.get("last_error") if state.get("failures") else None,
                "last_error_at": _epoch(state.get("last_error_at")),
                "items_seen": int(state.get("items_seen") or 0),
                "next_poll": due,
                "moved_to": state.get("moved_to"),
            }
        )
    return rows


def format_rows(rows: list[dict[str, Any]], now: float | None = None) -> str:
    now = time.time() if now is None else now
    table = [COLUMNS]
    for r in rows:
        error = _cell(r["last_error"])
        table.append(
            (
                _cell(r["feed"])[:40],
                _ago(r["last_success"], now) if r["last_success"] else "never",
                str(r["failures"]),
                error[:60] + ("…" if len(error) > 60 else ""),
                str(r["items_seen"]),
                _when(r["next_poll"], now),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    failing = sum(1 for r in rows if r["failures"])
    lines.append(f"{len(rows)} feeds, {failing} failing")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    """A value as terminal-safe text on one line."""
    return strip_controls("" if value is None else str(value)).replace("\n", " ")


def _epoch(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def _ago(epoch: float, now: float) -> str:
    delta = max(0.0, now - epoch)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= size:
            return f"{int(delta // size)}{unit} ago"
    return f"{int(delta)}s ago"


def _when(epoch: float | None, now: float) -> str:
    if epoch is None:
        return "not scheduled"
    if epoch <= now:
        return "due now"
    stamp = datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S UTC")
    return f"in {_ago(now - (epoch - now), now).removesuffix(' ago')} ({stamp})"
