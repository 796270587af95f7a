"""Fenced leases and fenced outbox writes, on both stores (issue 22.1, 22.6): a grant's epoch, writes refused
once the lease was granted anew, an ack that never writes over another worker's, a retry that never re-creates."""

from __future__ import annotations

import asyncio

import pytest
import redis

from newswatch.store import Sighted, Sighting, Store, WatchClaim
from newswatch.store.base import Fence, Fenced, outbox_lease
from newswatch.stories import BatchStories, default_model

STORIES = BatchStories({}, default_model())
Q = "slack:#news"
LEASE = outbox_lease(Q)


async def queue(store: Store, n: int) -> list[str]:
    for i in range(n):
        record = {"watch": "w", "title": f"t{i}", "url": f"https://e.example/{i}"}
        sighting = Sighting((f"guid:{i}",), f"fp{i}", 10, 3600.0, 1_741_000_000.0 + i)
        await store.record([Sighted(sighting, (WatchClaim("w", (Q,), record, None),))], STORIES.fresh())
    return [e.id for e in await store.outbox_head(Q, n)]


async def test_every_grant_has_a_higher_epoch_and_a_lapsed_grant_taken_anew_cannot_be_renewed(
    store: Store,
) -> None:
    first = await store.lease(LEASE, "a", 0.2)
    assert first >= 1
    assert await store.lease(LEASE, "b", 0.2) == 0  # held by a
    assert await store.lease(LEASE, "a", 0.2, first) == first  # renewed: the same grant
    await asyncio.sleep(0.3)  # lapsed, nobody took it: the grant still holds, renewing continues it
    assert await store.lease(LEASE, "a", 0.2, first) == first
    await asyncio.sleep(0.3)
    second = await store.lease(LEASE, "b", 5.0)  # lapsed and granted to b
    assert second > first
    assert await store.lease(LEASE, "a", 5.0, first) == 0  # a must stop: it never looks continuous
    await store.release(LEASE, "b")
    third = await store.lease(LEASE, "a", 5.0)  # a takes it anew: a new grant, not the old one back
    assert third > second


async def test_writes_fenced_by_a_stale_grant_write_nothing(store: Store, other_store: Store) -> None:
    ids = await queue(store, 3)
    stale = Fence(LEASE, "a", await store.lease(LEASE, "a", 0.1))
    await asyncio.sleep(0.2)
    fresh = Fence(LEASE, "b", await other_store.lease(LEASE, "b", 10.0))
    assert fresh.epoch > stale.epoch
    with pytest.raises(Fenced):
        await store.outbox_confirm(Q, ids[0], stale, 10.0)
    with pytest.raises(Fenced):
        await store.outbox_ack(Q, [ids[0]], thread=(f"{Q}|w|s", "stale-parent"), fence=stale)
    with pytest.raises(Fenced):
        await store.outbox_retry(Q, ids[0], 5, 9e9, "x", fence=stale)
    with pytest.raises(Fenced):
        await store.outbox_park(Q, [ids[1]], "x", fence=stale)
    with pytest.raises(Fenced):
        await store.outbox_move(Q, [ids[2]], Q + "|digest:held", fence=stale)
    head = await store.outbox_head(Q, 10)
    assert [(e.id, e.attempts) for e in head] == [(i, 0) for i in ids]  # nothing written
    assert await store.get_thread(f"{Q}|w|s") is None and await store.outbox_parked() == []
    # The current holder's writes go through.
    assert await other_store.outbox_confirm(Q, ids[0], fresh, 10.0)
    await other_store.outbox_ack(Q, [ids[0]], thread=(f"{Q}|w|s", "parent"), fence=fresh)
    assert await other_store.get_thread(f"{Q}|w|s") == "parent"


async def test_a_lapsed_grant_nobody_took_still_holds(store: Store) -> None:
    # The ack of a message delivered while the store was away: the lease lapsed meanwhile, but no other worker
    # was granted it, so nobody can have sent the entry again, and the ack lands.
    (entry,) = await queue(store, 1)
    fence = Fence(LEASE, "a", await store.lease(LEASE, "a", 0.1))
    await asyncio.sleep(0.2)
    await store.outbox_ack(Q, [entry], fence=fence)
    assert await store.outbox_pending() == 0


async def test_confirm_says_when_an_entry_left_the_queue(store: Store) -> None:
    ids = await queue(store, 2)
    fence = Fence(LEASE, "a", await store.lease(LEASE, "a", 10.0))
    assert await store.outbox_confirm(Q, ids[0], fence, 10.0)
    await store.outbox_park(Q, [ids[0]], "channel_not_found", fence=fence)
    assert not await store.outbox_confirm(Q, ids[0], fence, 10.0)
    assert await store.outbox_confirm(Q, ids[1], fence, 10.0)


async def test_an_ack_never_writes_thread_state_for_an_entry_another_worker_acked(store: Store) -> None:
    (entry,) = await queue(store, 1)
    key = f"{Q}|w|s"
    await store.outbox_ack(Q, [entry], thread=(key, "first-parent"))
    await store.outbox_ack(Q, [entry], thread=(key, "duplicate-parent"))  # a late ack of the same entry
    assert await store.get_thread(key) == "first-parent"


async def test_a_retry_never_recreates_an_acknowledged_entry(store: Store, store_url: str) -> None:
    (entry,) = await queue(store, 1)
    await store.outbox_ack(Q, [entry])
    await store.outbox_retry(Q, entry, 2, 1e10, "timeout")
    assert await store.outbox_head(Q, 10) == [] and await store.outbox_pending() == 0
    if store_url.startswith("redis://"):
        raw = redis.Redis.from_url(store_url)
        assert raw.keys("nw:outbox:e:*") == []  # no orphan hash without a TTL
        raw.close()
