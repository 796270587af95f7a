"""The Redis store: shared state for any number of workers on any number of machines.

Owns the Redis key layout (prefixes in :mod:`newswatch.constants`) and the Lua scripts that make each decision
atomic.  ``record`` is one script when no story has to be placed, and two otherwise: *prepare* reads the
item's status and the candidate stories and takes a short lock on each watch's story state, the worker decides
(pure Python, :func:`newswatch.stories.assign`), and *commit* writes observation, claims, stories and outbox
entries at once and releases the locks.  The locks serialise story decisions of one watch across workers, so
two workers seeing two copies at once create one story.  Computed keys are not declared to the scripts, so
this store needs one Redis server (or keys in one hash slot), not a cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from newswatch import constants as C
from newswatch.store.base import (
    Event,
    Observation,
    OutboxEntry,
    Recorded,
    Seen,
    Sighting,
    StoreError,
    StoryConfig,
    StoryDecider,
    WatchClaim,
    new_story_id,
    posted_terms,
)
from newswatch.stories import Candidates, StoryFeatures, StoryParams, StoryRecord, new_story

# Shared by the scripts: the status of a sighting (new / changed / same) without writing anything.
_STATUS = """
local function status(keys, fp, len, item_prefix, new_id)
  local id = false
  for _, k in ipairs(keys) do
    local v = redis.call('GET', k)
    if v then id = v; break end
  end
  if not id then return new_id, 'new', 0 end
  local ik = item_prefix .. id
  if redis.call('HEXISTS', ik, 'fp:' .. fp) == 1 then return id, 'same', 0 end
  local max_len = tonumber(redis.call('HGET', ik, 'len') or '0')
  if len >= max_len then return id, 'changed', max_len end
  return id, 'same', max_len
end
local function unlock(watches)
  for _, w in ipairs(watches) do
    if w.lock_key ~= '' and redis.call('GET', w.lock_key) == w.token then redis.call('DEL', w.lock_key) end
  end
end
"""

_PEEK = (
    _STATUS
    + """
local id, st = status(KEYS, ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4])
return {id, st}
"""
)

# ARGV[1]: JSON {fp, len, item_prefix, new_id, alerted_prefix, lock_ms, token, watches: [{watch, lock_key,
# bands: [key], terms: [[key, weight]], lo, ppt, max_candidates, rec_prefix}]}
_PREPARE = (
    _STATUS
    + """
local a = cjson.decode(ARGV[1])
local id, st = status(KEYS, a.fp, a.len, a.item_prefix, a.new_id)
local out = {id = id, status = st, watches = {}}
if st == 'same' then return cjson.encode(out) end
local locked = {}
for _, w in ipairs(a.watches) do
  w.alerted_key = a.alerted_prefix .. w.watch .. '|' .. id
  if redis.call('EXISTS', w.alerted_key) == 0 then
    if not redis.call('SET', w.lock_key, a.token, 'NX', 'PX', a.lock_ms) then
      unlock(locked)
      return cjson.encode({busy = true})
    end
    table.insert(locked, {lock_key = w.lock_key, token = a.token})
  end
end
for _, w in ipairs(a.watches) do
  local res = {claimed = redis.call('EXISTS', w.alerted_key) == 1, hits = {}, records = {}}
  if not res.claimed then
    local hits = {}
    for _, b in ipairs(w.bands) do
      local sid = redis.call('GET', b)
      if sid then hits[sid] = (hits[sid] or 0) + 1 end
    end
    local shared, order = {}, {}
    for _, tw in ipairs(w.terms) do
      local sids = redis.call('ZREVRANGEBYSCORE', tw[1], '+inf', w.lo, 'LIMIT', 0, w.ppt)
      for _, sid in ipairs(sids) do
        if not shared[sid] then shared[sid] = 0; table.insert(order, sid) end
        shared[sid] = shared[sid] + tw[2]
      end
    end
    table.sort(order, function(x, y) return shared[x] > shared[y] end)
    local wanted, seen = {}, {}
    for sid, n in pairs(hits) do
      table.insert(res.hits, {sid, n})
      if not seen[sid] then seen[sid] = true; table.insert(wanted, sid) end
    end
    for i, sid in ipairs(order) do
      if i > w.max_candidates then break end
      if not seen[sid] then seen[sid] = true; table.insert(wanted, sid) end
    end
    for _, sid in ipairs(wanted) do
      local rec = redis.call('GET', w.rec_prefix .. sid)
      if rec then table.insert(res.records, rec) end
    end
  end
  out.watches[w.watch] = res
