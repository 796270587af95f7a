"""The SQLite store's health: a ping on a connection and thread of its own, and whether writes succeed.

A mixin of :class:`newswatch.store.sqlite.SQLiteStore`.  "Healthy" means the store can write (issue 21 point 18):
a read that works says little when every commit fails ("database or disk is full"), so the store remembers the
last commit's failure (:meth:`_wrote`), and :meth:`ping` reports it until a commit succeeds again.  The ping has
its own connection and thread so that ``/healthz`` does not queue behind a backlog of batches (a busy store is
up); it is the one call outside the store's lock and thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from newswatch.store.base import StoreError


class SQLiteHealth:
    path: Path  # SQLiteStore's

    def _start_health(self) -> None:
        self._ping_thread = ThreadPoolExecutor(1, thread_name_prefix="newswatch-sqlite-ping")
        self._ping_db: sqlite3.Connection | None = None
        self._write_failure: tuple[float, str] | None = None  # (since, error) while commits fail

    def _wrote(self, error: BaseException | None) -> None:
        """A write transaction's outcome (called by the store with None after each commit)."""
        if error is None:
            self._write_failure = None
        elif self._write_failure is None:
            self._write_failure = (time.time(), str(error))

    async def ping(self) -> None:
        def call() -> None:
            self._ping_db = self._ping_db or sqlite3.connect(self.path, check_same_thread=False, timeout=1)
            self._ping_db.execute("SELECT count(*) FROM sqlite_master").fetchone()

        try:
            await asyncio.get_running_loop().run_in_executor(self._ping_thread, call)
        except (sqlite3.Error, RuntimeError) as exc:  # RuntimeError: closed (no new futures)
            raise StoreError(f"SQLite store {self.path}: {exc}") from None
        if (failure := self._write_failure) is not None:
            since = datetime.fromtimestamp(failure[0], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            raise StoreError(f"SQLite store {self.path}: writes failing since {since}: {failure[1]}")

    def _close_health(self) -> None:
        def close_ping() -> None:  # on the ping's own thread, after any ping in flight
            if self._ping_db is not None:
                self._ping_db.close()

        with contextlib.suppress(RuntimeError):  # closed before: the ping thread is gone already
            self._ping_thread.submit(close_ping)
        self._ping_thread.shutdown(wait=False)  # a later ping fails with a StoreError
