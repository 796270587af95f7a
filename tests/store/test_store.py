"""One suite for every Store: each test runs against SQLite and a real Redis (the `store` fixture)."""

from __future__ import annotations

import asyncio
import time

import pytest

from newswatch.store import Recorded, Seen, Sighted, Sighting, Store, StoreError, WatchClaim, open_store
from newswatch.store.sqlite import SQLiteStore
from newswatch.stories import BatchStories, ItemProfile
from tests.conftest import RedisServer
from tests.stories.items import body_model, hand_profile

TTL = 3600.0
# Joins a story when the text cosine reaches about 0.5 above the content floor (two shared words): the store
# tests check what the store applies, not what the shipped weights decide.
STORIES = BatchStories({}, body_model())
NOW = 1_741_000_000.0


async def observe(store: Store, keys: tuple[str, ...], fp: str, length: int, ttl: float = TTL) -> Recorded:
    """Record a sighting that no watch claims."""
    (recorded,) = await store.record([Sighted(Sighting(keys, fp, length, ttl, NOW))], STORIES)
    return recorded


async def record(store: Store, s: Sighting, claims: list[WatchClaim]) -> Recorded:
    (recorded,) = await store.record([Sighted(s, tuple(claims))], STORIES.fresh())
    return recorded


async def test_new_then_same(store: Store) -> None:
    first = await observe(store, ("guid:a", "url:a"), "fp1", 100, TTL)
    again = await observe(store, ("guid:a", "url:a"), "fp1", 100, TTL)
    assert first.seen is Seen.NEW
    assert again.seen is Seen.SAME
    assert again.item_id == first.item_id == "guid:a"


async def test_any_shared_key_is_the_same_item(store: Store) -> None:
    # The aggregator copy has no GUID: its canonical URL alone must find the publisher's item.
    pub = await observe(store, ("guid:g", "url:u"), "fp-full", 900, TTL)
    agg = await observe(store, ("link:agg", "url:u"), "fp-short", 200, TTL)
    assert pub.seen is Seen.NEW
    assert agg.item_id == pub.item_id
    # Folded in from another feed: its text is matched (a copy's length never outranks where it came from),
    # and seen again it is the same.
    assert agg.seen is Seen.CHANGED
    assert (await observe(store, ("link:agg", "url:u"), "fp-short", 200, TTL)).seen is Seen.SAME


async def test_shorter_text_from_the_items_own_feed_is_the_same(store: Store) -> None:
    await observe(store, ("guid:g", "url:u"), "fp-full", 900, TTL)
    assert (await observe(store, ("guid:g", "url:u"), "fp-teaser", 200, TTL)).seen is Seen.SAME


async def test_a_longer_copy_from_another_feed_does_not_hide_the_items_own_text(store: Store) -> None:
    # Issue 21: an aggregator's longer, unrelated copy under the wire story's URL recorded first.  The wire's
    # own text is new, and the copy's length does not become the item's: the wire's later edit is matched too.
    agg = await observe(store, ("link:agg", "url:u"), "fp-briefing", 1600, TTL)
    wire = await observe(store, ("link:wire", "url:u"), "fp-wire", 300, TTL)
    assert (agg.seen, wire.seen, wire.item_id) == (Seen.NEW, Seen.CHANGED, agg.item_id)
    assert (await observe(store, ("link:wire", "url:u"), "fp-wire", 300, TTL)).seen is Seen.SAME
    # The other way round: the copy recorded after the wire's item does not raise its length either.
    await observe(store, ("link:wire2", "url:v"), "fp-wire2", 300, TTL)
    assert (await observe(store, ("link:agg2", "url:v"), "fp-briefing2", 1600, TTL)).seen is Seen.CHANGED
    assert (await observe(store, ("link:wire2", "url:v"), "fp-wire2-edit", 310, TTL)).seen is Seen.CHANGED


async def test_longer_text_is_matched_again_once(store: Store) -> None:
    agg = await observe(store, ("url:u",), "fp-short", 200, TTL)
    pub = await observe(store, ("guid:g", "url:u"), "fp-full", 900, TTL)
    pub_again = await observe(store, ("guid:g", "url:u"), "fp-full", 900, TTL)
    assert agg.seen is Seen.NEW
    assert pub.seen is Seen.CHANGED
    assert pub.item_id == agg.item_id
    assert pub_again.seen is Seen.SAME
    # The GUID now points at the same item, so a later sighting by GUID alone is known too.
    assert (await observe(store, ("guid:g",), "fp-full", 900, TTL)).item_id == agg.item_id


