"""The Redis store: shared state for any number of workers on any number of machines.

Owns the Redis key layout (prefixes in :mod:`newswatch.constants`) and the Lua scripts (``lua/*.lua``) that
read and apply each decision atomically.  ``record`` takes a whole batch in two round trips: ``read.lua``
returns what the store knows of the batch's items and story candidates and each claimed watch's version;
:func:`newswatch.store.batch.plan_batch` decides in Python (off the event loop); ``commit.lua`` applies the plan
only if the items and the watch versions are still as they were read (optimistic concurrency), else nothing is
written and the batch is read and decided again.  No lock can lapse mid-decision, so two workers seeing two
copies of one report at once still make one story.

Each watch's state shares the hash tag ``{watch}``; the batch scripts still span the item keys, several watches
and the outbox queues, so this store needs one Redis server (or Valkey), not a cluster (see README, Scaling).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from importlib import resources
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from newswatch import constants as C
from newswatch.store.base import OutboxEntry, Recorded, Sighted, StoreError
from newswatch.store.batch import BatchPlan, ItemFacts, plan_batch, queries
from newswatch.stories import BatchStories, StoryView

# KEYS[1] queue, KEYS[2] targets set. ARGV: target, entry prefix, thread key, thread ts, thread ttl ms, ids…
_ACK = """
for i = 6, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('DEL', ARGV[2] .. ARGV[i])
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
if ARGV[3] ~= '' then redis.call('SET', ARGV[3], ARGV[4], 'PX', ARGV[5]) end
return 1
"""

# KEYS[1] queue, KEYS[2] targets set, KEYS[3] parked list. ARGV: target, entry prefix, reason, parked at, ids…
_PARK = """
for i = 5, #ARGV do
  local data = redis.call('HGET', ARGV[2] .. ARGV[i], 'data')
  if data then
    local row = {id = ARGV[i], data = data, reason = ARGV[3], parked_at = tonumber(ARGV[4])}
    redis.call('RPUSH', KEYS[3], cjson.encode(row))
  end
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('DEL', ARGV[2] .. ARGV[i])
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
return 1
"""

# KEYS[1] parked list (oldest first). ARGV[1]: parked before (epoch s), or '' for all.  Entries parked by a
# version without parked_at count as parked when they were queued.
_PURGE_PARKED = """
if ARGV[1] == '' then
  local n = redis.call('LLEN', KEYS[1])
  redis.call('DEL', KEYS[1])
  return n
end
local cutoff = tonumber(ARGV[1])
local n = 0
while true do
  local raw = redis.call('LINDEX', KEYS[1], 0)
  if not raw then break end
  local row = cjson.decode(raw)
  local at = row.parked_at or cjson.decode(row.data).created or 0
  if at >= cutoff then break end
  redis.call('LPOP', KEYS[1])
  n = n + 1
end
return n
"""

_LEASE = """
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# Take due feeds for one worker: ZRANGEBYSCORE and moving them past the hold in one step.
_CLAIM = """
local urls = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, u in ipairs(urls) do redis.call('ZADD', KEYS[1], ARGV[3], u) end
return urls
"""

# Times in integer milliseconds: Lua numbers are doubles, but integers keep the arithmetic exact.
_SLOT = """
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local slot = math.max(now, nxt)
redis.call('SET', KEYS[1], slot + tonumber(ARGV[2]), 'PX', math.max(tonumber(ARGV[2]) * 10, 60000))
return slot - now
"""

COMMIT_ATTEMPTS = 50  # reads and decisions of one batch before giving up on a store that keeps changing
POOL_SIZE = 32  # connections per process
POOL_WAIT_S = 30.0  # how long a call waits for a free connection
THREAD_TTL_MS = 30 * 24 * 3600 * 1000


