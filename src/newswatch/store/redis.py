"""The Redis store: shared state for any number of workers on any number of machines.

Owns the Redis key layout (prefixes in :mod:`newswatch.constants`) and the Lua scripts (``lua/*.lua``) that
read and apply each decision atomically.  ``record`` takes a whole batch in two round trips: ``read.lua``
returns what the store knows of the batch's items and story candidates and each claimed watch's version;
:func:`newswatch.store.batch.plan_batch` decides in Python (off the event loop); ``commit.lua`` applies the plan
only if the items and the watch versions are still as they were read (optimistic concurrency), else nothing is
written and the batch is read and decided again.  No lock can lapse mid-decision, so two workers seeing two
copies of one report at once still make one story.

Each watch's state shares the hash tag ``{watch}``; these two batch scripts span the item keys, several watches
and the outbox queues, so they need one Redis server (or Valkey).  On a Redis Cluster
(``redis+cluster://``) the same decision is applied in single-slot steps instead: ``redis_cluster.py``.  Every
other script touches the keys of one slot, given in KEYS (key layout: ``redis_keys.py``).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from importlib import resources
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from newswatch import constants as C
from newswatch.store.base import Recorded, Sighted, StoreError
from newswatch.store.notes import RedisNotes
from newswatch.store.redis_batch import commit_request, decide, entries, ms, read_request
from newswatch.store.redis_keys import Layout
from newswatch.store.redis_outbox import RedisOutbox
from newswatch.store.redis_slack import RedisSlack
from newswatch.store.timeline import RedisTimeline
from newswatch.stories import BatchStories

COMMIT_ATTEMPTS = 50  # reads and decisions of one batch before giving up on a store that keeps changing
POOL_SIZE = 32  # connections per process
POOL_WAIT_S = 30.0  # how long a call waits for a free connection


class RedisStore(RedisOutbox, RedisSlack, RedisNotes, RedisTimeline):
    """Store on a Redis server given by URL (``redis://host:port/db``); the outbox and its fenced leases:
    ``redis_outbox.py``; mutes and the rest of Slack actions' state: ``redis_slack.py``; ``why``'s notes:
    ``notes.py``; story timelines: ``timeline.py``."""

    def __init__(self, client: Any, *, url: str = "redis", cluster: bool = False):
        self._r = client  # redis.asyncio.Redis, or RedisCluster (redis_cluster.py)
        self._keys = Layout(cluster=cluster)
        self._url = _redact(url)
        self._read = client.register_script(_lua("read"))
        self._commit = client.register_script(_lua("commit"))
        self._df_add = client.register_script(_lua("df_add"))
        self._ack = client.register_script(_lua("ack"))
        self._park = client.register_script(_lua("park"))
        self._purge_parked = client.register_script(_lua("purge_parked"))
        self._lease = client.register_script(_lua("lease"))
        self._release = client.register_script(_lua("release"))
        self._slot = client.register_script(_lua("slot"))
        self._claim = client.register_script(_lua("claim"))
        self._move = client.register_script(_lua("move"))
        self._confirm = client.register_script(_lua("confirm"))
        self._retry = client.register_script(_lua("retry"))
        self._enqueue = client.register_script(_lua("enqueue"))
        self._unpark = client.register_script(_lua("unpark"))
        # Batches with story claims from this process go one at a time: optimistic concurrency then only
        # arbitrates between workers, instead of this process's own concurrent polls conflicting with each other.
        self._stories_lock = asyncio.Lock()
        # Test hook: awaited between a batch's read and its commit, to let a test interleave another worker.
        self.before_commit: Callable[[], Awaitable[None]] | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        # A blocking pool: hundreds of concurrent polls queue for a connection instead of failing with
        # "Too many connections" or opening hundreds of sockets to Redis.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=POOL_WAIT_S,
            decode_responses=True,
            socket_connect_timeout=5,
            socket_timeout=10,
            health_check_interval=30,
        )
        return cls(aioredis.Redis(connection_pool=pool), url=url)

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except RedisError as exc:
            raise StoreError(f"Redis store {self._url}: {type(exc).__name__}: {exc}") from None

    # ---------------------------------------------------------------------------------------------- items

    async def record(self, batch: Sequence[Sighted], stories: BatchStories) -> list[Recorded]:
        if not batch:
            return []
        if not any(c.features is not None for s in batch for c in s.claims):
            return await self._record(batch, stories)
        async with self._stories_lock:
            return await self._record(batch, stories)

    async def _record(self, batch: Sequence[Sighted], stories: BatchStories) -> list[Recorded]:
        for attempt in range(COMMIT_ATTEMPTS):
            fresh = stories.fresh()  # no decision survives a conflict
            request = json.dumps(read_request(batch, fresh))
            raw = await self._call(self._read(args=[request]))
            # Decoding candidates and deciding is CPU work: off the event loop.
            facts, versions, plan = await asyncio.to_thread(decide, batch, fresh, raw, time.time())
            if self.before_commit is not None:
                await self.before_commit()
            out = json.loads(
                await self._call(
                    self._commit(args=[json.dumps(commit_request(plan, batch, facts, versions))])
                )
            )
            if "conflict" not in out:
                # The status pages' timelines, in this call: lost only to a crash right here, never an alert.
                await self._write_timeline(plan.claims, time.time())
                return plan.recorded(entries(out))
            # Another worker changed an item or a watch of this batch since it was read: decide again.
            await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
        raise StoreError(f"Redis store {self._url}: the batch kept conflicting with other workers' writes")

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        pipe = self._r.pipeline(transaction=False)  # one GET per key: on a cluster each key has its own slot
        for k in keys:
            pipe.get(C.ITEM_KEY_PREFIX + k)
        ids = await self._call(pipe.execute())
        return {k for k, item_id in zip(keys, ids, strict=True) if item_id is not None}

    async def doc_freq(self, limit: int) -> tuple[dict[str, int], int]:
        terms, counted = self._keys.df
        rows = await self._call(self._r.zrevrange(terms, 0, limit - 1, withscores=True))
        docs = await self._call(self._r.get(counted))
        return {str(t): int(n) for t, n in rows}, int(docs or 0)

    async def add_doc_freq(self, increments: Mapping[str, int], docs: int, max_terms: int) -> None:
        args: list[Any] = [docs, max_terms]
        for term, n in increments.items():
            args += [term, n]
        await self._call(self._df_add(keys=list(self._keys.df), args=args))

    # ---------------------------------------------------------------------------------------------- coordination

    async def reserve_slot(self, name: str, interval: float, now: float) -> float:
        horizon = ms(interval * C.PACE_MAX_SLOTS_AHEAD)
        wait_ms = await self._call(
            self._slot(keys=[C.SLOT_PREFIX + name], args=[ms(now), ms(interval), horizon])
        )
        return int(wait_ms) / 1000

    async def count_window(self, name: str, window: float, now: float, add: int = 0) -> int:
        key = f"{C.WINDOW_PREFIX}{name}:{int(now // window)}"
        if add:
            pipe = self._r.pipeline(transaction=not self._keys.cluster)  # one key: one slot anyway
            pipe.incrby(key, add)
            pipe.pexpire(key, ms(window * 2))
            n, _ = await self._call(pipe.execute())
            return int(n)
        return int(await self._call(self._r.get(key)) or 0)

    # ---------------------------------------------------------------------------------------------- schedule

    async def schedule(self, due: Mapping[str, float], *, only_new: bool = False) -> int:
        if not due:
            return 0
        # ZADD counts the members it added (NX or not): feeds that were not scheduled before.
        return int(await self._call(self._r.zadd(C.SCHEDULE_KEY, dict(due), nx=only_new)))

    async def overdue(self, before: float, limit: int) -> list[tuple[str, float]]:
        rows = await self._call(
            self._r.zrangebyscore(C.SCHEDULE_KEY, "-inf", f"({before!r}", start=0, num=limit, withscores=True)
        )
        return [(str(u), float(d)) for u, d in rows]

    async def announce(self, worker: str, generation: str, ttl: float) -> dict[str, str]:
        now = time.time()
        pipe = self._r.pipeline(transaction=not self._keys.cluster)
        pipe.hset(C.WORKERS_KEY, worker, json.dumps({"generation": generation, "until": now + ttl}))
        pipe.hgetall(C.WORKERS_KEY)
        _, rows = await self._call(pipe.execute())
        live, lapsed = {}, []
        for w, raw in rows.items():
            row = json.loads(raw)
            if float(row.get("until", 0)) > now:
                live[str(w)] = str(row.get("generation", ""))
            else:
                lapsed.append(w)
        if lapsed:
            await self._call(self._r.hdel(C.WORKERS_KEY, *lapsed))
        return live

    async def claim_due(self, now: float, limit: int, hold: float) -> list[str]:
        urls = await self._call(self._claim(keys=[C.SCHEDULE_KEY], args=[now, limit, now + hold]))
        return [str(u) for u in urls]

    async def due_time(self, feed_url: str) -> float | None:
        score = await self._call(self._r.zscore(C.SCHEDULE_KEY, feed_url))
        return float(score) if score is not None else None

    async def next_due(self) -> float | None:
        first = await self._call(self._r.zrange(C.SCHEDULE_KEY, 0, 0, withscores=True))
        return float(first[0][1]) if first else None

    async def unschedule(self, feed_urls: Sequence[str]) -> None:
        if feed_urls:
            await self._call(self._r.zrem(C.SCHEDULE_KEY, *feed_urls))

    # ---------------------------------------------------------------------------------------------- feeds

    async def get_feed_state(self, feed_url: str) -> dict[str, Any] | None:
        raw = await self._call(self._r.get(C.FEED_PREFIX + feed_url))
        return cast(dict[str, Any], json.loads(raw)) if raw else None

    async def set_feed_states(self, states: Mapping[str, dict[str, Any]]) -> None:
        if states:
            mapping = {
                C.FEED_PREFIX + url: json.dumps(state, sort_keys=True) for url, state in states.items()
            }
            pipe = self._r.pipeline(transaction=False)  # one SET per feed: on a cluster each has its own slot
            for key, value in mapping.items():
                pipe.set(key, value)
            await self._call(pipe.execute())

    # ---------------------------------------------------------------------------------------------- lifecycle

    async def ping(self) -> None:
        # A write, not PING: a Redis that refuses writes (MISCONF after a failed snapshot, OOM at maxmemory,
        # a read-only replica) answers PING all the same (issue 21 point 18: healthy means "can write").
        await self._call(self._r.set(C.HEALTH_KEY, str(time.time()), px=60_000))

    async def check_safe(self) -> None:
        # INFO, not CONFIG GET: managed Redis services often rename or forbid CONFIG, but answer INFO.
        info = await self._call(self._r.info("memory"))
        # A cluster client answers per node ({node: info}); every master must keep what it holds.
        nodes = info.values() if info and all(isinstance(v, dict) for v in info.values()) else [info]
        policies = {str(n.get("maxmemory_policy", "noeviction")) for n in nodes}
        policy = ", ".join(sorted(policies - {"noeviction"}))
        if policy:
            raise StoreError(
                f"Redis store {self._url} evicts keys under memory pressure (maxmemory-policy {policy}): "
                "newswatch's dedupe state, stories and queued alerts would be dropped, so alerts would be "
                "repeated or lost. Set `maxmemory-policy noeviction` (redis.conf, CONFIG SET, or your "
                "provider's parameter group) and size maxmemory for the data (docs/operations.md, Redis)"
            )

    async def close(self) -> None:
        await self._r.aclose()
        if not self._keys.cluster:
            await self._r.connection_pool.disconnect()


def _lua(name: str) -> str:
    """A script with guard.lua (key and argument checks, fencing) in front of it."""
    folder = resources.files("newswatch.store") / "lua"
    return "\n".join((folder / f"{n}.lua").read_text(encoding="utf-8") for n in ("guard", name))


def _redact(url: str) -> str:
    """The URL without its password, for messages (secrets never reach a log)."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
