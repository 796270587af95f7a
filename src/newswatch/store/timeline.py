"""Story timelines: every report of a story (outlet, time, title, link, how it was placed), for the status pages.

Two mixins, one per store (:class:`SQLiteTimeline` of :class:`~newswatch.store.sqlite.SQLiteStore`,
:class:`RedisTimeline` of :class:`~newswatch.store.redis.RedisStore`), like ``notes.py``.  A line is written by
``Store.record`` for each claim it commits (an alert or an update), from the claim's alert record: on SQLite in
the batch's own transaction, on Redis in the same call right after the commit (one pipeline; on a cluster each
key is its own command, so no slot is shared).  The record is bounded three ways: a story keeps its latest
:data:`~newswatch.constants.TIMELINE_PER_STORY` lines, a watch lists its latest
:data:`~newswatch.constants.TIMELINE_STORIES_PER_WATCH` stories, and every line expires with the item's
``seen_ttl``.  Read from the store, not a process's memory, so any worker's page shows every worker's reports.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from newswatch import constants as C
from newswatch.store.base import StoreError

if TYPE_CHECKING:
    from newswatch.store.batch import ClaimWrite

log = logging.getLogger("newswatch.store")
T = TypeVar("T")
_FIELDS = ("title", "url", "source", "published", "feed", "matched", "reason", "related")
_EXPIRED_PER_WRITE = 500


def timeline_line(claim: ClaimWrite, at: float) -> dict[str, Any]:
    """One line of a story's timeline, from a claim the store commits (``at``: when, epoch seconds)."""
    record = claim.record
    line: dict[str, Any] = {"story": claim.story_id, "watch": claim.watch, "event": claim.event, "at": at}
    for key in _FIELDS:
        value = record.get(key)
        if value not in (None, "", []):
            line[key] = value
    if isinstance(line.get("reason"), str):
        line["reason"] = line["reason"][: C.WHY_TEXT_CHARS]
    return line


def _decode(raws: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for raw in raws:
        with contextlib.suppress(ValueError):
            line = json.loads(raw)
            if isinstance(line, dict):
                out.append(line)
    return out


def story_summary(lines: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A story as a list shows it: its opening report's title and link, its latest time and report count."""
    first = next((ln for ln in lines if ln.get("event") == "alert"), lines[0])
    return {**first, "reports": len(lines), "latest": max(float(ln.get("at") or 0) for ln in lines),
            "outlets": len({ln.get("source") for ln in lines})}  # fmt: skip


def write_sqlite(db: sqlite3.Connection, claims: Sequence[ClaimWrite], now: float) -> None:
    """The timeline lines of a batch's claims, inside the batch's transaction."""
    if not claims:
        return
    db.executemany(
        "INSERT INTO timeline(story, watch, line, at, expires) VALUES (?, ?, ?, ?, ?)",
        [(c.story_id, c.watch, json.dumps(timeline_line(c, now), ensure_ascii=False), now, now + c.ttl)
         for c in claims],
    )  # fmt: skip
    for story in {c.story_id for c in claims}:
        db.execute(
            "DELETE FROM timeline WHERE story = ? AND seq <= (SELECT seq FROM timeline WHERE story = ? "
            "ORDER BY seq DESC LIMIT 1 OFFSET ?)",
            (story, story, C.TIMELINE_PER_STORY),
        )
    db.execute(
        "DELETE FROM timeline WHERE seq IN (SELECT seq FROM timeline WHERE expires <= ? LIMIT ?)",
        (now, _EXPIRED_PER_WRITE),
    )


class SQLiteTimeline:
    # What the mixin uses of SQLiteStore (declared for the type checker).
    _clock: Callable[[], float]

    if TYPE_CHECKING:

        async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...

    async def story_timeline(self, story: str) -> list[dict[str, Any]]:
        now = self._clock()

        def op(db: sqlite3.Connection) -> list[str]:
            sql = "SELECT line FROM timeline WHERE story = ? AND expires > ? ORDER BY seq"
            return [r[0] for r in db.execute(sql, (story, now))]

        return _decode(await self._run(op))

    async def recent_stories(self, watch: str, limit: int) -> list[dict[str, Any]]:
        now = self._clock()

        def op(db: sqlite3.Connection) -> list[list[str]]:
            stories = [
                r[0]
                for r in db.execute(
                    "SELECT story FROM timeline WHERE watch = ? AND expires > ? GROUP BY story "
                    "ORDER BY MAX(seq) DESC LIMIT ?",
                    (watch, now, min(limit, C.TIMELINE_STORIES_PER_WATCH)),
                )
            ]
            sql = "SELECT line FROM timeline WHERE story = ? AND expires > ? ORDER BY seq"
            return [[r[0] for r in db.execute(sql, (s, now))] for s in stories]

        return [story_summary(lines) for raws in await self._run(op) if (lines := _decode(raws))]


class RedisTimeline:
    _r: Any  # redis.asyncio.Redis or RedisCluster: one command per key, so each key may have its own slot

    if TYPE_CHECKING:

        async def _call(self, coro: Any) -> Any: ...

    async def _write_timeline(self, claims: Sequence[ClaimWrite], now: float) -> None:
        """Called once the batch is committed: a failure here costs timeline lines, never the batch (which a
        raised error would have the recorder read again), so it is logged, not raised."""
        if not claims:
            return
        try:
            await self._write_lines(claims, now)
        except StoreError as exc:
            log.warning("story timeline not written", extra={"error": str(exc), "reports": len(claims)})

    async def _write_lines(self, claims: Sequence[ClaimWrite], now: float) -> None:
        pipe = self._r.pipeline(transaction=False)
        for c in claims:
            story_key, watch_key = C.TIMELINE_PREFIX + c.story_id, C.TIMELINE_WATCH_PREFIX + c.watch
            ttl_ms = max(1, int(c.ttl * 1000))
            pipe.rpush(story_key, json.dumps(timeline_line(c, now), ensure_ascii=False))
            pipe.ltrim(story_key, -C.TIMELINE_PER_STORY, -1)
            pipe.pexpire(story_key, ttl_ms)
            # The watch's stories by their latest report, the newest kept (a story that expired falls off the
            # page when its timeline is found empty, and out of the set as newer ones push it).
            pipe.zadd(watch_key, {c.story_id: now})
            pipe.zremrangebyrank(watch_key, 0, -C.TIMELINE_STORIES_PER_WATCH - 1)
            pipe.pexpire(watch_key, ttl_ms)
        await self._call(pipe.execute())

    async def story_timeline(self, story: str) -> list[dict[str, Any]]:
        return _decode(await self._call(self._r.lrange(C.TIMELINE_PREFIX + story, 0, -1)))

    async def recent_stories(self, watch: str, limit: int) -> list[dict[str, Any]]:
        limit = min(limit, C.TIMELINE_STORIES_PER_WATCH)
        stories = await self._call(self._r.zrevrange(C.TIMELINE_WATCH_PREFIX + watch, 0, limit - 1))
        if not stories:
            return []
        pipe = self._r.pipeline(transaction=False)
        for s in stories:
            pipe.lrange(C.TIMELINE_PREFIX + s, 0, -1)
        lists = await self._call(pipe.execute())
        return [story_summary(lines) for raws in lists if (lines := _decode(raws))]