class RedisStore:
    """Store on a Redis server given by URL (``redis://host:port/db``)."""

    def __init__(self, client: aioredis.Redis, *, url: str = "redis"):
        self._r = client
        self._url = _redact(url)
        self._read = client.register_script(_lua("read"))
        self._commit = client.register_script(_lua("commit"))
        self._df_add = client.register_script(_lua("df_add"))
        self._ack = client.register_script(_ACK)
        self._park = client.register_script(_PARK)
        self._purge_parked = client.register_script(_PURGE_PARKED)
        self._lease = client.register_script(_LEASE)
        self._release = client.register_script(_RELEASE)
        self._slot = client.register_script(_SLOT)
        self._claim = client.register_script(_CLAIM)
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
            request = json.dumps(_read_request(batch, fresh))
            raw = await self._call(self._read(args=[request]))
            # Decoding candidates and deciding is CPU work: off the event loop.
            facts, versions, plan = await asyncio.to_thread(_decide, batch, fresh, raw, time.time())
            if self.before_commit is not None:
                await self.before_commit()
            out = json.loads(
                await self._call(
                    self._commit(args=[json.dumps(_commit_request(plan, batch, facts, versions))])
                )
            )
            if "conflict" not in out:
                return plan.recorded([[str(i) for i in _list(ids)] for ids in _list(out.get("entries"))])
            # Another worker changed an item or a watch of this batch since it was read: decide again.
            await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
        raise StoreError(f"Redis store {self._url}: the batch kept conflicting with other workers' writes")

    async def doc_freq(self, limit: int) -> tuple[dict[str, int], int]:
        rows = await self._call(self._r.zrevrange(C.DF_KEY, 0, limit - 1, withscores=True))
        docs = await self._call(self._r.get(C.DF_DOCS_KEY))
        return {str(t): int(n) for t, n in rows}, int(docs or 0)

    async def add_doc_freq(self, increments: Mapping[str, int], docs: int, max_terms: int) -> None:
        args: list[Any] = [docs, max_terms]
        for term, n in increments.items():
            args += [term, n]
        await self._call(self._df_add(keys=[C.DF_KEY, C.DF_DOCS_KEY], args=args))

    # ---------------------------------------------------------------------------------------------- outbox

    async def outbox_targets(self) -> list[str]:
        return sorted(await self._call(self._r.smembers(C.OUTBOX_TARGETS_KEY)))

    async def enqueue(self, target: str, record: Mapping[str, Any]) -> str:
        seq = int(await self._call(self._r.incr(C.OUTBOX_SEQ_KEY)))
        data = {"watch": record.get("watch", ""), "story": record.get("story", ""), "event": record.get("event", ""),
                "record": dict(record), "created": time.time(), "target": target}  # fmt: skip
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(
            C.OUTBOX_ENTRY_PREFIX + str(seq),
            mapping={"data": json.dumps(data), "attempts": 0, "not_before": 0},
        )
        pipe.zadd(C.OUTBOX_QUEUE_PREFIX + target, {str(seq): seq})
        pipe.sadd(C.OUTBOX_TARGETS_KEY, target)
        await self._call(pipe.execute())
        return str(seq)

    async def outbox_head(self, target: str, limit: int) -> list[OutboxEntry]:
        ids = await self._call(self._r.zrange(C.OUTBOX_QUEUE_PREFIX + target, 0, limit - 1))
        if not ids:
            return []
        pipe = self._r.pipeline(transaction=False)
        for i in ids:
            pipe.hgetall(C.OUTBOX_ENTRY_PREFIX + i)
        rows = await self._call(pipe.execute())
        entries = []
        for i, row in zip(ids, rows, strict=True):
            if not row:
                continue
            data = json.loads(row["data"])
            entries.append(
                OutboxEntry(
                    id=str(i),
                    seq=int(i),
                    target=target,
                    watch=data["watch"],
                    story=data["story"],
                    event=data["event"],
                    record=data["record"],
                    attempts=int(row.get("attempts", 0)),
                    not_before=float(row.get("not_before", 0)),
                    created=float(data.get("created", 0)),
                )
            )
        return entries

    async def outbox_ack(
        self, target: str, entry_ids: Sequence[str], thread: tuple[str, str] | None = None
    ) -> None:
        key, ts = thread or ("", "")
        await self._call(
            self._ack(
                keys=[C.OUTBOX_QUEUE_PREFIX + target, C.OUTBOX_TARGETS_KEY],
                args=[
                    target,
                    C.OUTBOX_ENTRY_PREFIX,
                    C.THREAD_PREFIX + key if key else "",
                    ts,
                    THREAD_TTL_MS,
                    *entry_ids,
                ],
            )
        )

    async def outbox_retry(
        self, target: str, entry_id: str, attempts: int, not_before: float, error: str
    ) -> None:
        await self._call(
            self._r.hset(
                C.OUTBOX_ENTRY_PREFIX + entry_id, mapping={"attempts": attempts, "not_before": not_before}
            )
        )

    async def outbox_park(self, target: str, entry_ids: Sequence[str], reason: str) -> None:
        await self._call(
            self._park(
                keys=[C.OUTBOX_QUEUE_PREFIX + target, C.OUTBOX_TARGETS_KEY, C.OUTBOX_PARKED_KEY],
                args=[target, C.OUTBOX_ENTRY_PREFIX, reason, time.time(), *entry_ids],
            )
        )

    async def outbox_purge_parked(self, parked_before: float | None = None) -> int:
        cutoff = "" if parked_before is None else repr(parked_before)
        return int(await self._call(self._purge_parked(keys=[C.OUTBOX_PARKED_KEY], args=[cutoff])))

    async def outbox_parked(self) -> list[tuple[OutboxEntry, str]]:
        rows = await self._call(self._r.lrange(C.OUTBOX_PARKED_KEY, 0, -1))
        out = []
        for raw in rows:
            row = json.loads(raw)
            data = json.loads(row["data"])
            entry = OutboxEntry(
                id=row["id"],
                seq=int(row["id"]),
                target=data.get("target", ""),
                watch=data["watch"],
                story=data["story"],
                event=data["event"],
                record=data["record"],
                created=float(data.get("created", 0)),
            )
            out.append((entry, str(row["reason"])))
        return out

    async def outbox_pending(self) -> int:
        targets = await self.outbox_targets()
        if not targets:
            return 0
        pipe = self._r.pipeline(transaction=False)
        for t in targets:
            pipe.zcard(C.OUTBOX_QUEUE_PREFIX + t)
        return sum(int(n) for n in await self._call(pipe.execute()))

    async def get_thread(self, key: str) -> str | None:
        ts = await self._call(self._r.get(C.THREAD_PREFIX + key))
        return str(ts) if ts else None

    # ---------------------------------------------------------------------------------------------- coordination

    async def lease(self, name: str, holder: str, ttl: float) -> bool:
        return bool(await self._call(self._lease(keys=[C.LEASE_PREFIX + name], args=[holder, _ms(ttl)])))

    async def release(self, name: str, holder: str) -> None:
        await self._call(self._release(keys=[C.LEASE_PREFIX + name], args=[holder]))

    async def reserve_slot(self, name: str, interval: float, now: float) -> float:
        wait_ms = await self._call(self._slot(keys=[C.SLOT_PREFIX + name], args=[_ms(now), _ms(interval)]))
        return int(wait_ms) / 1000

    async def count_window(self, name: str, window: float, now: float, add: int = 0) -> int:
        key = f"{C.WINDOW_PREFIX}{name}:{int(now // window)}"
        if add:
            pipe = self._r.pipeline(transaction=True)
            pipe.incrby(key, add)
            pipe.pexpire(key, _ms(window * 2))
            n, _ = await self._call(pipe.execute())
            return int(n)
        return int(await self._call(self._r.get(key)) or 0)

    # ---------------------------------------------------------------------------------------------- schedule

    async def schedule(self, due: Mapping[str, float], *, only_new: bool = False) -> None:
        if due:
            await self._call(self._r.zadd(C.SCHEDULE_KEY, dict(due), nx=only_new))

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
            await self._call(self._r.mset(mapping))

    # ---------------------------------------------------------------------------------------------- lifecycle

    async def ping(self) -> None:
        await self._call(self._r.ping())

    async def close(self) -> None:
        await self._r.aclose()
        await self._r.connection_pool.disconnect()