end
return cjson.encode(out)
"""
)

# ARGV[1]: JSON {fp, len, ttl_ms, item_prefix, new_id, alerted_prefix, df_terms, df_key, df_docs_key, seq_key,
# entry_prefix, queue_prefix, targets_key, watches: [{watch, lock_key, token, story, event, ops, entries}]}
# The alerted key of a watch is derived from the item id found here, which another worker may have just set.
_COMMIT = (
    _STATUS
    + """
local a = cjson.decode(ARGV[1])
local id, st = status(KEYS, a.fp, a.len, a.item_prefix, a.new_id)
local out = {id = id, status = st, events = {}}
for _, k in ipairs(KEYS) do redis.call('SET', k, id, 'PX', a.ttl_ms) end
local ik = a.item_prefix .. id
if st == 'new' then redis.call('DEL', ik) end
redis.call('HSET', ik, 'fp:' .. a.fp, 1)
if st ~= 'same' then redis.call('HSET', ik, 'len', a.len) end
redis.call('PEXPIRE', ik, a.ttl_ms)
if st == 'same' then unlock(a.watches); return cjson.encode(out) end
if st == 'new' then
  for _, t in ipairs(a.df_terms) do redis.call('HINCRBY', a.df_key, t, 1) end
  redis.call('INCR', a.df_docs_key)
end
for _, w in ipairs(a.watches) do
  if redis.call('SET', a.alerted_prefix .. w.watch .. '|' .. id, w.story, 'NX', 'PX', a.ttl_ms) then
    for _, op in ipairs(w.ops) do
      if op[1] == 'SET' then redis.call('SET', op[2], op[3], 'PX', op[4])
      elseif op[1] == 'ZADD' then redis.call('ZADD', op[2], op[3], op[4])
      elseif op[1] == 'ZREM' then redis.call('ZREM', op[2], op[3])
      elseif op[1] == 'TRIM' then redis.call('ZREMRANGEBYSCORE', op[2], '-inf', op[3]); redis.call('PEXPIRE', op[2], op[4])
      end
    end
    local ids = {}
    for _, e in ipairs(w.entries) do
      local seq = redis.call('INCR', a.seq_key)
      redis.call('HSET', a.entry_prefix .. seq, 'data', e.data, 'attempts', 0, 'not_before', 0)
      redis.call('ZADD', a.queue_prefix .. e.target, seq, seq)
      redis.call('SADD', a.targets_key, e.target)
      table.insert(ids, tostring(seq))
    end
    table.insert(out.events, {watch = w.watch, story = w.story, event = w.event, entries = ids})
  end
