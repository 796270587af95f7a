"""The console sink: a readable block per alert or update on stdout, used when no Slack is configured.

Everything printed comes from feeds, so terminal escape sequences and control characters are stripped first:
a title cannot clear the screen, retitle the window or hide a link behind innocent text (OSC 8).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from newswatch.delivery.notify.base import Record
from newswatch.shared.terminal import strip_controls


class ConsoleNotifier:
    name = "console"
    threads = False
    pace = 0.0

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream

    async def start(self) -> None:
        return None

    async def send(self, target: str, record: Record, thread: str | None) -> str | None:
        out = self._stream or sys.stdout
        published = record.get("published")
        when = datetime.fromisoformat(published).strftime("%Y-%m-%d %H:%M UTC") if published else "no date"
        watch, title, source, url = (_safe(record.get(k)) for k in ("watch", "title", "source", "url"))
        if record.get("event") == "update":
            lines = [f"  [UPDATE] {watch}: also reported by {source}: {title}"]
            lines.append(f"      {when} · {url}")
        else:
            event = "ALERT" if record.get("event") == "alert" else _safe(record.get("event")).upper()
            lines = [f"[{event}] {watch}: {title}", f"    {source} · {when} · {url}"]
            if record.get("matched"):
                lines.append(f"    matched: {', '.join(_safe(term) for term in record['matched'])}")
            related = record.get("related")
            if isinstance(related, dict):
                lines.append(
                    f"    possibly related to: {_safe(related.get('title'))} · {_safe(related.get('url'))}"
                )
        out.write("\n".join(lines) + "\n")
        out.flush()
        return None

    async def send_digest(self, target: str, records: Sequence[Record], reason: str) -> None:
        for record in records:
            await self.send(target, record, None)

    async def close(self) -> None:
        return None


def _safe(value: Any) -> str:
    """One field as terminal-safe text on one line."""
    return strip_controls("" if value is None else str(value)).replace("\n", " ")
