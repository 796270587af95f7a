"""The embedded SQLite store: newswatch's default, so it runs on a laptop with nothing else installed.

Owns the on-disk schema and the transactions that make each decision atomic.  Calls run in a worker thread
(SQLite blocks on disk) behind one lock; every decision is one ``BEGIN IMMEDIATE`` transaction, which also
serialises story decisions, so no further locking is needed.  The service refuses a second process on the
same file (``exclusive``): several workers are what Redis is for.
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
from pathlib import Path
from typing import IO, Any, TypeVar

from newswatch.store.base import OutboxEntry, Recorded, Sighted, StoreError
from newswatch.store.batch import BatchPlan, ItemFacts, plan_batch, queries
from newswatch.stories import BatchStories, Placement, StoryQuery, StoryView, rank

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS item_keys (key TEXT PRIMARY KEY, item_id TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS items (item_id TEXT PRIMARY KEY, max_len INTEGER NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS item_texts (item_id TEXT NOT NULL, fp TEXT NOT NULL, PRIMARY KEY (item_id, fp));
CREATE TABLE IF NOT EXISTS alerted (
    watch TEXT NOT NULL, item_id TEXT NOT NULL, story TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (watch, item_id)
);
CREATE TABLE IF NOT EXISTS stories (
    watch TEXT NOT NULL, story_id TEXT NOT NULL, record TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (watch, story_id)
);
CREATE TABLE IF NOT EXISTS story_bands (
    watch TEXT NOT NULL, band TEXT NOT NULL, story_id TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (watch, band)
);
CREATE TABLE IF NOT EXISTS story_terms (
    watch TEXT NOT NULL, term TEXT NOT NULL, story_id TEXT NOT NULL, latest REAL NOT NULL,
    PRIMARY KEY (watch, term, story_id)
);
CREATE INDEX IF NOT EXISTS story_terms_recent ON story_terms (watch, term, latest, story_id);
CREATE INDEX IF NOT EXISTS story_terms_story ON story_terms (watch, story_id);
CREATE TABLE IF NOT EXISTS doc_freq (term TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS doc_freq_rare ON doc_freq (n, term);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, watch TEXT NOT NULL, story TEXT NOT NULL,
    event TEXT NOT NULL, record TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0, created REAL NOT NULL, parked TEXT, parked_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (target, parked, seq);
CREATE TABLE IF NOT EXISTS threads (key TEXT PRIMARY KEY, ts TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS slots (name TEXT PRIMARY KEY, next REAL NOT NULL);
CREATE TABLE IF NOT EXISTS windows (name TEXT NOT NULL, idx INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (name, idx));
CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schedule (url TEXT PRIMARY KEY, due REAL NOT NULL);
CREATE INDEX IF NOT EXISTS schedule_due ON schedule (due);
"""

