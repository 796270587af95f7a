"""The SQLite store's side of Slack actions: mutes and snoozes, a story's message state, held records.

A mixin of :class:`newswatch.store.sqlite.SQLiteStore` (its connection, lock and clock), kept apart so the
store module stays readable.  Mutes live in the ``mutes`` table; one whose ``expires`` has passed is never
returned and is deleted with the other expired rows, as are the names remembered in ``once`` (a handled
Slack request, until it could no longer be replayed).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from newswatch.store.base import Mute

T = TypeVar("T")

THREAD_TTL_S = 30 * 24 * 3600.0
_COLUMNS = "kind, target, watch, subject, user, created, expires, label"


class SQLiteSlack:
    # What the mixin uses of SQLiteStore (declared for the type checker).
    _clock: Callable[[], float]

    if TYPE_CHECKING:  # SQLiteStore's own plumbing

        async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...

        def _tx(self, db: sqlite3.Connection) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

    async def set_thread(self, key: str, state: str) -> None:
        expires = self._clock() + THREAD_TTL_S
        await self._run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO threads(key, ts, expires) VALUES (?, ?, ?)", (key, state, expires)
            )
        )

    async def remember_once(self, name: str, ttl: float) -> bool:
        def op(db: sqlite3.Connection) -> bool:
            now = self._clock()
            with self._tx(db):
                row = db.execute("SELECT expires FROM once WHERE name = ?", (name,)).fetchone()
                if row is not None and row[0] > now:
                    return False
                db.execute("INSERT OR REPLACE INTO once(name, expires) VALUES (?, ?)", (name, now + ttl))
                return True

        return await self._run(op)

    async def add_mute(self, mute: Mute) -> None:
        row = (mute.id, mute.kind, mute.target, mute.watch, mute.subject, mute.user, mute.created,
               mute.expires, mute.label)  # fmt: skip
        await self._run(
            lambda db: db.execute(
                f"INSERT OR REPLACE INTO mutes(id, {_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", row
            )
        )

    async def mutes(self, target: str | None = None, ids: Sequence[str] | None = None) -> list[Mute]:
        now = self._clock()

        def op(db: sqlite3.Connection) -> list[Mute]:
            if ids is not None:
                marks = ",".join("?" * len(ids))
                rows = db.execute(
                    f"SELECT {_COLUMNS} FROM mutes WHERE id IN ({marks}) AND (? IS NULL OR target = ?) "
                    "AND expires > ? ORDER BY created, id",
                    (*ids, target, target, now),
                )
            else:
                rows = db.execute(
                    f"SELECT {_COLUMNS} FROM mutes WHERE (? IS NULL OR target = ?) AND expires > ? "
                    "ORDER BY created, id",
                    (target, target, now),
                )
            return [_mute(row) for row in rows]

        return await self._run(op)

    async def clear_mutes(self, ids: Sequence[str] | None = None) -> int:
        now = self._clock()

        def op(db: sqlite3.Connection) -> int:
            with self._tx(db):
                if ids is None:
                    live = db.execute("SELECT count(*) FROM mutes WHERE expires > ?", (now,)).fetchone()[0]
                    db.execute("DELETE FROM mutes")
                    return int(live)
                cleared = 0
                for mute in ids:
                    row = db.execute("SELECT expires FROM mutes WHERE id = ?", (mute,)).fetchone()
                    db.execute("DELETE FROM mutes WHERE id = ?", (mute,))
                    cleared += bool(row and row[0] > now)
                return cleared

        return await self._run(op)


def _mute(row: Sequence[Any]) -> Mute:
    kind, target, watch, subject, user, created, expires, label = row
    return Mute(kind, target, watch, subject, user, float(created), float(expires), label)