async def test_edited_headline_of_same_length_is_changed(store: Store) -> None:
    await observe(store, ("url:x",), "fp-a", 500, TTL)
    assert (await observe(store, ("url:x",), "fp-b", 500, TTL)).seen is Seen.CHANGED


async def test_different_items_do_not_collide(store: Store) -> None:
    a = await observe(store, ("guid:1",), "fp", 10, TTL)
    b = await observe(store, ("guid:2",), "fp", 10, TTL)
    assert a.seen is Seen.NEW and b.seen is Seen.NEW
    assert a.item_id != b.item_id


async def test_known_keys_are_the_keys_of_recorded_items_until_they_expire(store: Store) -> None:
    # What the full-text step asks before fetching a teaser's page: has any copy of this item been recorded?
    assert await store.known_keys([]) == set()
    assert await store.known_keys(["guid:a", "url:a"]) == set()
    await observe(store, ("guid:a", "url:a"), "fp", 100)
    await observe(store, ("url:b",), "fp", 100, ttl=0.2)
    asked = ["url:a", "guid:other-feed", "url:b", "url:never"]
    assert await store.known_keys(asked) == {"url:a", "url:b"}
    await asyncio.sleep(0.4)
    assert await store.known_keys(asked) == {"url:a"}  # an expired item is new again


def claim(
    watch: str, targets: tuple[str, ...] = ("jsonl",), features: ItemProfile | None = None
) -> WatchClaim:
    return WatchClaim(watch, targets, {"watch": watch, "title": "t", "url": "u"}, features)


def features(
    bands: tuple[str, ...], vector: dict[str, float], published: float = 1_741_000_000.0
) -> ItemProfile:
    return hand_profile(bands, vector, published)


def sighting(key: str, fp: str = "fp", length: int = 100, at: float = NOW) -> Sighting:
    return Sighting((key,), fp, length, TTL, at)


async def test_record_claims_once_per_watch_and_item(store: Store) -> None:
    first = await record(store, sighting("guid:a"), [claim("w1"), claim("w2")])
    assert first.seen is Seen.NEW
    assert [(e.watch, e.event) for e in first.events] == [("w1", "alert"), ("w2", "alert")]
    again = await record(store, sighting("guid:a"), [claim("w1"), claim("w2")])
    assert again.seen is Seen.SAME and again.events == ()
    # Longer text: matched again, but watches that alerted stay quiet; a newly matching watch alerts.
    longer = await record(store, sighting("guid:a", "fp2", 900), [claim("w1"), claim("w3")])
    assert longer.seen is Seen.CHANGED
    assert [(e.watch, e.event) for e in longer.events] == [("w3", "alert")]
    assert await store.outbox_pending() == 3


async def test_outbox_queues_in_order_and_acks(store: Store) -> None:
    for i in range(3):
        await record(store, sighting(f"guid:{i}"), [claim("w", ("slack:#a", "jsonl"))])
    assert await store.outbox_targets() == ["jsonl", "slack:#a"]
    head = await store.outbox_head("slack:#a", 10)
    assert [e.record["event"] for e in head] == ["alert"] * 3
    assert [e.seq for e in head] == sorted(e.seq for e in head)
    assert head[0].record["story"] == head[0].story
    await store.outbox_retry("slack:#a", head[0].id, 2, NOW + 60, "timeout")
    retried = (await store.outbox_head("slack:#a", 1))[0]
    assert (retried.id, retried.attempts, retried.not_before) == (head[0].id, 2, NOW + 60)
    await store.outbox_ack("slack:#a", [head[0].id], thread=("slack:#a|w|s", "123.456"))
    assert await store.get_thread("slack:#a|w|s") == "123.456"
    await store.outbox_park("slack:#a", [e.id for e in head[1:]], "channel_not_found")
    assert await store.outbox_head("slack:#a", 10) == []
    assert await store.outbox_targets() == ["jsonl"]
    parked = await store.outbox_parked()
    assert [(e.id, reason) for e, reason in parked] == [(e.id, "channel_not_found") for e in head[1:]]
    assert await store.outbox_pending() == 3


