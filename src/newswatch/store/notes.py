"""The decision record behind ``newswatch why``.

Two mixins, one per store (:class:`SQLiteNotes` of :class:`~newswatch.store.sqlite.SQLiteStore`,
:class:`RedisNotes` of :class:`~newswatch.store.redis.RedisStore`), kept out of the store modules so those stay
readable.  A note is a small JSON object (what happened to an item, when, from which feed; which watch matched
and which story it opened or joined) filed under each identity key of the item.  The record is bounded twice:
each key keeps its latest :data:`~newswatch.constants.WHY_NOTES_PER_KEY` notes, and every note expires with the
item's ``seen_ttl``.  Notes are written after the batch they describe is committed and outside its transaction:
losing one to a crash costs an explanation, never an alert.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from newswatch import constants as C

T = TypeVar("T")

# (the keys a note is filed under, the note)
Notes = Sequence[tuple[Sequence[str], Mapping[str, Any]]]

_EXPIRED_PER_WRITE = 500  # expired SQLite notes deleted per write: bounded work, the table still shrinks


def _encode(notes: Notes) -> list[tuple[list[str], str]]:
    return [(list(dict.fromkeys(keys)), json.dumps(dict(note), ensure_ascii=False, sort_keys=True))
            for keys, note in notes if keys]  # fmt: skip


def _decode(raws: Sequence[str]) -> list[dict[str, Any]]:
    """Notes read under several keys, each once, oldest first."""
    out = []
    for raw in dict.fromkeys(raws):
        with contextlib.suppress(ValueError):
            note = json.loads(raw)
            if isinstance(note, dict):
                out.append(note)
    return sorted(out, key=lambda n: float(n.get("at") or 0))


class SQLiteNotes:
    # What the mixin uses of SQLiteStore (declared for the type checker).
    _clock: Callable[[], float]

    if TYPE_CHECKING:

        async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...

        def _tx(self, db: sqlite3.Connection) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

    async def add_notes(self, notes: Notes, ttl: float) -> None:
        rows = _encode(notes)
        if not rows:
            return
        now = self._clock()

        def op(db: sqlite3.Connection) -> None:
            with self._tx(db):
                db.executemany(
                    "INSERT INTO notes(key, note, expires) VALUES (?, ?, ?)",
                    [(key, raw, now + ttl) for keys, raw in rows for key in keys],
                )
                for key in {k for keys, _ in rows for k in keys}:
                    db.execute(
                        "DELETE FROM notes WHERE key = ? AND seq <= (SELECT seq FROM notes WHERE key = ? "
                        "ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                        (key, key, C.WHY_NOTES_PER_KEY),
                    )
                db.execute(
                    "DELETE FROM notes WHERE seq IN (SELECT seq FROM notes WHERE expires <= ? LIMIT ?)",
                    (now, _EXPIRED_PER_WRITE),
                )

        await self._run(op)

    async def notes(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        now = self._clock()

        def op(db: sqlite3.Connection) -> list[str]:
            marks = ",".join("?" * len(keys))
            sql = f"SELECT note FROM notes WHERE key IN ({marks}) AND expires > ? ORDER BY seq"
            return [r[0] for r in db.execute(sql, (*keys, now))]

        return _decode(await self._run(op)) if keys else []


class RedisNotes:
    # What the mixin uses of RedisStore (declared for the type checker).
    _r: Any  # redis.asyncio.Redis or RedisCluster: one command per key, so each key may have its own slot

    if TYPE_CHECKING:

        async def _call(self, coro: Any) -> Any: ...

    async def add_notes(self, notes: Notes, ttl: float) -> None:
        rows = _encode(notes)
        if not rows:
            return
        pipe = self._r.pipeline(transaction=False)  # each key's list is bounded on its own: no MULTI needed
        for keys, raw in rows:
            for key in keys:
                pipe.rpush(C.WHY_PREFIX + key, raw)
        for key in {k for keys, _ in rows for k in keys}:
            pipe.ltrim(C.WHY_PREFIX + key, -C.WHY_NOTES_PER_KEY, -1)
            pipe.pexpire(C.WHY_PREFIX + key, max(1, int(ttl * 1000)))
        await self._call(pipe.execute())

    async def notes(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        if not keys:
            return []
        pipe = self._r.pipeline(transaction=False)
        for key in keys:
            pipe.lrange(C.WHY_PREFIX + key, 0, -1)
        lists = await self._call(pipe.execute())
        return _decode([raw for raws in lists for raw in raws])
