"""Issue 21, point 19: the texts a store keeps per item are bounded (ITEM_TEXTS_KEPT, most recently first seen),
and reading a batch asks for the sightings' own (item, text) pairs only.  Every test runs on each backend."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

from newswatch import constants as C
from newswatch.store import Seen, Sighted, Sighting, Store
from newswatch.store.sqlite_batch import read_facts
from tests.store.test_atomic import raw
from tests.store.test_store import NOW, STORIES, TTL, observe


def texts_kept(store_url: str, item_id: str) -> list[str]:
    """The fingerprints the store holds for one item."""
    if store_url.startswith("sqlite:///"):
        db = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        try:
            return [fp for (fp,) in db.execute("SELECT fp FROM item_texts WHERE item_id = ?", (item_id,))]
        finally:
            db.close()
    r = raw(store_url)
    try:
        fields = r.hkeys(C.ITEM_PREFIX + item_id)
    finally:
        r.close()
    return [f.decode()[3:] for f in fields if f.startswith(b"fp:")]


async def test_a_live_item_keeps_a_bounded_set_of_texts(store: Store, store_url: str) -> None:
    first = await observe(store, ("guid:live", "url:live"), "fp-0", 100, TTL)
    for i in range(1, 100):  # "1234 comments so far": a new text every poll, never shorter
        seen = (await observe(store, ("guid:live", "url:live"), f"fp-{i}", 100, TTL)).seen
        assert seen is Seen.CHANGED
    kept = texts_kept(store_url, first.item_id)
    assert C.ITEM_TEXTS_KEPT <= len(kept) <= 2 * C.ITEM_TEXTS_KEPT
    assert {f"fp-{i}" for i in range(100 - C.ITEM_TEXTS_KEPT, 100)} <= set(kept)  # the most recent stay
    # A recent text is still known; the first one was forgotten (its item, and its alerts, are not).
    assert (await observe(store, ("guid:live", "url:live"), "fp-99", 100, TTL)).seen is Seen.SAME
    assert (await observe(store, ("guid:live", "url:live"), "fp-0", 100, TTL)).seen is Seen.CHANGED


async def test_texts_of_a_store_from_before_the_bound_are_pruned_too(store: Store, store_url: str) -> None:
    # Redis items written before the order was kept hold 1 per text: they count as the oldest.
    first = await observe(store, ("guid:old",), "fp-new-0", 100, TTL)
    if not store_url.startswith("sqlite:///"):
        r = raw(store_url)
        r.hset(
            C.ITEM_PREFIX + first.item_id, mapping={f"fp:old-{i}": 1 for i in range(2 * C.ITEM_TEXTS_KEPT)}
        )
        r.hdel(C.ITEM_PREFIX + first.item_id, "fpn")
        r.close()
    for i in range(1, C.ITEM_TEXTS_KEPT + 1):
        await observe(store, ("guid:old",), f"fp-new-{i}", 100, TTL)
    kept = texts_kept(store_url, first.item_id)
    assert len(kept) <= 2 * C.ITEM_TEXTS_KEPT
    assert {f"fp-new-{i}" for i in range(1, C.ITEM_TEXTS_KEPT + 1)} <= set(kept)


def test_sqlite_reads_only_the_texts_asked_about(tmp_path: Path) -> None:
    """The batch read looks up each (item, text) pair by the primary key; it never reads an item's texts whole."""
    db = sqlite3.connect(tmp_path / "state.db")
    db.executescript((resources.files("newswatch.store") / "schema.sql").read_text(encoding="utf-8"))
    db.execute("INSERT INTO item_keys VALUES ('guid:live', 'guid:live', 1e12)")
    db.execute("INSERT INTO items VALUES ('guid:live', 100, 1e12)")
    db.executemany("INSERT INTO item_texts VALUES ('guid:live', ?)", [(f"fp-{i}",) for i in range(50)])
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    batch = [Sighted(Sighting(("guid:live",), fp, 100, TTL, NOW)) for fp in ("fp-49", "fp-new")]
    facts = read_facts(db, batch, STORIES, NOW)
    db.set_trace_callback(None)
    assert [f.fp_known for f in facts] == [True, False]
    reads = [sql for sql in statements if "item_texts" in sql]
    assert reads
    for sql in reads:
        plan = " ".join(str(row[3]) for row in db.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN t" not in plan and "SCAN item_texts" not in plan, plan
        assert "item_id=? AND fp=?" in plan, plan
    db.close()
