"""A store write that fails half-way leaves nothing behind (issue 22.5): a key of the wrong type is injected
where a batch's commit writes last (its outbox queue); the batch fails whole, and once the key is repaired the
same batch is recorded whole, its alert queued.  SQLite: a trigger refuses the outbox row the same way.  Redis
Cluster: the watch's commit script (the step that writes the claim) meets the wrong key, and nothing of the
batch is written (the entry-id counter and the staging registry aside, which only count and list)."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
import redis
import redis.cluster

from newswatch.store import Seen, Sighted, Sighting, Store, StoreError, WatchClaim
from newswatch.store.redis_keys import Layout
from newswatch.stories import BatchStories, default_model

STORIES = BatchStories({}, default_model())


def batch() -> list[Sighted]:
    record = {"watch": "w", "title": "t", "url": "https://e.example/1"}
    sighting = Sighting(("guid:1", "url:1"), "fp1", 10, 3600.0, 1_741_000_000.0)
    return [Sighted(sighting, (WatchClaim("w", ("jsonl",), record, None),))]


def raw(store_url: str) -> Any:
    """A plain client of the store's Redis (or Redis Cluster)."""
    if store_url.startswith("redis+cluster://"):
        return redis.cluster.RedisCluster.from_url("redis://" + store_url.split("://", 1)[1])
    return redis.Redis.from_url(store_url)


def all_keys(store_url: str) -> list[str]:
    r = raw(store_url)
    if isinstance(r, redis.cluster.RedisCluster):
        keys = r.keys(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    else:
        keys = r.keys("*")
    r.close()
    return sorted(k.decode() for k in keys)


BAD = {"redis": "nw:outbox:q:jsonl", "cluster": "nw:w:{w}:staged"}


def bad_key(store_url: str) -> str:
    return BAD["cluster" if store_url.startswith("redis+cluster://") else "redis"]


def inject(store_url: str) -> None:
    if store_url.startswith("redis"):
        r = raw(store_url)
        r.set(bad_key(store_url), "not a sorted set or hash")
        r.close()
    else:
        db = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        db.execute("CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'injected'); END")
        db.commit()
        db.close()


def repair(store_url: str) -> None:
    if store_url.startswith("redis"):
        r = raw(store_url)
        r.delete(bad_key(store_url))
        r.close()
    else:
        db = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        db.execute("DROP TRIGGER refuse")
        db.commit()
        db.close()


async def test_a_commit_that_fails_writes_nothing_and_the_alert_is_not_lost(
    store: Store, store_url: str
) -> None:
    await store.outbox_pending()  # the SQLite file exists before the trigger is added
    inject(store_url)
    with pytest.raises(StoreError):
        await store.record(batch(), STORIES.fresh())
    assert await store.known_keys(["guid:1", "url:1"]) == set()  # no item, no claim, no story
    if store_url.startswith("redis"):
        bookkeeping = {"nw:outbox:seq", "nw:outbox:staged"}  # cluster: counted and listed before the commit
        assert [k for k in all_keys(store_url) if k not in bookkeeping] == [bad_key(store_url)]
    repair(store_url)
    (recorded,) = await store.record(batch(), STORIES.fresh())
    assert recorded.seen is Seen.NEW and [e.event for e in recorded.events] == ["alert"]
    assert [e.record["url"] for e in await store.outbox_head("jsonl", 10)] == ["https://e.example/1"]


async def test_an_ack_that_fails_writes_nothing(store: Store, store_url: str) -> None:
    if not store_url.startswith("redis"):
        pytest.skip("an SQLite ack is one transaction; the Redis script is what could stop half-way")
    await store.record(batch(), STORIES.fresh())
    (entry,) = await store.outbox_head("jsonl", 10)
    r = raw(store_url)
    r.rpush(
        Layout(cluster=store_url.startswith("redis+cluster://")).thread("jsonl|w|s"), "a list, not a string"
    )
    with pytest.raises(StoreError, match="nothing was written"):
        await store.outbox_ack("jsonl", [entry.id], thread=("jsonl|w|s", "ts"))
    r.close()
    assert [e.id for e in await store.outbox_head("jsonl", 10)] == [entry.id]
