"""The embedded SQLite store: newswatch's default, so it runs on a laptop with nothing else installed.

Owns the on-disk schema (``schema.sql``) and the transactions that make each decision atomic.  Calls run in a
worker thread (SQLite blocks on disk) behind one lock; every decision is one ``BEGIN IMMEDIATE`` transaction
(a batch's reads and writes: ``sqlite_batch.py``), which also serialises story decisions, so no further locking
is needed (the health ping alone has a connection and thread of its own: ``sqlite_health.py``).  The service refuses a second
process on the same file (``exclusive``): several workers are what Redis is for.
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import IO, Any, TypeVar

from newswatch import constants as C
from newswatch.store.base import Recorded, Sighted, StoreError
from newswatch.store.batch import plan_batch
from newswatch.store.notes import SQLiteNotes
from newswatch.store.sqlite_batch import apply_plan, known_keys, read_facts
from newswatch.store.sqlite_health import SQLiteHealth
from newswatch.store.sqlite_outbox import SQLiteOutbox
from newswatch.store.sqlite_slack import SQLiteSlack
from newswatch.store.timeline import SQLiteTimeline
from newswatch.store.timeline import write_sqlite as write_timeline
from newswatch.stories import BatchStories

T = TypeVar("T")

_SCHEMA = (resources.files("newswatch.store") / "schema.sql").read_text(encoding="utf-8")

# Expired rows are ignored at once and deleted every this many writes, so the file stays small without a
# separate janitor.
_PURGE_EVERY = 1000


class SQLiteStore(SQLiteOutbox, SQLiteSlack, SQLiteNotes, SQLiteTimeline, SQLiteHealth):
    """Store on one SQLite file (the outbox and its fenced leases: ``sqlite_outbox.py``; mutes and the rest of
    Slack actions' state: ``sqlite_slack.py``; ``why``'s notes and unparking: ``notes.py``; story timelines: ``timeline.py``; the health ping and
    the last failed commit: ``sqlite_health.py``).  ``exclusive`` takes an advisory lock so a second service is
    refused."""

    def __init__(
        self, path: str | os.PathLike[str], *, exclusive: bool = False, clock: Callable[[], float] = time.time
    ):
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._writes = 0
        self._lockfile: IO[str] | None = None
        self._start_health()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if exclusive:
                self._lockfile = self._take_process_lock()
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            if exclusive:
                # We hold the file alone, so every lease in it belongs to a process that died: drop them now
                # rather than wait for them to expire.
                self._db.execute("DELETE FROM leases")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}") from None

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
            db.execute("COMMIT")
        except BaseException as exc:
            if isinstance(exc, sqlite3.Error):
                self._wrote(exc)  # /healthz says so until a commit succeeds again
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._wrote(None)
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            self._purge(db)

    def _purge(self, db: sqlite3.Connection) -> None:
        now = self._clock()
        for table in (
            "item_keys",
            "alerted",
            "stories",
            "story_bands",
            "threads",
            "mutes",
            "once",
            "timeline",
        ):
            db.execute(f"DELETE FROM {table} WHERE expires <= ?", (now,))
        expired_items = "SELECT item_id FROM items WHERE expires <= ?"
        db.execute(f"DELETE FROM item_texts WHERE item_id IN ({expired_items})", (now,))
        db.execute("DELETE FROM items WHERE expires <= ?", (now,))
        db.execute("DELETE FROM story_terms WHERE NOT EXISTS (SELECT 1 FROM stories s WHERE "
                   "s.watch = story_terms.watch AND s.story_id = story_terms.story_id)")  # fmt: skip

    # ---------------------------------------------------------------------------------------------- items

    async def record(self, batch: Sequence[Sighted], stories: BatchStories) -> list[Recorded]:
        if not batch:
            return []

        def op(db: sqlite3.Connection) -> list[Recorded]:
            now = self._clock()
            with self._tx(db):
                facts = read_facts(db, batch, stories, now)
                plan = plan_batch(batch, facts, stories, now)
                entries = apply_plan(db, plan, now)
                write_timeline(db, plan.claims, now)  # the status pages' story timelines, same transaction
            return plan.recorded(entries)

        return await self._run(op)

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        return await self._run(lambda db: known_keys(db, keys, self._clock())) if keys else set()

    # ---------------------------------------------------------------------------------------------- stories

    async def doc_freq(self, limit: int) -> tuple[dict[str, int], int]:
        def op(db: sqlite3.Connection) -> tuple[dict[str, int], int]:
            rows = db.execute("SELECT term, n FROM doc_freq ORDER BY n DESC, term LIMIT ?", (limit,))
            counts = {t: int(n) for t, n in rows}
            row = db.execute("SELECT value FROM meta WHERE key = 'df_docs'").fetchone()
            return counts, int(row[0]) if row else 0

        return await self._run(op)

    async def add_doc_freq(self, increments: Mapping[str, int], docs: int, max_terms: int) -> None:
        def op(db: sqlite3.Connection) -> None:
            with self._tx(db):
                db.executemany(
                    "INSERT INTO doc_freq(term, n) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET n = n + excluded.n",
                    list(increments.items()),
                )
                db.execute(
                    "INSERT INTO meta(key, value) VALUES ('df_docs', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
                    (docs,),
                )
                excess = int(db.execute("SELECT count(*) FROM doc_freq").fetchone()[0]) - max_terms
                if excess > max_terms // 10:  # prune in steps, not on every write
                    db.execute(
                        "DELETE FROM doc_freq WHERE term IN "
                        "(SELECT term FROM doc_freq ORDER BY n, term LIMIT ?)",
                        (excess,),
                    )

        await self._run(op)

    # ---------------------------------------------------------------------------------------------- coordination

    async def reserve_slot(self, name: str, interval: float, now: float) -> float:
        def op(db: sqlite3.Connection) -> float:
            with self._tx(db):
                row = db.execute("SELECT next FROM slots WHERE name = ?", (name,)).fetchone()
                nxt = float(row[0]) if row else 0.0
                if nxt - now > interval * C.PACE_MAX_SLOTS_AHEAD:
                    nxt = now  # reserved on a clock that has since stepped back (see constants.py)
                slot = max(now, nxt)
                db.execute("INSERT OR REPLACE INTO slots(name, next) VALUES (?, ?)", (name, slot + interval))
                return slot - now

        return await self._run(op)

    async def count_window(self, name: str, window: float, now: float, add: int = 0) -> int:
        idx = int(now // window)

        def op(db: sqlite3.Connection) -> int:
            with self._tx(db):
                db.execute("DELETE FROM windows WHERE name = ? AND idx < ?", (name, idx))
                if add:
                    db.execute(
                        "INSERT INTO windows(name, idx, n) VALUES (?, ?, ?) "
                        "ON CONFLICT(name, idx) DO UPDATE SET n = n + excluded.n",
                        (name, idx, add),
                    )
                row = db.execute("SELECT n FROM windows WHERE name = ? AND idx = ?", (name, idx)).fetchone()
                return int(row[0]) if row else 0

        return await self._run(op)

    # ---------------------------------------------------------------------------------------------- schedule

    async def schedule(self, due: Mapping[str, float], *, only_new: bool = False) -> int:
        def op(db: sqlite3.Connection) -> int:
            with self._tx(db):
                before = db.total_changes
                db.executemany("INSERT OR IGNORE INTO schedule(url, due) VALUES (?, ?)", list(due.items()))
                added = db.total_changes - before
                if not only_new:
                    db.executemany(
                        "UPDATE schedule SET due = ? WHERE url = ?", [(d, u) for u, d in due.items()]
                    )
                return added

        return await self._run(op) if due else 0

    async def overdue(self, before: float, limit: int) -> list[tuple[str, float]]:
        sql = "SELECT url, due FROM schedule WHERE due < ? ORDER BY due LIMIT ?"
        return await self._run(lambda db: [(str(u), float(d)) for u, d in db.execute(sql, (before, limit))])

    async def announce(self, worker: str, generation: str, ttl: float) -> dict[str, str]:
        def op(db: sqlite3.Connection) -> dict[str, str]:
            now = self._clock()
            with self._tx(db):
                db.execute("DELETE FROM workers WHERE expires <= ?", (now,))
                db.execute(
                    "INSERT OR REPLACE INTO workers(worker, generation, expires) VALUES (?, ?, ?)",
                    (worker, generation, now + ttl),
                )
                return {str(w): str(g) for w, g in db.execute("SELECT worker, generation FROM workers")}

        return await self._run(op)

    async def claim_due(self, now: float, limit: int, hold: float) -> list[str]:
        def op(db: sqlite3.Connection) -> list[str]:
            with self._tx(db):
                urls = [
                    r[0]
                    for r in db.execute(
                        "SELECT url FROM schedule WHERE due <= ? ORDER BY due LIMIT ?", (now, limit)
                    )
                ]
                db.executemany("UPDATE schedule SET due = ? WHERE url = ?", [(now + hold, u) for u in urls])
                return urls

        return await self._run(op)

    async def due_time(self, feed_url: str) -> float | None:
        def op(db: sqlite3.Connection) -> float | None:
            row = db.execute("SELECT due FROM schedule WHERE url = ?", (feed_url,)).fetchone()
            return float(row[0]) if row else None

        return await self._run(op)

    async def next_due(self) -> float | None:
        def op(db: sqlite3.Connection) -> float | None:
            row = db.execute("SELECT min(due) FROM schedule").fetchone()
            return float(row[0]) if row and row[0] is not None else None

        return await self._run(op)

    async def unschedule(self, feed_urls: Sequence[str]) -> None:
        sql = "DELETE FROM schedule WHERE url = ?"
        await self._run(lambda db: db.executemany(sql, [(u,) for u in feed_urls]))

    # ---------------------------------------------------------------------------------------------- feeds

    async def get_feed_state(self, feed_url: str) -> dict[str, Any] | None:
        def op(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute("SELECT state FROM feeds WHERE url = ?", (feed_url,)).fetchone()
            return json.loads(row[0]) if row else None

        return await self._run(op)

    async def set_feed_states(self, states: Mapping[str, dict[str, Any]]) -> None:
        rows = [(url, json.dumps(state, sort_keys=True)) for url, state in states.items()]

        def op(db: sqlite3.Connection) -> None:
            with self._tx(db):
                db.executemany(
                    "INSERT INTO feeds(url, state) VALUES (?, ?) ON CONFLICT(url) DO UPDATE SET state = excluded.state",
                    rows,
                )

        if rows:
            await self._run(op)

    # ---------------------------------------------------------------------------------------------- lifecycle

    async def check_safe(self) -> None:
        return None  # an SQLite file keeps every row until it is deleted

    async def close(self) -> None:
        def op() -> None:
            with self._lock:
                self._db.close()

        self._close_health()
        await asyncio.to_thread(op)
        if self._lockfile is not None:
            self._lockfile.close()
            self._lockfile = None
