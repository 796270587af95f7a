"""The SQLite store's side of a batch: reading what it knows of the sightings, and applying the plan.

Functions of an open connection, called inside the store's one transaction per batch
(:meth:`newswatch.store.sqlite.SQLiteStore.record`): :func:`read_facts` reads keys, lengths, texts and claims of
the whole batch in a few statements and each story query's candidates; :func:`apply_plan` writes what
:func:`newswatch.store.batch.plan_batch` decided.  Nothing here decides.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence

from newswatch import constants as C
from newswatch.store.base import Sighted
from newswatch.store.batch import BatchPlan, ItemFacts, queries
from newswatch.stories import BatchStories, Placement, StoryQuery, StoryView, rank

__all__ = ["apply_plan", "known_keys", "read_facts"]


def known_keys(db: sqlite3.Connection, keys: Sequence[str], now: float) -> set[str]:
    """The keys among ``keys`` that an unexpired item holds."""
    found: set[str] = set()
    for part in _chunks(list(dict.fromkeys(keys))):
        rows = db.execute(
            f"SELECT key FROM item_keys WHERE key IN ({_marks(part)}) AND expires > ?", (*part, now)
        )
        found.update(k for (k,) in rows)
    return found


def read_facts(
    db: sqlite3.Connection, batch: Sequence[Sighted], stories: BatchStories, now: float
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
    alerted: dict[tuple[str, str], str] = {}
    # Only the (item, text) pairs asked about: a live item keeps up to ITEM_TEXTS_KEPT texts (issue 21).
    pairs = list(
        dict.fromkeys(
            (item_id, s.sighting.fingerprint)
            for s in batch
            if (item_id := next((key_ids[k] for k in s.sighting.keys if k in key_ids), None)) is not None
        )
    )
    texts: set[tuple[str, str]] = set()
    for start in range(0, len(pairs), _MAX_VARIABLES // 2):
        asked = pairs[start : start + _MAX_VARIABLES // 2]
        rows = ",".join(["(?, ?)"] * len(asked))
        texts.update(
            db.execute(
                # CROSS JOIN from the pairs: one primary-key lookup each ("(item_id, fp) IN (VALUES …)" scans).
                f"SELECT t.item_id, t.fp FROM (VALUES {rows}) AS v CROSS JOIN item_texts AS t "
                "ON t.item_id = v.column1 AND t.fp = v.column2",
                [v for pair in asked for v in pair],
            )
        )
    for part in _chunks(ids):
        marks = _marks(part)
        max_lens.update(db.execute(f"SELECT item_id, max_len FROM items WHERE item_id IN ({marks})", part))
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
                c.watch: alerted[(c.watch, item_id)] for c in sighted.claims if (c.watch, item_id) in alerted
            }
            max_len = int(max_lens.get(item_id, 0))
        qs = {w: q for w, q in queries(sighted, stories).items() if w not in mine}
        out.append(ItemFacts(known, False, max_len, mine, _views(db, qs, now)))
    return out


def _views(db: sqlite3.Connection, qs: Mapping[str, StoryQuery], now: float) -> dict[str, StoryView]:
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
            args = [a for i, (term, _) in enumerate(q.terms) for a in (i, watch, term, q.since, q.per_term)]
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


def apply_plan(db: sqlite3.Connection, plan: BatchPlan, now: float) -> list[list[str]]:
    db.executemany(
        "INSERT INTO item_keys(key, item_id, expires) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET item_id = excluded.item_id, expires = excluded.expires",
        [(k, w.item_id, now + w.ttl) for w in plan.items for k in w.keys],
    )
    # What an expired item of the same id left behind is forgotten.
    db.executemany("DELETE FROM item_texts WHERE item_id = ?", [(w.item_id,) for w in plan.items if w.new])
    db.executemany(
        "INSERT INTO items(item_id, max_len, expires) VALUES (?, ?, ?) ON CONFLICT(item_id) DO UPDATE "
        "SET max_len = excluded.max_len, expires = excluded.expires",
        [(w.item_id, w.max_len, now + w.ttl) for w in plan.items],
    )
    # Texts of an item in the order they were first seen (rowid); past ITEM_TEXTS_KEPT the oldest go, so a live
    # item whose text changes every poll keeps a bounded set (issue 21).  A new item holds this one text only:
    # nothing to prune, and most items of a batch are new.
    for w in plan.items:
        if (
            w.fresh
            and db.execute(
                "INSERT OR IGNORE INTO item_texts(item_id, fp) VALUES (?, ?)", (w.item_id, w.fingerprint)
            ).rowcount
            and not w.new
        ):
            db.execute(
                "DELETE FROM item_texts WHERE item_id = ? AND rowid NOT IN "
                "(SELECT rowid FROM item_texts WHERE item_id = ? ORDER BY rowid DESC LIMIT ?)",
                (w.item_id, w.item_id, C.ITEM_TEXTS_KEPT),
            )
    entries: list[list[str]] = []
    for c in plan.claims:
        if c.placement is not None:
            _place(db, c.placement)
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


def _place(db: sqlite3.Connection, p: Placement) -> None:
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


_MAX_VARIABLES = 900  # SQLite's default limit is 999 bound parameters per statement (32766 since 3.32)


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _MAX_VARIABLES):
        yield values[start : start + _MAX_VARIABLES]


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))
