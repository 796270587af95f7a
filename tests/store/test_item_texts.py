"""Issue 21, point 19: the texts a store keeps per item are bounded (ITEM_TEXTS_KEPT, most recently first seen),
and reading a batch asks for the sightings' own (item, text) pairs only.  Every test runs on each backend."""

from __future__ import annotations

import sqlite3

from newswatch import constants as C
from newswatch.store import Seen, Store
from tests.store.test_atomic import raw
from tests.store.test_store import TTL, observe


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