async def test_purge_parked_by_age_keeps_waiting_entries(store: Store) -> None:
    for i in range(5):
        await record(store, sighting(f"guid:{i}"), [claim("w", ("slack:#a",))])
    head = await store.outbox_head("slack:#a", 10)
    await store.outbox_park("slack:#a", [head[0].id], "channel_not_found")
    await asyncio.sleep(0.05)
    between = time.time()
    await asyncio.sleep(0.05)
    await store.outbox_park("slack:#a", [head[1].id], "channel_not_found")
    # Only what was parked before the cut-off goes; the three waiting entries are never touched.
    assert await store.outbox_purge_parked(between) == 1
    assert [e.id for e, _ in await store.outbox_parked()] == [head[1].id]
    assert await store.outbox_purge_parked(between) == 0
    assert await store.outbox_purge_parked() == 1
    assert await store.outbox_parked() == []
    assert [e.id for e in await store.outbox_head("slack:#a", 10)] == [e.id for e in head[2:]]
    assert await store.outbox_pending() == 3


async def test_near_duplicate_joins_the_story_and_far_one_does_not(store: Store) -> None:
    original = features(("0:aa", "1:bb", "2:cc"), {"hamas": 0.8, "boehler": 0.6})
    copy = features(("0:aa", "1:bb", "2:zz"), {"hamas": 0.6, "boehler": 0.6, "captive": 0.5})
    other = features(("0:xx",), {"hamasaki": 1.0})
    a = await record(store, sighting("guid:orig"), [claim("w", features=original)])
    b = await record(store, sighting("guid:copy"), [claim("w", features=copy)])
    c = await record(store, sighting("guid:other"), [claim("w", features=other)])
    assert a.events[0].event == "alert"
    assert (b.events[0].event, b.events[0].story) == ("update", a.events[0].story)
    assert c.events[0].event == "alert" and c.events[0].story != a.events[0].story
    # Another watch keeps its own stories for the same items.
    d = await record(store, sighting("guid:copy", "fp2", 200), [claim("w2", features=copy)])
    assert d.events[0].event == "alert"


async def test_same_event_by_salient_terms_within_the_window_only(store: Store) -> None:
    report = features(("0:r1",), {"boehler": 0.6, "hamas": 0.6, "captive": 0.5})
    rewrite = features(("0:r2",), {"boehler": 0.6, "hamas": 0.6, "hostage": 0.5}, published=NOW + 3600)
    later = features(("0:r3",), {"boehler": 0.6, "hamas": 0.6, "captive": 0.5}, published=NOW + 60 * 86400)
    a = await record(store, sighting("guid:r1"), [claim("w", features=report)])
    b = await record(store, sighting("guid:r2", at=NOW + 3600), [claim("w", features=rewrite)])
    c = await record(store, sighting("guid:r3", at=NOW + 60 * 86400), [claim("w", features=later)])
    assert b.events[0].story == a.events[0].story and b.events[0].event == "update"
    assert c.events[0].event == "alert"


async def test_two_workers_two_copies_make_one_story(store_url: str) -> None:
    shared = ("0:aa", "1:bb", "2:cc", "3:dd")
    stores = [open_store(store_url) for _ in range(2)]
    try:
        results = await asyncio.gather(
            *(
                record(
                    s,
                    sighting(f"guid:copy{i}"),
                    [claim("w", features=features(shared, {"x": 0.8, "y": 0.6}))],
                )
                for i, s in enumerate(stores)
            )
        )
    finally:
        for s in stores:
            await s.close()
    events = sorted((r.events[0].event, r.events[0].story) for r in results)
    assert [e for e, _ in events] == ["alert", "update"]
    assert events[0][1] == events[1][1]


async def test_a_commit_after_another_workers_story_decides_again(redis_server: RedisServer) -> None:
    """Worker A reads, worker B opens the story for a copy, then A commits: A must see B's story (fencing).

    Redis only: it decides between two round trips, where SQLite decides inside one transaction."""
    from newswatch.store.redis import RedisStore

    redis_server.flush()
    store_url = redis_server.url
    shared = ("0:aa", "1:bb", "2:cc", "3:dd")
    a, b = RedisStore.from_url(store_url), RedisStore.from_url(store_url)
    delayed = []

    async def b_first() -> None:
        if not delayed:
            delayed.append(
                await record(
                    b, sighting("guid:b"), [claim("w", features=features(shared, {"x": 0.8, "y": 0.6}))]
                )
            )

    a.before_commit = b_first
    try:
        got = await record(
            a, sighting("guid:a"), [claim("w", features=features(shared, {"x": 0.8, "y": 0.6}))]
        )
    finally:
        await a.close()
        await b.close()
    (first,) = delayed[0].events
    (second,) = got.events
    assert (first.event, second.event) == ("alert", "update")
    assert first.story == second.story


