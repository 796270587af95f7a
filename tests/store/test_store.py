"""One suite for every Store: each test runs against SQLite and a real Redis (the `store` fixture)."""

from __future__ import annotations

import asyncio

import pytest

from newswatch.store import Seen, Store, StoreError, open_store
from newswatch.store.sqlite import SQLiteStore

TTL = 3600.0


async def test_new_then_same(store: Store) -> None:
    first = await store.observe(("guid:a", "url:a"), "fp1", 100, TTL)
    again = await store.observe(("guid:a", "url:a"), "fp1", 100, TTL)
    assert first.seen is Seen.NEW
    assert again.seen is Seen.SAME
    assert again.item_id == first.item_id == "guid:a"


async def test_any_shared_key_is_the_same_item(store: Store) -> None:
    # The aggregator copy has no GUID: its canonical URL alone must find the publisher's item.
    pub = await store.observe(("guid:g", "url:u"), "fp-full", 900, TTL)
    agg = await store.observe(("url:u",), "fp-short", 200, TTL)
    assert pub.seen is Seen.NEW
    assert agg.item_id == pub.item_id
    assert agg.seen is Seen.SAME  # shorter, different text: nothing to match again


async def test_longer_text_is_matched_again_once(store: Store) -> None:
    agg = await store.observe(("url:u",), "fp-short", 200, TTL)
    pub = await store.observe(("guid:g", "url:u"), "fp-full", 900, TTL)
    pub_again = await store.observe(("guid:g", "url:u"), "fp-full", 900, TTL)
    assert agg.seen is Seen.NEW
    assert pub.seen is Seen.CHANGED
    assert pub.item_id == agg.item_id
    assert pub_again.seen is Seen.SAME
    # The GUID now points at the same item, so a later sighting by GUID alone is known too.
    assert (await store.observe(("guid:g",), "fp-full", 900, TTL)).item_id == agg.item_id


async def test_edited_headline_of_same_length_is_changed(store: Store) -> None:
    await store.observe(("url:x",), "fp-a", 500, TTL)
    assert (await store.observe(("url:x",), "fp-b", 500, TTL)).seen is Seen.CHANGED


async def test_different_items_do_not_collide(store: Store) -> None:
    a = await store.observe(("guid:1",), "fp", 10, TTL)
    b = await store.observe(("guid:2",), "fp", 10, TTL)
    assert a.seen is Seen.NEW and b.seen is Seen.NEW
    assert a.item_id != b.item_id


async def test_claim_alert_once_per_watch_and_item(store: Store) -> None:
    assert await store.claim_alert("w1", "item", "s1", TTL)
    assert not await store.claim_alert("w1", "item", "s1", TTL)
    assert await store.claim_alert("w2", "item", "s1", TTL)
    assert await store.claim_alert("w1", "other", "s2", TTL)


async def test_concurrent_sightings_decide_once(store_url: str) -> None:
    # Two workers (two clients) meet the same item at the same moment: exactly one sees it as new.
    stores = [open_store(store_url) for _ in range(2)]
    try:
        results = await asyncio.gather(
            *(s.observe(("guid:race", "url:race"), "fp", 10, TTL) for s in stores for _ in range(10))
        )
        claims = await asyncio.gather(
            *(s.claim_alert("w", "guid:race", "s", TTL) for s in stores for _ in range(10))
        )
    finally:
        for s in stores:
            await s.close()
    assert sum(r.seen is Seen.NEW for r in results) == 1
    assert sum(claims) == 1


async def test_seen_keys_expire(store: Store) -> None:
    await store.observe(("guid:short",), "fp", 10, 0.05)
    assert await store.claim_alert("w", "guid:short", "s", 0.05)
    await asyncio.sleep(0.2)
    assert (await store.observe(("guid:short",), "fp", 10, TTL)).seen is Seen.NEW
    assert await store.claim_alert("w", "guid:short", "s", TTL)


async def test_feed_state_round_trip(store: Store) -> None:
    assert await store.get_feed_state("https://example.org/rss") is None
    await store.set_feed_state("https://example.org/rss", {"etag": '"v1"', "failures": 0})
    assert await store.get_feed_state("https://example.org/rss") == {"etag": '"v1"', "failures": 0}


async def test_state_survives_reopen(store_url: str) -> None:
    s = open_store(store_url)
    await s.observe(("guid:persist",), "fp", 10, TTL)
    await s.close()
    s = open_store(store_url)
    try:
        assert (await s.observe(("guid:persist",), "fp", 10, TTL)).seen is Seen.SAME
    finally:
        await s.close()


async def test_unreachable_redis_is_a_clear_error() -> None:
    from tests.conftest import free_port

    s = open_store(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(StoreError, match=r"Redis store redis://127\.0\.0\.1:\d+/0: ConnectionError"):
            await s.ping()
    finally:
        await s.close()


async def test_embedded_store_refuses_a_second_process(tmp_path: object) -> None:
    path = f"{tmp_path}/state.db"
    first = SQLiteStore(path, exclusive=True)
    try:
        with pytest.raises(StoreError, match="another newswatch process is using"):
            SQLiteStore(path, exclusive=True)
    finally:
        await first.close()
    second = SQLiteStore(path, exclusive=True)  # released on close
    await second.close()


def test_bad_store_url() -> None:
    with pytest.raises(StoreError, match="not a store URL"):
        open_store("postgres://x")
