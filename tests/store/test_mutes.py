"""Mutes and snoozes set from Slack, a story's message state and held records, on both stores (the `store`
fixture): set, listed, lifted, lapsed; shared by two workers; kept across a restart."""

from __future__ import annotations

import asyncio
import json
import time

from redis.asyncio.cluster import RedisCluster

from newswatch.store import Mute, Sighted, Sighting, Store, WatchClaim, open_store
from newswatch.store.base import mute_id, thread_key
from newswatch.stories import BatchStories, StoryParams

STORIES = BatchStories({}, StoryParams())
DAY = 86400.0


def mute(kind: str, subject: str, *, target: str = "slack:#news", watch: str = "w", ttl: float = DAY) -> Mute:
    now = time.time()
    return Mute(kind, target, watch, subject, "U0ALICE1", now, now + ttl, label=f"about {subject or watch}")


async def test_set_listed_per_channel_and_lifted_by_id(store: Store) -> None:
    story = mute("story", "s-1")
    source = mute("source", "f-abc", target="slack:#mideast")
    snooze = mute("snooze", "", watch="other")
    for m in (story, source, snooze):
        await store.add_mute(m)
    assert {m.id for m in await store.mutes()} == {story.id, source.id, snooze.id}
    assert await store.mutes("slack:#news") == [story, snooze]  # oldest first, every field kept
    assert await store.mutes("slack:#mideast") == [source]
    assert story.id == mute_id("story", "slack:#news", "w", "s-1")
    # By id, as delivery asks before each post: only those named, of that target, in force.
    assert await store.mutes("slack:#news", ids=[story.id, source.id, "m-notathing"]) == [story]
    assert await store.mutes(None, ids=[source.id]) == [source]
    assert await store.mutes("slack:#news", ids=[]) == []
    # Lifting by id: only what was named, and only what was in force counts.
    assert await store.clear_mutes([story.id, "m-notathing"]) == 1
    assert await store.mutes("slack:#news") == [snooze]
    assert await store.clear_mutes() == 2
    assert await store.mutes() == []


async def test_setting_again_replaces_and_a_lapsed_mute_is_gone(store: Store) -> None:
    first = mute("snooze", "")
    await store.add_mute(first)
    later = Mute(**{**_fields(first), "user": "U0BOB001", "expires": first.expires + DAY})
    await store.add_mute(later)
    assert await store.mutes() == [later]  # one snooze, the later one
    lapsed = mute("story", "s-old", ttl=-1.0)  # its time is over already
    await store.add_mute(lapsed)
    assert await store.mutes() == [later]
    assert await store.clear_mutes([lapsed.id]) == 0  # not in force: nothing to lift


async def test_a_short_mute_set_later_does_not_cut_a_long_one_short(store: Store) -> None:
    # Two mutes of one channel share a Redis hash: the hash must live as long as the longest of them.
    long = mute("source", "f-1", ttl=90 * DAY)
    await store.add_mute(long)
    await store.add_mute(mute("story", "s-1", ttl=0.3))
    await asyncio.sleep(0.6)
    assert await store.mutes("slack:#news") == [long]


async def test_shared_by_a_second_worker_and_kept_across_a_restart(store_url: str) -> None:
    one, two = open_store(store_url), open_store(store_url)
    try:
        m = mute("story", "s-1")
        await one.add_mute(m)
        assert await two.mutes("slack:#news") == [m]  # another process sees it at once
        await one.close()
        one = open_store(store_url)  # a restart
        assert await one.mutes("slack:#news") == [m]
        assert await two.clear_mutes([m.id]) == 1
        assert await one.mutes() == []
    finally:
        await one.close()
        await two.close()


async def test_thread_state_is_replaced(store: Store) -> None:
    key = thread_key("slack:#news", "w", "s-1")
    await store.set_thread(key, json.dumps({"ts": "1.1", "notes": {"story": "U0ALICE1"}}))
    assert json.loads(await store.get_thread(key) or "") == {"ts": "1.1", "notes": {"story": "U0ALICE1"}}


async def test_moved_entries_keep_their_order_in_the_new_queue(store: Store) -> None:
    for i in range(5):
        record = {
            "event": None,
            "watch": "w",
            "story": None,
            "title": f"t{i}",
            "url": f"https://x.example/{i}",
        }
        sighting = Sighting((f"guid:{i}",), f"fp{i}", 10, 3600.0, 1_741_000_000.0 + i)
        await store.record([Sighted(sighting, (WatchClaim("w", ("slack:#news",), record),))], STORIES.fresh())
    entries = await store.outbox_head("slack:#news", 10)
    held = "slack:#news|digest:held"
    # Moved one by one, out of order, as delivery meets them.
    for e in (entries[3], entries[0], entries[4]):
        await store.outbox_move("slack:#news", [e.id], held)
    assert [e.record["title"] for e in await store.outbox_head(held, 10)] == ["t0", "t3", "t4"]
    assert [e.record["title"] for e in await store.outbox_head("slack:#news", 10)] == ["t1", "t2"]
    assert set(await store.outbox_targets()) == {"slack:#news", held}
    await store.outbox_move("slack:#news", [entries[1].id, entries[2].id], held)
    assert await store.outbox_targets() == [held]  # the emptied queue is no longer listed
    assert await store.outbox_pending() == 5


def _fields(m: Mute) -> dict[str, object]:
    return {k: getattr(m, k) for k in Mute.__dataclass_fields__}


async def test_a_name_is_remembered_once_by_every_worker_and_then_forgotten(
    store: Store, other_store: Store, store_url: str
) -> None:
    # A handled Slack request (issue 21 point 16): the first worker to remember its signature acts, a copy at
    # another worker does nothing, and nothing of it stays once it could no longer be replayed.
    assert await store.remember_once("slack-request:v0=abc", 0.5) is True
    assert await other_store.remember_once("slack-request:v0=abc", 0.5) is False
    assert await store.remember_once("slack-request:v0=abc", 0.5) is False
    assert await other_store.remember_once("slack-request:v0=def", 0.5) is True
    redis = store._r if store_url.startswith("redis") else None  # type: ignore[attr-defined]
    # KEYS on every master of a cluster (by default the client asks one node)
    on = {"target_nodes": RedisCluster.PRIMARIES} if isinstance(redis, RedisCluster) else {}
    if redis is not None:
        assert len(await redis.keys("*slack-request*", **on)) == 2
    await asyncio.sleep(0.7)
    assert await other_store.remember_once("slack-request:v0=abc", 0.5) is True  # lapsed: a new request
    await asyncio.sleep(0.7)
    if redis is not None:
        assert await redis.keys("*slack-request*", **on) == []  # no grant counter or other key left behind
