"""The console sink: a readable block per alert on stdout, used when no Slack is configured."""

from __future__ import annotations

import sys
from typing import TextIO

from newswatch.models import Alert


class ConsoleNotifier:
    name = "console"

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream

    async def start(self) -> None:
        return None

    async def send(self, alert: Alert) -> None:
        out = self._stream or sys.stdout
        item = alert.item
        when = item.published.strftime("%Y-%m-%d %H:%M UTC") if item.published else "no date"
        label = "ALERT" if alert.event == "alert" else alert.event.upper()
        lines = [
            f"[{label}] {alert.watch}: {item.title}",
            f"    {item.source} · {when} · {item.url}",
        ]
        if alert.match.terms:
            lines.append(f"    matched: {', '.join(alert.match.terms)}")
        out.write("\n".join(lines) + "\n")
        out.flush()

    async def close(self) -> None:
        return None
