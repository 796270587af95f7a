"""The JSONL sink: one JSON object per alert or update record, appended to a file or written to stdout ("-")."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from newswatch.delivery.notify.base import NotifyError, Record, public


class JsonlNotifier:
    name = "jsonl"
    threads = False
    pace = 0.0

    def __init__(self, target: str, stream: TextIO | None = None):
        self.target = target
        self._stream = stream
        self._owned = False

    async def start(self) -> None:
        if self._stream is not None:
            return
        if self.target == "-":
            self._stream = sys.stdout
            return
        try:
            self._stream = await asyncio.to_thread(_open_append, Path(self.target))
        except OSError as exc:
            raise NotifyError(f"cannot open JSONL file {self.target}: {exc}", permanent=True) from None
        self._owned = True

    async def send(self, target: str, record: Record, thread: str | None) -> str | None:
        if self._stream is None:
            await self.start()
        assert self._stream is not None
        try:
            # One write per record and a flush, so a crash never leaves half a line behind a whole one.
            self._stream.write(json.dumps(public(record), ensure_ascii=False) + "\n")
            self._stream.flush()
        except OSError as exc:
            raise NotifyError(f"cannot write JSONL file {self.target}: {exc}") from None
        return None

    async def send_digest(self, target: str, records: Sequence[Record], reason: str) -> None:
        # A file does not flood: every record keeps its own line.
        for record in records:
            await self.send(target, record, None)

    async def close(self) -> None:
        if self._owned and self._stream is not None:
            self._stream.close()
        self._stream = None


def _open_append(path: Path) -> TextIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8")