# Expired rows are ignored at once and deleted every this many writes, so the file stays small without a
# separate janitor.
_PURGE_EVERY = 1000
THREAD_TTL_S = 30 * 24 * 3600.0


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
            _add_parked_at(self._db)
            if exclusive:
                # We hold the file alone, so every lease in it belongs to a process that died: drop them now
                # rather than wait for them to expire.
                self._db.execute("DELETE FROM leases")
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
        for table in ("item_keys", "alerted", "stories", "story_bands", "threads"):
            db.execute(f"DELETE FROM {table} WHERE expires <= ?", (now,))
        db.execute(
            "DELETE FROM item_texts WHERE item_id IN (SELECT item_id FROM items WHERE expires <= ?)", (now,)
        )
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
                facts = self._facts(db, batch, stories, now)
                plan = plan_batch(batch, facts, stories, now)
                entries = self._apply(db, plan, now)
            return plan.recorded(entries)

        return await self._run(op)

    def _facts(
        self, db: sqlite3.Connection, batch: Sequence[Sighted], stories: BatchStories, now: float
    ) -> list[ItemFacts]:
        """What the store knows of a batch's sightings, in a handful of statements for the whole batch."""
        keys = list(dict.fromkeys(k for s in batch for k in s.sighting.keys))
        key_ids: dict[str, str] = {}
        for part in _chunks(keys):
            key_ids.update(
                db.execute(
                    f"SELECT key, item_id FROM item_keys WHERE key IN ({_marks(part)}) AND expires > ?",
                    (*part, now),
                )
            )
        ids = list({key_ids[k] for k in keys if k in key_ids})
        max_lens: dict[str, int] = {}
        texts: set[tuple[str, str]] = set()
        alerted: dict[tuple[str, str], str] = {}
        for part in _chunks(ids):
            marks = _marks(part)
            max_lens.update(
                db.execute(f"SELECT item_id, max_len FROM items WHERE item_id IN ({marks})", part)
            )
            texts.update(db.execute(f"SELECT item_id, fp FROM item_texts WHERE item_id IN ({marks})", part))
            for watch, item_id, story in db.execute(
                f"SELECT watch, item_id, story FROM alerted WHERE item_id IN ({marks}) AND expires > ?",
                (*part, now),
            ):
                alerted[(watch, item_id)] = story
        out = []
        for sighted in batch:
            s = sighted.sighting
            known = tuple(key_ids.get(k) for k in s.keys)
            item_id = next((i for i in known if i is not None), None)
            if item_id is not None and (item_id, s.fingerprint) in texts:
                out.append(ItemFacts(known, True, int(max_lens.get(item_id, 0))))  # a text seen before
                continue
            mine: dict[str, str] = {}
            max_len = 0
            if item_id is not None:
                mine = {
                    c.watch: alerted[(c.watch, item_id)]
                    for c in sighted.claims
                    if (c.watch, item_id) in alerted
                }
                max_len = int(max_lens.get(item_id, 0))
            qs = {w: q for w, q in queries(sighted, stories).items() if w not in mine}
            out.append(ItemFacts(known, False, max_len, mine, self._views(db, qs, now)))
        return out

    def _views(
        self, db: sqlite3.Connection, qs: Mapping[str, StoryQuery], now: float
    ) -> dict[str, StoryView]:
        views = {}
        for watch, q in qs.items():
            marks = ",".join("?" * len(q.bands))
            found = dict(
                db.execute(
                    f"SELECT band, story_id FROM story_bands WHERE watch = ? AND band IN ({marks}) AND expires > ?",
                    (watch, *q.bands, now),
                ).fetchall()
            ) if q.bands else {}  # fmt: skip
            band_sids = tuple(found.get(band) for band in q.bands)
            postings: list[list[str]] = [[] for _ in q.terms]
            if q.terms:
                # One statement for every query term: each term's most recent postings, newest first.
                one = (
                    "SELECT * FROM (SELECT ? AS i, story_id FROM story_terms WHERE watch = ? AND term = ? "
                    "AND latest >= ? ORDER BY latest DESC, story_id DESC LIMIT ?)"
                )
                sql = " UNION ALL ".join([one] * len(q.terms))
                args = [
                    a for i, (term, _) in enumerate(q.terms) for a in (i, watch, term, q.since, q.per_term)
                ]
                for i, sid in db.execute(sql, args):
                    postings[i].append(sid)
            wanted = rank(band_sids, postings, q)
            records: dict[str, str] = {}
            if wanted:
                marks = ",".join("?" * len(wanted))
                records = dict(
                    db.execute(
                        f"SELECT story_id, record FROM stories WHERE watch = ? AND story_id IN ({marks}) "
                        "AND expires > ?",
                        (watch, *wanted, now),
                    ).fetchall()
                )
            views[watch] = StoryView(band_sids, tuple(records[s] for s in wanted if s in records))
        return views

    def _apply(self, db: sqlite3.Connection, plan: BatchPlan, now: float) -> list[list[str]]:
        db.executemany(
            "INSERT INTO item_keys(key, item_id, expires) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET item_id = excluded.item_id, expires = excluded.expires",
            [(k, w.item_id, now + w.ttl) for w in plan.items for k in w.keys],
        )
        # What an expired item of the same id left behind is forgotten.
        db.executemany(
            "DELETE FROM item_texts WHERE item_id = ?", [(w.item_id,) for w in plan.items if w.new]
        )
        db.executemany(
            "INSERT INTO items(item_id, max_len, expires) VALUES (?, ?, ?) ON CONFLICT(item_id) DO UPDATE "
            "SET max_len = excluded.max_len, expires = excluded.expires",
            [(w.item_id, w.max_len, now + w.ttl) for w in plan.items],
        )
        db.executemany(
            "INSERT OR IGNORE INTO item_texts(item_id, fp) VALUES (?, ?)",
            [(w.item_id, w.fingerprint) for w in plan.items],
        )
        entries: list[list[str]] = []
        for c in plan.claims:
            if c.placement is not None:
                self._place(db, c.placement)
            db.execute(
                "INSERT OR REPLACE INTO alerted(watch, item_id, story, expires) VALUES (?, ?, ?, ?)",
                (c.watch, c.item_id, c.story_id, now + c.ttl),
            )
            payload = json.dumps(c.record, ensure_ascii=False)
            ids = []
            for target in c.targets:
                cur = db.execute(
                    "INSERT INTO outbox(target, watch, story, event, record, created) VALUES (?, ?, ?, ?, ?, ?)",
                    (target, c.watch, c.story_id, c.event, payload, now),
                )
                ids.append(str(cur.lastrowid))
            entries.append(ids)
        return entries

    def _place(self, db: sqlite3.Connection, p: Placement) -> None:
        sid, record = p.story_id, p.record
        db.execute(
            "INSERT INTO stories(watch, story_id, record, expires) VALUES (?, ?, ?, ?) ON CONFLICT(watch, story_id) "
            "DO UPDATE SET record = excluded.record, expires = excluded.expires",
            (p.watch, sid, record.to_json(), p.expires),
        )
        db.executemany(
            "INSERT INTO story_bands(watch, band, story_id, expires) VALUES (?, ?, ?, ?) ON CONFLICT(watch, band) "
            "DO UPDATE SET story_id = excluded.story_id, expires = excluded.expires",
            [(p.watch, band, sid, p.expires) for band in p.bands],
        )
        db.executemany(
            "DELETE FROM story_terms WHERE watch = ? AND term = ? AND story_id = ?",
            [(p.watch, term, sid) for term in p.unpost],
        )
        # Postings older than the item's window are not trimmed here (Redis trims them): they only ever matter
        # to an item more than a window older than one already placed, and the purge drops them with their story.
        db.executemany(
            "INSERT OR REPLACE INTO story_terms(watch, term, story_id, latest) VALUES (?, ?, ?, ?)",
            [(p.watch, term, sid, record.latest) for term in p.post],
        )

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

    # ---------------------------------------------------------------------------------------------- outbox

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
                "SELECT seq, target, watch, story, event, record, attempts, not_before, created FROM outbox "
                "WHERE target = ? AND parked IS NULL ORDER BY seq LIMIT ?",
                (target, limit),
            )
            return [_entry(row) for row in rows]

        return await self._run(op)

    async def outbox_ack(
        self, target: str, entry_ids: Sequence[str], thread: tuple[str, str] | None = None
    ) -> None:
        def op(db: sqlite3.Connection) -> None:
            with self._tx(db):
                db.executemany("DELETE FROM outbox WHERE seq = ?", [(int(i),) for i in entry_ids])
                if thread is not None:
                    db.execute(
                        "INSERT OR REPLACE INTO threads(key, ts, expires) VALUES (?, ?, ?)",
                        (thread[0], thread[1], self._clock() + THREAD_TTL_S),
                    )

        await self._run(op)

    async def outbox_retry(
        self, target: str, entry_id: str, attempts: int, not_before: float, error: str
    ) -> None:
        await self._run(
            lambda db: db.execute(
                "UPDATE outbox SET attempts = ?, not_before = ? WHERE seq = ?",
                (attempts, not_before, int(entry_id)),
            )
        )

    async def outbox_park(self, target: str, entry_ids: Sequence[str], reason: str) -> None:
        now = self._clock()
        await self._run(
            lambda db: db.executemany(
                "UPDATE outbox SET parked = ?, parked_at = ? WHERE seq = ?",
                [(reason, now, int(i)) for i in entry_ids],
            )
        )

    async def outbox_purge_parked(self, parked_before: float | None = None) -> int:
        # Entries parked by a version without parked_at count as parked when they were queued.
        sql = (
            "DELETE FROM outbox WHERE parked IS NOT NULL AND (? IS NULL OR COALESCE(parked_at, created) < ?)"
        )
        return await self._run(lambda db: db.execute(sql, (parked_before, parked_before)).rowcount)

    async def outbox_parked(self) -> list[tuple[OutboxEntry, str]]:
        def op(db: sqlite3.Connection) -> list[tuple[OutboxEntry, str]]:
            rows = db.execute(
                "SELECT seq, target, watch, story, event, record, attempts, not_before, created, parked FROM outbox "
                "WHERE parked IS NOT NULL ORDER BY seq"
            )
            return [(_entry(row[:9]), row[9]) for row in rows]

        return await self._run(op)

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

    # ---------------------------------------------------------------------------------------------- coordination

    async def lease(self, name: str, holder: str, ttl: float) -> bool:
        def op(db: sqlite3.Connection) -> bool:
            now = self._clock()
            with self._tx(db):
                row = db.execute("SELECT holder, expires FROM leases WHERE name = ?", (name,)).fetchone()
                if row and row[0] != holder and row[1] > now:
                    return False
                db.execute(
                    "INSERT OR REPLACE INTO leases(name, holder, expires) VALUES (?, ?, ?)",
                    (name, holder, now + ttl),
                )
                return True

        return await self._run(op)

    async def release(self, name: str, holder: str) -> None:
        await self._run(
            lambda db: db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
        )

    async def reserve_slot(self, name: str, interval: float, now: float) -> float:
        def op(db: sqlite3.Connection) -> float:
            with self._tx(db):
                row = db.execute("SELECT next FROM slots WHERE name = ?", (name,)).fetchone()
                slot = max(now, float(row[0]) if row else 0.0)
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

    async def schedule(self, due: Mapping[str, float], *, only_new: bool = False) -> None:
        verb = "INSERT OR IGNORE" if only_new else "INSERT OR REPLACE"

        def op(db: sqlite3.Connection) -> None:
            with self._tx(db):
                db.executemany(f"{verb} INTO schedule(url, due) VALUES (?, ?)", list(due.items()))

        await self._run(op)

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
        await self._run(
            lambda db: db.executemany("DELETE FROM schedule WHERE url = ?", [(u,) for u in feed_urls])
        )

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


def _add_parked_at(db: sqlite3.Connection) -> None:
    """Files made before parked entries expired lack outbox.parked_at: add it (NULL for old entries)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
    if "parked_at" not in columns:
        db.execute("ALTER TABLE outbox ADD COLUMN parked_at REAL")


def _entry(row: Sequence[Any]) -> OutboxEntry:
    seq, target, watch, story, event, record, attempts, not_before, created = row
    return OutboxEntry(
        id=str(seq),
        seq=int(seq),
        target=target,
        watch=watch,
        story=story,
        event=event,
        record=json.loads(record),
        attempts=int(attempts),
        not_before=float(not_before),
        created=float(created),
    )


_MAX_VARIABLES = 900  # SQLite's default limit is 999 bound parameters per statement (32766 since 3.32)


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _MAX_VARIABLES):
        yield values[start : start + _MAX_VARIABLES]


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))
