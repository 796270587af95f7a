"""The Redis store's side of Slack actions: mutes and snoozes, a story's message state, held records.

A mixin of :class:`newswatch.store.redis.RedisStore` (its client and error wrapping).  The mutes of one
channel target are one hash, ``nw:mutes:{target}`` (hash-tagged like a watch's state), mute id -> JSON with
its own expiry: a lapsed mute is never returned and is deleted when read, and the key itself expires with its
longest-lived mute, so nothing outlives its use.  ``nw:mutes:targets`` lists the targets with mutes.  A
handled Slack request is remembered under ``nw:once:…`` until it could no longer be replayed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from newswatch import constants as C
from newswatch.store.base import Mute
from newswatch.store.redis_batch import ms

THREAD_TTL_MS = 30 * 24 * 3600 * 1000


def mutes_key(target: str) -> str:
    """The hash of one target's mutes, hash-tagged by the target (hashed when it holds a brace)."""
    tag = (
        target
        if "{" not in target and "}" not in target
        else hashlib.sha256(target.encode()).hexdigest()[:16]
    )
    return f"{C.MUTES_PREFIX}{{{tag}}}"


class RedisSlack:
    # What the mixin uses of RedisStore (declared for the type checker).
    _r: Any  # redis.asyncio.Redis or RedisCluster

    if TYPE_CHECKING:

        async def _call(self, coro: Any) -> Any: ...

    async def remember_once(self, name: str, ttl: float) -> bool:
        # One key: its own slot on a cluster.
        return bool(await self._call(self._r.set(C.ONCE_PREFIX + name, "1", nx=True, px=max(1, ms(ttl)))))

    async def add_mute(self, mute: Mute) -> None:
        key, at = mutes_key(mute.target), ms(mute.expires)
        pipe = self._r.pipeline(transaction=False)  # one key but the target list: a cluster spans two slots
        pipe.hset(key, mute.id, json.dumps(asdict(mute)))
        # A new hash has no expiry (NX sets it); an existing one keeps the later of the two (GT).
        pipe.pexpireat(key, at, nx=True)
        pipe.pexpireat(key, at, gt=True)
        pipe.sadd(C.MUTES_TARGETS_KEY, mute.target)
        await self._call(pipe.execute())

    async def mutes(self, target: str | None = None, ids: Sequence[str] | None = None) -> list[Mute]:
        targets = (
            [target]
            if target is not None
            else sorted(await self._call(self._r.smembers(C.MUTES_TARGETS_KEY)))
        )
        if not targets or ids == []:
            return []
        pipe = self._r.pipeline(transaction=False)
        for t in targets:
            if ids is None:
                pipe.hgetall(mutes_key(t))
            else:
                pipe.hmget(mutes_key(t), list(ids))
        rows = await self._call(pipe.execute())
        if ids is not None:  # HMGET answers in the order asked, None for an id not there
            rows = [{i: raw for i, raw in zip(ids, row, strict=True) if raw is not None} for row in rows]
        now = time.time()
        live: list[tuple[str, str, Mute]] = []
        lapsed: list[tuple[str, str, Mute]] = []
        empty: list[str] = []
        for t, row in zip(targets, rows, strict=True):
            if not row:
                empty.append(t)
            for mute_id, raw in row.items():
                mute = Mute(**json.loads(raw))
                (live if mute.expires > now else lapsed).append((t, mute_id, mute))
        if lapsed or (empty and target is None):
            pipe = self._r.pipeline(transaction=False)
            for t, mute_id, _ in lapsed:
                pipe.hdel(mutes_key(t), mute_id)
            if target is None and empty and ids is None:
                pipe.srem(C.MUTES_TARGETS_KEY, *empty)  # every mute of theirs lapsed: the key expired
            await self._call(pipe.execute())
        return sorted((m for _, _, m in live), key=lambda m: (m.created, m.id))

    async def clear_mutes(self, ids: Sequence[str] | None = None) -> int:
        live = await self.mutes()
        chosen = [m for m in live if ids is None or m.id in set(ids)]
        targets = sorted(await self._call(self._r.smembers(C.MUTES_TARGETS_KEY)))
        if targets:
            pipe = self._r.pipeline(transaction=False)
            for t in targets:
                if ids is None:
                    pipe.delete(mutes_key(t))
                elif ids:
                    pipe.hdel(mutes_key(t), *ids)
            if ids is None:
                pipe.delete(C.MUTES_TARGETS_KEY)
            await self._call(pipe.execute())
        return len(chosen)
