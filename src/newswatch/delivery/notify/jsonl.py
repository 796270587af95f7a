"""The JSONL sink: one JSON object per alert or update record, appended to a file or written to stdout ("-").

Owns what a line in the file promises (issue 21 point 9):

* **whole lines, each once.**  A file is written through an unbuffered descriptor opened with ``O_APPEND``, one
  ``write`` per line; a write that fails part-way (a full disk) is cut back to where the line started, so the
  outbox's retry appends the line once, whole.  A buffered stream kept the failed line and wrote it again
  with the retry (4 lines for 3 records).
* **logrotate.**  Before each line the path is compared with the open file (device and inode): a file that
  was renamed or removed is closed and the path opened again, so no line goes to a rotated file.

File work runs in a thread: a disk that is slow or full never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
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
        self._stream = stream if stream is not None else (sys.stdout if target == "-" else None)
        self._file = None if self._stream is not None else _AppendFile(Path(target))

    async def start(self) -> None:
        if self._file is None:
            return
        try:
            await asyncio.to_thread(self._file.open)
        except OSError as exc:
            raise NotifyError(f"cannot open JSONL file {self.target}: {exc}", permanent=True) from None

    async def send(self, target: str, record: Record, thread: str | None) -> str | None:
        line = json.dumps(public(record), ensure_ascii=False) + "\n"
        try:
            if self._file is not None:
                await asyncio.to_thread(self._file.append, line.encode("utf-8"))
            else:
                assert self._stream is not None
                # One write per record and a flush, so a crash never leaves half a line behind a whole one.
                self._stream.write(line)
                self._stream.flush()
        except OSError as exc:
            raise NotifyError(f"cannot write JSONL file {self.target}: {exc}") from None
        return None

    async def send_digest(self, target: str, records: Sequence[Record], reason: str) -> None:
        # A file does not flood: every record keeps its own line.
        for record in records:
            await self.send(target, record, None)

    async def close(self) -> None:
        if self._file is not None:
            await asyncio.to_thread(self._file.close)


class _AppendFile:
    """An append-only file, reopened when its path stops naming it (logrotate); whole lines or nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._torn = False  # a part line could not be cut back: the next line starts on a new line
        self._lock = threading.Lock()  # append() runs in worker threads; one line at a time

    def open(self) -> None:
        with self._lock:
            self._open()

    def _open(self) -> None:
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def append(self, data: bytes) -> None:
        with self._lock:
            self._reopen_if_moved()
            self._open()
            assert self._fd is not None
            if self._torn:
                data = b"\n" + data
            start = os.fstat(self._fd).st_size
            written = 0
            try:
                while written < len(data):
                    written += os.write(self._fd, data[written:])
            except OSError:
                if written:  # half a line would glue onto the retried one: cut it back
                    try:
                        os.ftruncate(self._fd, start)
                    except OSError:
                        self._torn = True
                raise
            self._torn = False

    def _reopen_if_moved(self) -> None:
        if self._fd is None:
            return
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            on_disk = None
        mine = os.fstat(self._fd)
        if on_disk is None or (on_disk.st_dev, on_disk.st_ino) != (mine.st_dev, mine.st_ino):
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
