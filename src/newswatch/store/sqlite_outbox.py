"""The SQLite store's outbox: queued records per target, their fenced leases, and delivered threads.

A mixin of :class:`newswatch.store.sqlite.SQLiteStore` (its connection, lock, transactions and clock).  The
``outbox`` table holds every entry (``parked`` set once it can never be delivered); ``leases`` the holder of
each lease until it expires, and ``fences`` how many times each lease was granted (the epoch of its latest
grant, :class:`~newswatch.store.base.Fence`).  Every write by a delivering worker checks its fence in the same
transaction and writes nothing when it no longer holds, as the Redis store's scripts do.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from newswatch.store.base import Fence, Fenced, OutboxEntry
from newswatch.store.sqlite_slack import THREAD_TTL_S

T = TypeVar("T")

_COLUMNS = "seq, target, watch, story, event, record, attempts, not_before, created"


class SQLiteOutbox:
    # What the mixin uses of SQLiteStore (declared for the type checker).
    _clock: Callable[[], float]

    if TYPE_CHECKING:  # SQLiteStore's own plumbing

        async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...

        def _tx(self, db: sqlite3.Connection) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

    async def outbox_targets(self) -> list[str]:
        return await self._run(
            lambda db: [r[0] for r in db.execute("SELECT DISTINCT target FROM outbox WHERE parked IS NULL")]
        )

    async def enqueue(self, target: str, record: Mapping[str, Any]) -> str:
        def op(db: sqlite3.Connection) -> str:
            cur = db.execute(
                "INSERT INTO outbox(target, watch, story, event, record, created) VALUES (?, ?, ?, ?, ?, ?)",
                (target, str(record.get("watch", "")), str(record.get("story", "")), str(record.get("event", "")),
                 json.dumps(dict(record), ensure_ascii=False), self._clock()),
            )  # fmt: skip
            return str(cur.lastrowid)

        return await self._run(op)

    async def outbox_head(self, target: str, limit: int) -> list[OutboxEntry]:
        def op(db: sqlite3.Connection) -> list[OutboxEntry]:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE target = ? AND parked IS NULL ORDER BY seq LIMIT ?",
                (target, limit),
            )
            return [_entry(row) for row in rows]

        return await self._run(op)

    async def outbox_confirm(self, target: str, entry_id: str, fence: Fence, ttl: float) -> bool:
        def op(db: sqlite3.Connection) -> bool:
            with self._tx(db):
                self._check(db, fence)
                db.execute(
                    "INSERT OR REPLACE INTO leases(name, holder, expires) VALUES (?, ?, ?)",
                    (fence.name, fence.holder, self._clock() + ttl),
                )
                return _queued(db, target, entry_id)

        return await self._run(op)

    async def outbox_ack(
        self,
        target: str,
        entry_ids: Sequence[str],
        thread: tuple[str, str] | None = None,
        *,
        fence: Fence | None = None,
    ) -> None:
        def op(db: sqlite3.Connection) -> None:
            with self._tx(db):
                self._check(db, fence)
                acked = 0
                for i in entry_ids:
                    acked += db.execute(
                        "DELETE FROM outbox WHERE seq = ? AND target = ? AND parked IS NULL", (int(i), target)
                    ).rowcount
                if thread is not None and acked:  # never over the state of an entry another worker acked
                    db.execute(
                        "INSERT OR REPLACE INTO threads(key, ts, expires) VALUES (?, ?, ?)",
                        (thread[0], thread[1], self._clock() + THREAD_TTL_S),
                    )

        await self._run(op)

    async def outbox_retry(
        self,
        target: str,
        entry_id: str,
        attempts: int,
        not_before: float,
        error: str,
        *,
        fence: Fence | None = None,
    ) -> None:
        def op(db: sqlite3.Connection) -> None:
            with self._tx(db):
                self._check(db, fence)
                db.execute(
                    "UPDATE outbox SET attempts = ?, not_before = ? WHERE seq = ? AND target = ? AND parked IS NULL",
                    (attempts, not_before, int(entry_id), target),
                )

        await self._run(op)

    async def outbox_park(
        self, target: str, entry_ids: Sequence[str], reason: str, *, fence: Fence | None = None
    ) -> None:
        now = self._clock()

        def op(db: sqlite3.Connection) -> None:
            with self._tx(db):
                self._check(db, fence)
                db.executemany(
                    "UPDATE outbox SET parked = ?, parked_at = ? WHERE seq = ? AND target = ? AND parked IS NULL",
                    [(reason, now, int(i), target) for i in entry_ids],
                )

        await self._run(op)

    async def outbox_move(
        self, target: str, entry_ids: Sequence[str], to: str, *, fence: Fence | None = None
    ) -> None:
        # The sequence number stays: in its new queue an entry keeps its place among the others.
        def op(db: sqlite3.Connection) -> None:
            with self._tx(db):
                self._check(db, fence)
                db.executemany(
                    "UPDATE outbox SET target = ? WHERE seq = ? AND target = ? AND parked IS NULL",
                    [(to, int(i), target) for i in entry_ids],
                )

        await self._run(op)

    async def outbox_purge_parked(self, parked_before: float | None = None) -> int:
        sql = "DELETE FROM outbox WHERE parked IS NOT NULL AND (? IS NULL OR parked_at < ?)"
        return await self._run(lambda db: db.execute(sql, (parked_before, parked_before)).rowcount)

    async def outbox_parked(self) -> list[tuple[OutboxEntry, str]]:
        def op(db: sqlite3.Connection) -> list[tuple[OutboxEntry, str]]:
            rows = db.execute(f"SELECT {_COLUMNS}, parked FROM outbox WHERE parked IS NOT NULL ORDER BY seq")
            return [(_entry(row[:9]), row[9]) for row in rows]

        return await self._run(op)

    async def outbox_unpark(self) -> int:
        # Each record goes back to its own queue at its old place (its sequence number), with a fresh count of
        # attempts, so a fixed channel gets them in the order they were first queued.
        sql = "UPDATE outbox SET parked = NULL, parked_at = NULL, attempts = 0, not_before = 0 WHERE parked IS NOT NULL"
        return await self._run(lambda db: db.execute(sql).rowcount)

    async def outbox_pending(self) -> int:
        return await self._run(
            lambda db: int(db.execute("SELECT count(*) FROM outbox WHERE parked IS NULL").fetchone()[0])
        )

    async def get_thread(self, key: str) -> str | None:
        def op(db: sqlite3.Connection) -> str | None:
            row = db.execute(
                "SELECT ts FROM threads WHERE key = ? AND expires > ?", (key, self._clock())
            ).fetchone()
            return str(row[0]) if row else None

        return await self._run(op)

    # ---------------------------------------------------------------------------------------------- leases

    async def lease(self, name: str, holder: str, ttl: float, epoch: int = 0) -> int:
        def op(db: sqlite3.Connection) -> int:
            now = self._clock()
            with self._tx(db):
                row = db.execute("SELECT holder, expires FROM leases WHERE name = ?", (name,)).fetchone()
                if row and row[0] != holder and row[1] > now:
                    return 0
                granted = _epoch(db, name)
                if epoch:
                    if granted != epoch:
                        return 0  # it lapsed and was granted anew: a renewal must not hide that
                else:
                    granted += 1
                    db.execute("INSERT OR REPLACE INTO fences(name, epoch) VALUES (?, ?)", (name, granted))
                db.execute(
                    "INSERT OR REPLACE INTO leases(name, holder, expires) VALUES (?, ?, ?)",
                    (name, holder, now + ttl),
                )
                return granted

        return await self._run(op)

    async def release(self, name: str, holder: str) -> None:
        await self._run(
            lambda db: db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
        )

    def _check(self, db: sqlite3.Connection, fence: Fence | None) -> None:
        """Raise :class:`Fenced` (inside the write's transaction) unless ``fence`` still holds."""
        if fence is None:
            return
        row = db.execute("SELECT holder, expires FROM leases WHERE name = ?", (fence.name,)).fetchone()
        taken = row is not None and row[0] != fence.holder and row[1] > self._clock()
        if taken or _epoch(db, fence.name) != fence.epoch:
            raise Fenced(f"lease {fence.name} epoch {fence.epoch} no longer holds: it was granted anew since")


def _epoch(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT epoch FROM fences WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


def _queued(db: sqlite3.Connection, target: str, entry_id: str) -> bool:
    sql = "SELECT 1 FROM outbox WHERE seq = ? AND target = ? AND parked IS NULL"
    return db.execute(sql, (int(entry_id), target)).fetchone() is not None


def _entry(row: Sequence[Any]) -> OutboxEntry:
    seq, target, watch, story, event, record, attempts, not_before, created = row
    return OutboxEntry(str(seq), int(seq), target, watch, story, event, json.loads(record), int(attempts),
                       float(not_before), float(created))  # fmt: skip
