"""The Redis store: shared state for any number of workers on any number of machines.

Owns the Redis key layout (prefixes in :mod:`newswatch.constants`) and the Lua scripts that make each decision
one atomic round trip.  Connection errors surface as :class:`StoreError` with the cause in one line.
"""

from __future__ import annotations

import json
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from newswatch import constants as C
from newswatch.store.base import Observation, Seen, StoreError

# One round trip decides whether a sighting is new, a changed text of a known item, or nothing new.
# KEYS: the identity keys (prefixed).  ARGV: fingerprint, text length, ttl in ms, item prefix, new item id.
# The item hash is derived from the id found, so it cannot be declared in KEYS; this store therefore needs
# a single Redis (or all keys in one hash slot), not a cluster.
_OBSERVE = """
local id = false
for _, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v then id = v; break end
end
local status = 'same'
if not id then id = ARGV[5]; status = 'new' end
for _, k in ipairs(KEYS) do redis.call('SET', k, id, 'PX', ARGV[3]) end
local ik = ARGV[4] .. id
local fpf = 'fp:' .. ARGV[1]
local len = tonumber(ARGV[2])
if status == 'new' then
  redis.call('DEL', ik)
  redis.call('HSET', ik, 'len', len, fpf, 1)
elseif redis.call('HEXISTS', ik, fpf) == 0 then
  local max_len = tonumber(redis.call('HGET', ik, 'len') or '0')
  redis.call('HSET', ik, fpf, 1)
  if len >= max_len then
    redis.call('HSET', ik, 'len', len)
    status = 'changed'
  end
end
redis.call('PEXPIRE', ik, ARGV[3])
return {id, status}
"""


class RedisStore:
    """Store on a Redis server given by URL (``redis://host:port/db``)."""

    def __init__(self, client: aioredis.Redis, *, url: str = "redis"):
        self._r = client
        self._url = _redact(url)
        self._observe = client.register_script(_OBSERVE)

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        client = aioredis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=5, socket_timeout=10, health_check_interval=30
        )
        return cls(client, url=url)

    async def observe(self, keys: tuple[str, ...], fingerprint: str, length: int, ttl: float) -> Observation:
        if not keys:
            raise ValueError("an item needs at least one identity key")
        full = [C.ITEM_KEY_PREFIX + k for k in keys]
        try:
            item_id, status = await self._observe(
                keys=full, args=[fingerprint, length, _ms(ttl), C.ITEM_PREFIX, keys[0]]
            )
        except RedisError as exc:
            raise self._error(exc) from None
        return Observation(str(item_id), Seen(status))

    async def claim_alert(self, watch: str, item_id: str, story: str, ttl: float) -> bool:
        try:
            ok = await self._r.set(f"{C.ALERTED_PREFIX}{watch}|{item_id}", story, nx=True, px=_ms(ttl))
        except RedisError as exc:
            raise self._error(exc) from None
        return bool(ok)

    async def get_feed_state(self, feed_url: str) -> dict[str, Any] | None:
        try:
            raw = await self._r.get(C.FEED_PREFIX + feed_url)
        except RedisError as exc:
            raise self._error(exc) from None
        return cast(dict[str, Any], json.loads(raw)) if raw else None

    async def set_feed_state(self, feed_url: str, state: dict[str, Any]) -> None:
        try:
            await self._r.set(C.FEED_PREFIX + feed_url, json.dumps(state, sort_keys=True))
        except RedisError as exc:
            raise self._error(exc) from None

    async def ping(self) -> None:
        try:
            await self._r.ping()
        except RedisError as exc:
            raise self._error(exc) from None

    async def close(self) -> None:
        await self._r.aclose()

    def _error(self, exc: RedisError) -> StoreError:
        return StoreError(f"Redis store {self._url}: {type(exc).__name__}: {exc}")


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _redact(url: str) -> str:
    """The URL without its password, for messages (secrets never reach a log)."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
