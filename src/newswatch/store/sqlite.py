"""The embedded SQLite store: newswatch's default, so it runs on a laptop with nothing else installed.

Owns the on-disk schema and the transactions that make each decision atomic.  Calls run in a worker thread
(SQLite blocks on disk) behind one lock; every decision is one ``BEGIN IMMEDIATE`` transaction, so even two
processes sharing the file would act once — but the service itself refuses a second process (``exclusive``),
because that is what Redis is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from newswatch.store.base import Observation, Seen, StoreError

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS item_keys (key TEXT PRIMARY KEY, item_id TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS items (item_id TEXT PRIMARY KEY, max_len INTEGER NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS item_texts (item_id TEXT NOT NULL, fp TEXT NOT NULL, PRIMARY KEY (item_id, fp));
CREATE TABLE IF NOT EXISTS alerted (
    watch TEXT NOT NULL, item_id TEXT NOT NULL, story TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (watch, item_id)
);
CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, state TEXT NOT NULL);
"""

# Expired rows are ignored at once and deleted every this many writes, so the file stays small without a
# separate janitor.
_PURGE_EVERY = 1000


class SQLiteStore:
    """Store on one SQLite file.  ``exclusive`` takes an advisory lock so a second service is refused."""

    def __init__(
        self, path: str | os.PathLike[str], *, exclusive: bool = False, clock: Callable[[], float] = time.time
    ):
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._writes = 0
        self._lockfile: IO[str] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if exclusive:
                self._lockfile = self._take_process_lock()
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}") from None

    @classmethod
    def from_url(cls, url: str, *, exclusive: bool = False) -> SQLiteStore:
        """SQLAlchemy's convention: ``sqlite:///state.db`` is relative, ``sqlite:////var/lib/state.db`` absolute."""
        if not url.startswith("sqlite:///"):
            raise StoreError(
                f"{url!r} is not an SQLite URL (use sqlite:///relative.db or sqlite:////abs/path.db)"
            )
        path = url.removeprefix("sqlite:///")
        if not path:
            raise StoreError(f"{url!r}: the SQLite URL names no file (use sqlite:///path/state.db)")
        return cls(path, exclusive=exclusive)

    def _take_process_lock(self) -> IO[str]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        fh = lock_path.open("a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise StoreError(
                f"another newswatch process is using {self.path}; the embedded store serves one process — "
                "use a Redis store (store: redis://…) to run several workers"
            ) from None
        return fh

    # ---------------------------------------------------------------------------------------------- plumbing

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                try:
                    return fn(self._db)
                except sqlite3.Error as exc:
                    raise StoreError(f"SQLite store {self.path}: {exc}") from None

        return await asyncio.to_thread(call)

    @contextlib.contextmanager
    def _tx(self, db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            self._purge(db)

    def _purge(self, db: sqlite3.Connection) -> None:
        now = self._clock()
        db.execute("DELETE FROM item_keys WHERE expires <= ?", (now,))
        db.execute(
            "DELETE FROM item_texts WHERE item_id IN (SELECT item_id FROM items WHERE expires <= ?)", (now,)
        )
        db.execute("DELETE FROM items WHERE expires <= ?", (now,))
        db.execute("DELETE FROM alerted WHERE expires <= ?", (now,))

    # ---------------------------------------------------------------------------------------------- items

    async def observe(self, keys: tuple[str, ...], fingerprint: str, length: int, ttl: float) -> Observation:
        if not keys:
            raise ValueError("an item needs at least one identity key")

        def op(db: sqlite3.Connection) -> Observation:
            now = self._clock()
            expires = now + ttl
            with self._tx(db):
                item_id = None
                for key in keys:  # in key order, so the GUID decides when both are known
                    row = db.execute(
                        "SELECT item_id FROM item_keys WHERE key = ? AND expires > ?", (key, now)
                    ).fetchone()
                    if row:
                        item_id = row[0]
                        break
                db.executemany(
                    "INSERT INTO item_keys(key, item_id, expires) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET item_id = excluded.item_id, expires = excluded.expires",
                    [(k, item_id or keys[0], expires) for k in keys],
                )
                if item_id is None:
                    item_id = keys[0]
                    db.execute("DELETE FROM item_texts WHERE item_id = ?", (item_id,))  # stale, expired item
                    db.execute(
                        "INSERT OR REPLACE INTO items(item_id, max_len, expires) VALUES (?, ?, ?)",
                        (item_id, length, expires),
                    )
                    db.execute("INSERT INTO item_texts(item_id, fp) VALUES (?, ?)", (item_id, fingerprint))
                    return Observation(item_id, Seen.NEW)
                row = db.execute("SELECT max_len FROM items WHERE item_id = ?", (item_id,)).fetchone()
                max_len = row[0] if row else 0
                known = db.execute(
                    "SELECT 1 FROM item_texts WHERE item_id = ? AND fp = ?", (item_id, fingerprint)
                ).fetchone()
                db.execute(
                    "INSERT OR IGNORE INTO item_texts(item_id, fp) VALUES (?, ?)", (item_id, fingerprint)
                )
                grew = not known and length >= max_len
                db.execute(
                    "INSERT INTO items(item_id, max_len, expires) VALUES (?, ?, ?) ON CONFLICT(item_id) DO UPDATE "
                    "SET max_len = max(max_len, excluded.max_len), expires = excluded.expires",
                    (item_id, length, expires),
                )
                return Observation(item_id, Seen.CHANGED if grew else Seen.SAME)

        return await self._run(op)

    async def claim_alert(self, watch: str, item_id: str, story: str, ttl: float) -> bool:
        def op(db: sqlite3.Connection) -> bool:
            now = self._clock()
            with self._tx(db):
                db.execute(
                    "DELETE FROM alerted WHERE watch = ? AND item_id = ? AND expires <= ?",
                    (watch, item_id, now),
                )
                cur = db.execute(
                    "INSERT OR IGNORE INTO alerted(watch, item_id, story, expires) VALUES (?, ?, ?, ?)",
                    (watch, item_id, story, now + ttl),
                )
                return cur.rowcount == 1

        return await self._run(op)

    # ---------------------------------------------------------------------------------------------- feeds

    async def get_feed_state(self, feed_url: str) -> dict[str, Any] | None:
        def op(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute("SELECT state FROM feeds WHERE url = ?", (feed_url,)).fetchone()
            return json.loads(row[0]) if row else None

        return await self._run(op)

    async def set_feed_state(self, feed_url: str, state: dict[str, Any]) -> None:
        payload = json.dumps(state, sort_keys=True)

        def op(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO feeds(url, state) VALUES (?, ?) ON CONFLICT(url) DO UPDATE SET state = excluded.state",
                (feed_url, payload),
            )

        await self._run(op)

    # ---------------------------------------------------------------------------------------------- lifecycle

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        def op() -> None:
            with self._lock:
                self._db.close()

        await asyncio.to_thread(op)
        if self._lockfile is not None:
            self._lockfile.close()
            self._lockfile = None