end
unlock(a.watches)
return cjson.encode(out)
"""
)

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

LOCK_MS = 5000
POOL_SIZE = 32  # connections per process
POOL_WAIT_S = 30.0  # how long a call waits for a free connection
THREAD_TTL_MS = 30 * 24 * 3600 * 1000


class RedisStore:
    """Store on a Redis server given by URL (``redis://host:port/db``)."""

    def __init__(self, client: aioredis.Redis, *, url: str = "redis"):
        self._r = client
        self._url = _redact(url)
        self._peek = client.register_script(_PEEK)
        self._prepare = client.register_script(_PREPARE)
        self._commit = client.register_script(_COMMIT)
        self._ack = client.register_script(_ACK)
        self._park = client.register_script(_PARK)
        self._purge_parked = client.register_script(_PURGE_PARKED)
        self._lease = client.register_script(_LEASE)
        self._release = client.register_script(_RELEASE)
        self._slot = client.register_script(_SLOT)
        self._claim = client.register_script(_CLAIM)
        self.round_trips = 0  # for benchmarks: scripts and commands sent by record()
        self._locks: dict[str, asyncio.Lock] = {}

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

    async def peek(self, keys: tuple[str, ...], fingerprint: str, length: int) -> Observation:
        if not keys:
            raise ValueError("an item needs at least one identity key")
        item_id, status = await self._call(
            self._peek(
                keys=[C.ITEM_KEY_PREFIX + k for k in keys], args=[fingerprint, length, C.ITEM_PREFIX, keys[0]]
            )
        )
        return Observation(str(item_id), Seen(status))

    async def observe(self, keys: tuple[str, ...], fingerprint: str, length: int, ttl: float) -> Observation:
        """Record a sighting with no watch to claim (kept for tools and tests)."""
        recorded = await self.record(
            Sighting(keys, fingerprint, length, ttl, time.time()), (), _never, _NO_STORIES
        )
        return Observation(recorded.item_id, recorded.seen)

    async def record(
        self, sighting: Sighting, claims: Sequence[WatchClaim], decide: StoryDecider, stories: StoryConfig
    ) -> Recorded:
        if not sighting.keys:
            raise ValueError("an item needs at least one identity key")
        keys = [C.ITEM_KEY_PREFIX + k for k in sighting.keys]
        base: dict[str, Any] = {
            "fp": sighting.fingerprint,
            "len": sighting.length,
            "item_prefix": C.ITEM_PREFIX,
            "new_id": sighting.keys[0],
            "alerted_prefix": C.ALERTED_PREFIX,
        }
        token = uuid.uuid4().hex
        placed: dict[str, tuple[str, str, list[list[Any]]]] = {}  # watch -> (story, event, ops)
        storied = [c for c in claims if c.features is not None]
        if not storied:
            return await self._record(sighting, keys, base, claims, storied, {}, sighting.keys[0], token)
        # One contender per watch and process: the Redis lock then only arbitrates between workers, instead of
        # dozens of this process's own concurrent polls spinning on it.
        async with contextlib.AsyncExitStack() as held:
            for watch in sorted({c.watch for c in storied}):
                await held.enter_async_context(self._local_lock(watch))
            prepared = await self._prepare_with_retry(keys, base, storied, stories, token, sighting.at)
            if prepared["status"] == "same":
                return Recorded(str(prepared["id"]), Seen.SAME)
            item_id = str(prepared["id"])
            for claim in storied:
                res = prepared["watches"].get(claim.watch) or {}
                if res.get("claimed"):
                    continue
                assert claim.features is not None
                params = stories.for_watch(claim.watch)
                candidates = Candidates(
                    at=sighting.at,
                    band_hits={str(sid): int(n) for sid, n in _pairs(res.get("hits"))},
                    stories=[StoryRecord.from_json(r) for r in _list(res.get("records"))],
                )
                chosen = decide(claim.features, candidates, params)
                placed[claim.watch] = self._story_ops(claim, item_id, sighting.at, chosen, candidates, params)
            return await self._record(sighting, keys, base, claims, storied, placed, item_id, token)

    async def _record(
        self,
        sighting: Sighting,
        keys: list[str],
        base: dict[str, Any],
        claims: Sequence[WatchClaim],
        storied: Sequence[WatchClaim],
        placed: dict[str, tuple[str, str, list[list[Any]]]],
        item_id: str,
        token: str,
    ) -> Recorded:
        """The commit round trip: observation, claims, story writes and outbox entries in one script.

        Without story claims the item id is a guess (its first key); the script finds the stored one.
        """
        # cjson turns null into a truthy userdata: send empty values, never None.
        df_terms = next((list(c.features.terms) for c in storied if c.features is not None), [])
        watches: list[dict[str, Any]] = []
        for claim in claims:
            if claim.features is not None and claim.watch not in placed:
                continue  # already claimed by another sighting
            story, event, ops = placed.get(claim.watch) or (None, "alert", [])
            watches.append(
                {
                    "watch": claim.watch,
                    "lock_key": _lock_key(claim.watch) if claim.features is not None else "",
                    "token": token,
                    "story": story,
                    "event": event,
                    "ops": ops,
                    "targets": list(claim.targets),
                    "record": dict(claim.record),
                }
            )
        if watches and not storied:
            # Without story grouping (an opt-out) the stored id names the new stories; ask for it first.
            self.round_trips += 1
            item_id = (await self.peek(sighting.keys, sighting.fingerprint, sighting.length)).item_id
        for w in watches:
            if w["story"] is None:
                w["story"] = new_story_id(str(w["watch"]), item_id)
            record = {**w.pop("record"), "event": w["event"], "story": w["story"]}
            data = {"watch": w["watch"], "story": w["story"], "event": w["event"], "record": record,
                    "created": time.time()}  # fmt: skip
            w["entries"] = [
                {"target": t, "data": json.dumps({**data, "target": t})} for t in w.pop("targets")
            ]
        args = {
            **base,
            "ttl_ms": _ms(sighting.ttl),
            "df_terms": df_terms,
            "df_key": C.DF_KEY,
            "df_docs_key": C.DF_DOCS_KEY,
            "seq_key": C.OUTBOX_SEQ_KEY,
            "entry_prefix": C.OUTBOX_ENTRY_PREFIX,
            "queue_prefix": C.OUTBOX_QUEUE_PREFIX,
            "targets_key": C.OUTBOX_TARGETS_KEY,
            "watches": watches,
        }
        self.round_trips += 1
        out = json.loads(await self._call(self._commit(keys=keys, args=[json.dumps(args)])))
        events = tuple(
            Event(
                str(e["watch"]),
                str(e["story"]),
                str(e["event"]),
                tuple(str(i) for i in _list(e.get("entries"))),
            )
            for e in _list(out.get("events"))
        )
        return Recorded(str(out["id"]), Seen(out["status"]), events)

    def _local_lock(self, watch: str) -> asyncio.Lock:
        lock = self._locks.get(watch)
        if lock is None:
            lock = self._locks[watch] = asyncio.Lock()
        return lock

    async def _prepare_with_retry(
        self,
        keys: list[str],
        base: dict[str, Any],
        claims: Sequence[WatchClaim],
        stories: StoryConfig,
        token: str,
        at: float,
    ) -> dict[str, Any]:
        watches: list[dict[str, Any]] = []
        for claim in claims:
            assert claim.features is not None
            p = stories.for_watch(claim.watch)
            prefix = _story_prefix(claim.watch)
            watches.append(
                {
                    "watch": claim.watch,
                    "lock_key": _lock_key(claim.watch),
                    "bands": [prefix + "band:" + b for b in claim.features.bands],
                    "terms": [[prefix + "term:" + t, w] for t, w in claim.features.vector[: p.query_terms]],
                    "lo": at - p.window_s,
                    "ppt": p.postings_per_term,
                    "max_candidates": p.max_candidates,
                    "rec_prefix": prefix + "rec:",
                }
            )
        args = json.dumps({**base, "lock_ms": LOCK_MS, "token": token, "watches": watches})
        deadline = time.monotonic() + LOCK_MS / 1000 * 2
        pause = 0.001
        while True:
            self.round_trips += 1
            out = cast(dict[str, Any], json.loads(await self._call(self._prepare(keys=keys, args=[args]))))
            if not out.get("busy"):
                return out
            if time.monotonic() > deadline:
                raise StoreError(
                    f"Redis store {self._url}: story state of a watch stayed locked for too long"
                )
            # Another worker holds the watch: back off a little more each time, with jitter.
            await asyncio.sleep(random.uniform(pause / 2, pause))
            pause = min(pause * 2, 0.05)

    def _story_ops(
        self,
        claim: WatchClaim,
        item_id: str,
        at: float,
        chosen: str | None,
        candidates: Candidates,
        p: StoryParams,
    ) -> tuple[str, str, list[list[Any]]]:
        assert claim.features is not None
        existing = next((s for s in candidates.stories if s.story_id == chosen), None)
        if existing is None:
            record, event = new_story(new_story_id(claim.watch, item_id), claim.features, at, p), "alert"
        else:
            record, event = existing.joined(claim.features, at, p), "update"
        prefix = _story_prefix(claim.watch)
        sid = record.story_id
        ttl_ms = _ms(max(0.0, record.latest - time.time()) + 2 * p.window_s)
        ops: list[list[Any]] = [["SET", prefix + "rec:" + sid, record.to_json(), ttl_ms]]
        ops += [["SET", prefix + "band:" + b, sid, ttl_ms] for b in claim.features.bands]
        if existing is not None:
            ops += [["ZREM", prefix + "term:" + t, sid] for t in posted_terms(existing, p.index_terms)]
        for term in posted_terms(record, p.index_terms):
            key = prefix + "term:" + term
            ops.append(["ZADD", key, record.latest, sid])
            ops.append(["TRIM", key, at - 2 * p.window_s, ttl_ms])
        return sid, event, ops

    async def doc_freq(self) -> tuple[dict[str, int], int]:
        counts = await self._call(self._r.hgetall(C.DF_KEY))
        docs = await self._call(self._r.get(C.DF_DOCS_KEY))
        return {str(k): int(v) for k, v in counts.items()}, int(docs or 0)

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

    async def due_feeds(self, now: float, limit: int) -> list[str]:
        return list(await self._call(self._r.zrangebyscore(C.SCHEDULE_KEY, "-inf", now, start=0, num=limit)))

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

    async def set_feed_state(self, feed_url: str, state: dict[str, Any]) -> None:
        await self._call(self._r.set(C.FEED_PREFIX + feed_url, json.dumps(state, sort_keys=True)))

    # ---------------------------------------------------------------------------------------------- lifecycle

    async def ping(self) -> None:
        await self._call(self._r.ping())

    async def close(self) -> None:
        await self._r.aclose()
        await self._r.connection_pool.disconnect()


def _lock_key(watch: str) -> str:
    return f"{C.STORY_PREFIX}{watch}|lock"


def _story_prefix(watch: str) -> str:
    return f"{C.STORY_PREFIX}{watch}|"


def _pairs(value: Any) -> list[tuple[Any, Any]]:
    return [(p[0], p[1]) for p in _list(value)]


def _list(value: Any) -> list[Any]:
    # cjson encodes an empty Lua table as {} (an object), never as [].
    return value if isinstance(value, list) else []


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _redact(url: str) -> str:
    """The URL without its password, for messages (secrets never reach a log)."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def _never(features: StoryFeatures, candidates: Candidates, params: StoryParams) -> str | None:
    return None


_NO_STORIES = StoryConfig(StoryParams())
