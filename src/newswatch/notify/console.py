"""The console sink: a readable block per alert or update on stdout, used when no Slack is configured."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from newswatch.notify.base import Record


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
        if record.get("event") == "update":
            lines = [f"  [UPDATE] {record['watch']}: also reported by {record['source']}: {record['title']}"]
            lines.append(f"      {when} · {record['url']}")
        else:
            lines = [
                f"[{'ALERT' if record.get('event') == 'alert' else str(record.get('event', '')).upper()}] {record['watch']}: {record['title']}",
                f"    {record['source']} · {when} · {record['url']}",
            ]
            if record.get("matched"):
                lines.append(f"    matched: {', '.join(record['matched'])}")
        out.write("\n".join(lines) + "\n")
        out.flush()
        return None

    async def send_digest(self, target: str, records: Sequence[Record], reason: str) -> None:
        for record in records:
            await self.send(target, record, None)

    async def close(self) -> None:
        return None