async def test_doc_freq_is_what_workers_added(store: Store) -> None:
    await store.add_doc_freq({"hamas": 1, "talks": 1}, 1, max_terms=1000)
    counts, docs = await store.doc_freq(100)
    assert (counts, docs) == ({"hamas": 1, "talks": 1}, 1)


async def test_lease_is_exclusive_renewable_and_expires(store: Store) -> None:
    assert await store.lease("feed:a", "w1", 0.2)
    assert not await store.lease("feed:a", "w2", 0.2)
    assert await store.lease("feed:a", "w1", 0.2)  # renew
    await store.release("feed:a", "w2")  # not the holder: nothing happens
    assert not await store.lease("feed:a", "w2", 0.2)
    await store.release("feed:a", "w1")
    assert await store.lease("feed:a", "w2", 0.1)
    await asyncio.sleep(0.3)
    assert await store.lease("feed:a", "w1", 1)


async def test_reserve_slot_paces_a_channel(store: Store) -> None:
    waits = [await store.reserve_slot("slack:#a", 1.0, NOW) for _ in range(3)]
    assert waits == [0.0, 1.0, 2.0]
    assert await store.reserve_slot("slack:#a", 1.0, NOW + 10) == 0.0
    assert await store.reserve_slot("slack:#b", 1.0, NOW) == 0.0


async def test_count_window(store: Store) -> None:
    assert await store.count_window("flood:#a", 60, NOW) == 0
    assert await store.count_window("flood:#a", 60, NOW, add=2) == 2
    assert await store.count_window("flood:#a", 60, NOW + 1, add=1) == 3
    assert await store.count_window("flood:#a", 60, NOW + 120) == 0


async def test_feed_state_round_trip(store: Store) -> None:
    assert await store.get_feed_state("https://example.org/rss") is None
    await store.set_feed_states({"https://example.org/rss": {"etag": '"v1"', "failures": 0}})
    assert await store.get_feed_state("https://example.org/rss") == {"etag": '"v1"', "failures": 0}


async def test_state_survives_reopen(store_url: str) -> None:
    s = open_store(store_url)
    await observe(s, ("guid:persist",), "fp", 10, TTL)
    await s.close()
    s = open_store(store_url)
    try:
        assert (await observe(s, ("guid:persist",), "fp", 10, TTL)).seen is Seen.SAME
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


async def test_schedule_orders_due_feeds(store: Store) -> None:
    await store.schedule({"a": NOW + 10, "b": NOW - 5, "c": NOW - 1})
    await store.schedule({"b": NOW + 100, "d": NOW - 50}, only_new=True)  # b keeps its time, d is added
    assert [await store.due_time(u) for u in "abcd"] == [NOW + 10, NOW - 5, NOW - 1, NOW - 50]
    assert await store.claim_due(NOW, 2, 60.0) == ["d", "b"]  # most overdue first, up to the limit
    assert await store.next_due() == NOW - 1
    await store.unschedule(["c"])
    assert await store.due_time("c") is None
    assert await store.claim_due(NOW, 10, 60.0) == []
    assert await store.next_due() == NOW + 10


async def test_claim_due_hands_each_feed_to_one_worker(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(3)]
    try:
        await stores[0].schedule({f"f{i}": NOW - i for i in range(30)})
        claimed = await asyncio.gather(*(s.claim_due(NOW, 15, 60.0) for s in stores))
        await asyncio.sleep(0)
        flat = [u for c in claimed for u in c]
        assert sorted(flat) == sorted(f"f{i}" for i in range(30))  # all taken, none twice
        assert await stores[0].claim_due(NOW + 59, 100, 60.0) == []  # held while being polled
        assert len(await stores[0].claim_due(NOW + 61, 100, 60.0)) == 30  # a dead worker's feeds come back
    finally:
        for s in stores:
            await s.close()


async def test_embedded_store_answers_a_ping_behind_a_busy_lock(tmp_path: object) -> None:
    """`/healthz` pings the store: a backlog of batches behind the store's lock is no outage, so the ping
    must not queue behind it (under a catch-all load it waited 0.7 s; at 2 s it reads "unreachable")."""
    store = SQLiteStore(f"{tmp_path}/state.db")
    try:
        with store._lock:  # a long transaction is in progress
            await asyncio.wait_for(store.ping(), 1)
            with pytest.raises(TimeoutError):  # while the store's own calls wait for it
                await asyncio.wait_for(store.outbox_pending(), 0.2)
        assert await store.outbox_pending() == 0
    finally:
        await store.close()
    with pytest.raises(StoreError, match="cannot schedule new futures"):  # closed
        await store.ping()
