"""The Redis store's outbox: queues of records per target, their fenced leases, and delivered threads.

A mixin of :class:`newswatch.store.redis.RedisStore` (its client, scripts and error wrapping).  A target's
queue is a sorted set of entry ids scored by their global sequence number; each entry is a hash (its record
as JSON, attempts, back-off).  Every write by a delivering worker is a script that first checks the worker's
:class:`~newswatch.store.base.Fence` (``lua/guard.lua``: the lease's grant counter still at its epoch) and
writes nothing when it no longer holds.  Parked entries go to one list, oldest first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from newswatch import constants as C
from newswatch.store.base import Fence, Fenced, OutboxEntry, outbox_lease
from newswatch.store.redis_batch import ms
from newswatch.store.redis_slack import THREAD_TTL_MS


def fence_keys(fence: Fence | None, name: str) -> tuple[list[str], list[str]]:
    """KEYS and ARGV heads of a fenced script (see guard.lua): the grant counter and lease, holder and epoch."""
    lease = fence.name if fence is not None else name
    keys = [C.FENCE_PREFIX + lease, C.LEASE_PREFIX + lease]
    return keys, ([fence.holder, str(fence.epoch)] if fence is not None else ["", ""])


class RedisOutbox:
    # What the mixin uses of RedisStore (declared for the type checker).
    _r: aioredis.Redis
    _ack: AsyncScript
    _park: AsyncScript
    _purge_parked: AsyncScript
    _lease: AsyncScript
    _release: AsyncScript
    _confirm: AsyncScript
    _retry: AsyncScript
    _move: AsyncScript

    if TYPE_CHECKING:

        async def _call(self, coro: Any) -> Any: ...

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
                OutboxEntry(id=str(i), seq=int(i), target=target, watch=data["watch"], story=data["story"],
                            event=data["event"], record=data["record"], attempts=int(row.get("attempts", 0)),
                            not_before=float(row.get("not_before", 0)), created=float(data.get("created", 0)))
            )  # fmt: skip
        return entries

    async def outbox_confirm(self, target: str, entry_id: str, fence: Fence, ttl: float) -> bool:
        head, args = fence_keys(fence, outbox_lease(target))
        answer = await self._call(
            self._confirm(keys=[*head, C.OUTBOX_QUEUE_PREFIX + target], args=[*args, ms(ttl), entry_id])
        )
        return _fenced(int(answer), fence) == 1

    async def outbox_ack(
        self,
        target: str,
        entry_ids: Sequence[str],
        thread: tuple[str, str] | None = None,
        *,
        fence: Fence | None = None,
    ) -> None:
        head, args = fence_keys(fence, outbox_lease(target))
        keys = [*head, C.OUTBOX_QUEUE_PREFIX + target, C.OUTBOX_TARGETS_KEY]
        keys += [C.OUTBOX_ENTRY_PREFIX + i for i in entry_ids]
        if thread is not None:
            keys.append(C.THREAD_PREFIX + thread[0])
        state = thread[1] if thread is not None else ""
        answer = await self._call(
            self._ack(keys=keys, args=[*args, target, state, THREAD_TTL_MS, *entry_ids])
        )
        _fenced(int(answer), fence)

    async def outbox_retry(
        self,
        target: str,
        entry_id: str,
        attempts: int,
        not_before: float,
        error: str,
        *,
        fence: Fence | None = None,
    ) -> None:
        head, args = fence_keys(fence, outbox_lease(target))
        keys = [*head, C.OUTBOX_QUEUE_PREFIX + target, C.OUTBOX_ENTRY_PREFIX + entry_id]
        answer = await self._call(self._retry(keys=keys, args=[*args, entry_id, attempts, repr(not_before)]))
        _fenced(int(answer), fence)

    async def outbox_park(
        self, target: str, entry_ids: Sequence[str], reason: str, *, fence: Fence | None = None
    ) -> None:
        head, args = fence_keys(fence, outbox_lease(target))
        keys = [*head, C.OUTBOX_QUEUE_PREFIX + target, C.OUTBOX_TARGETS_KEY, C.OUTBOX_PARKED_KEY]
        keys += [C.OUTBOX_ENTRY_PREFIX + i for i in entry_ids]
        answer = await self._call(
            self._park(keys=keys, args=[*args, target, reason, repr(time.time()), *entry_ids])
        )
        _fenced(int(answer), fence)

    async def outbox_move(
        self, target: str, entry_ids: Sequence[str], to: str, *, fence: Fence | None = None
    ) -> None:
        if entry_ids:
            head, args = fence_keys(fence, outbox_lease(target))
            keys = [*head, C.OUTBOX_QUEUE_PREFIX + target, C.OUTBOX_QUEUE_PREFIX + to, C.OUTBOX_TARGETS_KEY]
            _fenced(int(await self._call(self._move(keys=keys, args=[*args, target, to, *entry_ids]))), fence)

    async def outbox_purge_parked(self, parked_before: float | None = None) -> int:
        cutoff = "" if parked_before is None else repr(parked_before)
        return int(await self._call(self._purge_parked(keys=[C.OUTBOX_PARKED_KEY], args=[cutoff])))

    async def outbox_parked(self) -> list[tuple[OutboxEntry, str]]:
        rows = await self._call(self._r.lrange(C.OUTBOX_PARKED_KEY, 0, -1))
        out = []
        for raw in rows:
            row = json.loads(raw)
            data = json.loads(row["data"])
            entry = OutboxEntry(id=row["id"], seq=int(row["id"]), target=data.get("target", ""),
                                watch=data["watch"], story=data["story"], event=data["event"],
                                record=data["record"], created=float(data.get("created", 0)))  # fmt: skip
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

    async def lease(self, name: str, holder: str, ttl: float, epoch: int = 0) -> int:
        keys = [C.FENCE_PREFIX + name, C.LEASE_PREFIX + name]
        return int(await self._call(self._lease(keys=keys, args=[holder, str(epoch), ms(ttl)])))

    async def release(self, name: str, holder: str) -> None:
        await self._call(self._release(keys=[C.LEASE_PREFIX + name], args=[holder]))


def _fenced(answer: int, fence: Fence | None) -> int:
    """A fenced script's answer, or :class:`Fenced` when it said the grant no longer holds (-1)."""
    if answer < 0:
        what = f"lease {fence.name} epoch {fence.epoch}" if fence is not None else "the lease"
        raise Fenced(f"{what} no longer holds: it was granted anew since")
    return answer