def _lua(name: str) -> str:
    return (resources.files("newswatch.store") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


def watch_prefix(watch: str) -> str:
    """The key prefix of one watch's state, hash-tagged so a cluster would keep it in one slot."""
    tag = watch if "{" not in watch and "}" not in watch else hashlib.sha256(watch.encode()).hexdigest()[:16]
    return f"{C.WATCH_PREFIX}{{{tag}}}:"


def _read_request(batch: Sequence[Sighted], stories: BatchStories) -> dict[str, Any]:
    items = []
    watches: dict[str, None] = {}
    for sighted in batch:
        qs = queries(sighted, stories)
        entries = []
        for claim in sighted.claims:
            w: dict[str, Any] = {"name": claim.watch, "prefix": watch_prefix(claim.watch)}
            q = qs.get(claim.watch)
            if q is not None:
                # Scores travel as strings: Lua would print a number with 14 digits and move the window edge.
                w["q"] = {"bands": list(q.bands), "terms": [list(t) for t in q.terms], "since": repr(q.since),
                          "per": q.per_term, "limit": q.limit}  # fmt: skip
            entries.append(w)
            watches[claim.watch] = None
        keys = [C.ITEM_KEY_PREFIX + k for k in sighted.sighting.keys]
        items.append({"keys": keys, "fp": sighted.sighting.fingerprint, "watches": entries})
    return {"item_prefix": C.ITEM_PREFIX, "items": items, "vers": [watch_prefix(w) for w in watches]}


def _decide(
    batch: Sequence[Sighted], stories: BatchStories, raw: str, now: float
) -> tuple[list[ItemFacts], dict[str, int], BatchPlan]:
    out = json.loads(raw)
    facts = []
    watches: dict[str, None] = {}
    for sighted, item in zip(batch, _list(out.get("items")), strict=True):
        views = {
            str(w): StoryView(tuple(b or None for b in _list(v.get("bands"))), tuple(_list(v.get("recs"))))
            for w, v in _dict(item.get("views")).items()
        }
        alerted = {str(w): str(sid) for w, sid in _dict(item.get("alerted")).items()}
        ids = tuple(i or None for i in _list(item.get("ids")))
        facts.append(ItemFacts(ids, bool(item.get("fp")), int(item.get("len") or 0), alerted, views))
        for claim in sighted.claims:
            watches[claim.watch] = None
    versions = dict(zip(watches, (int(v) for v in _list(out.get("vers"))), strict=True))
    return facts, versions, plan_batch(batch, facts, stories, now)


def _commit_request(
    plan: BatchPlan, batch: Sequence[Sighted], facts: Sequence[ItemFacts], versions: Mapping[str, int]
) -> dict[str, Any]:
    now = time.time()
    # cjson turns null into a truthy userdata: send false, never None.
    expect = [
        {"keys": [C.ITEM_KEY_PREFIX + k for k in s.sighting.keys], "ids": [i or False for i in f.key_ids],
         "fp": s.sighting.fingerprint, "fp_known": f.fp_known, "len": f.max_len}
        for s, f in zip(batch, facts, strict=True)
    ]  # fmt: skip
    items = [
        {"id": w.item_id, "keys": [C.ITEM_KEY_PREFIX + k for k in w.keys], "fp": w.fingerprint,
         "len": w.max_len, "new": w.new, "ttl": _ms(w.ttl)}
        for w in plan.items
    ]  # fmt: skip
    places = []
    claims = []
    for c in plan.claims:
        prefix = watch_prefix(c.watch)
        p = c.placement
        if p is not None:
            places.append(
                {"prefix": prefix, "sid": p.story_id, "rec": p.record.to_json(), "ttl": _ms(p.expires - now),
                 "bands": list(p.bands), "unpost": list(p.unpost), "post": list(p.post),
                 "latest": repr(p.record.latest), "trim": repr(p.trim)}
            )  # fmt: skip
        data = {"watch": c.watch, "story": c.story_id, "event": c.event, "record": c.record, "created": now}
        entries = [{"target": t, "data": json.dumps({**data, "target": t})} for t in c.targets]
        claims.append(
            {"prefix": prefix, "item": c.item_id, "story": c.story_id, "ttl": _ms(c.ttl), "entries": entries}
        )
    return {
        "item_prefix": C.ITEM_PREFIX,
        "seq_key": C.OUTBOX_SEQ_KEY,
        "entry_prefix": C.OUTBOX_ENTRY_PREFIX,
        "queue_prefix": C.OUTBOX_QUEUE_PREFIX,
        "targets_key": C.OUTBOX_TARGETS_KEY,
        "expect": {
            "items": expect,
            "vers": [[watch_prefix(w), n] for w, n in versions.items() if w in plan.watches],
        },
        "items": items,
        "places": places,
        "claims": claims,
    }


def _list(value: Any) -> list[Any]:
    # cjson encodes an empty Lua table as {} (an object), never as [].
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _redact(url: str) -> str:
    """The URL without its password, for messages (secrets never reach a log)."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
