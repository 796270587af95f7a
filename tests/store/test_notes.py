"""The decision record behind `newswatch why` and putting parked records back, on both stores."""

from __future__ import annotations

import asyncio

from newswatch import constants as C
from newswatch.store import Store
from tests.store.test_store import claim, record, sighting


async def test_notes_are_filed_under_each_key_read_once_and_oldest_first(store: Store) -> None:
    await store.add_notes([(("guid:a", "url:a"), {"at": 2.0, "what": "new", "feed": "f1"})], 60)
    await store.add_notes(
        [(("url:a",), {"at": 1.0, "what": "same", "feed": "f2"}), (("url:b",), {"at": 3.0})], 60
    )
    notes = await store.notes(["url:a", "guid:a"])
    assert [(n["at"], n["what"]) for n in notes] == [(1.0, "same"), (2.0, "new")]  # the shared note once
    assert await store.notes(["guid:a"]) == [{"at": 2.0, "what": "new", "feed": "f1"}]
    assert await store.notes(["url:zzz"]) == []
    assert await store.notes([]) == []


async def test_notes_are_bounded_per_key_and_expire(store: Store) -> None:
    for i in range(C.WHY_NOTES_PER_KEY + 15):
        await store.add_notes([(("url:busy",), {"at": float(i)})], 60)
    kept = await store.notes(["url:busy"])
    assert [n["at"] for n in kept] == [float(i) for i in range(15, C.WHY_NOTES_PER_KEY + 15)]  # the latest
    await store.add_notes([(("url:brief",), {"at": 1.0})], 0.2)
    assert await store.notes(["url:brief"])
    await asyncio.sleep(0.4)
    assert await store.notes(["url:brief"]) == []  # within seen_ttl, never longer


async def test_unpark_puts_parked_records_back_in_order(store: Store) -> None:
    for i in range(4):
        await record(store, sighting(f"guid:{i}"), [claim("w", ("slack:#a",))])
    head = await store.outbox_head("slack:#a", 10)
    await store.outbox_park("slack:#a", [head[0].id, head[2].id], "channel_not_found")
    await store.outbox_retry("slack:#a", head[1].id, 3, 0.0, "timeout")
    assert await store.outbox_pending() == 2
    assert await store.outbox_unpark() == 2
    assert await store.outbox_parked() == []
    again = await store.outbox_head("slack:#a", 10)
    assert [e.id for e in again] == [e.id for e in head]  # each in its old place
    assert [e.attempts for e in again] == [0, 3, 0, 0]  # a parked record starts afresh
    assert await store.outbox_unpark() == 0


async def test_unpark_puts_each_record_back_in_its_own_queue(store: Store) -> None:
    # Parked lists are one per channel on a Redis Cluster: records of two channels, and of a digest queue beside
    # its channel's queue, each go back to the queue they were parked from.
    for i, target in enumerate(("slack:#a", "slack:#b", "slack:#a|digest:hourly", "slack:#a")):
        await record(store, sighting(f"guid:{i}"), [claim("w", (target,))])
    queues = ("slack:#a", "slack:#b", "slack:#a|digest:hourly")
    before = {t: [e.id for e in await store.outbox_head(t, 10)] for t in queues}
    for target in queues:
        await store.outbox_park(target, before[target], "channel_not_found")
    assert await store.outbox_pending() == 0 and await store.outbox_targets() == []
    assert await store.outbox_unpark() == 4
    assert await store.outbox_parked() == []
    assert sorted(await store.outbox_targets()) == sorted(queues)
    assert {t: [e.id for e in await store.outbox_head(t, 10)] for t in queues} == before
