"""The Redis store's outbox: queues of records per target, their fenced leases, and delivered threads.

A mixin of :class:`newswatch.store.redis.RedisStore` (its client, key layout, scripts and error wrapping).  A
target's queue is a sorted set of entry ids scored by their global sequence number; each entry is a hash (its
record as JSON, attempts, back-off).  Every write by a delivering worker is a script that first checks the
worker's :class:`~newswatch.store.base.Fence` (``lua/guard.lua``: the lease's grant counter still at its epoch)
and writes nothing when it no longer holds.  Every script touches one channel's keys only (redis_keys.py), so
it runs on a Redis Cluster as on one server; the set of targets only grows (a target whose queue is empty is
left out when read), so no script needs it.  Parked entries go to a list, oldest first (one per channel on a
cluster).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from redis.commands.core import AsyncScript

from newswatch import constants as C
from newswatch.store.base import Fence, Fenced, OutboxEntry, outbox_lease
from newswatch.store.redis_batch import ms
from newswatch.store.redis_keys import Layout, channel_of
from newswatch.store.redis_slack import THREAD_TTL_MS

DELIVERED_MEMORY_MS = 24 * 3600 * 1000  # a Redis Cluster never queues again an entry delivered this recently
UNPARK_CHUNK = 200  # parked records put back by one script call


class RedisOutbox:
    # What the mixin uses of RedisStore (declared for the type checker).
    _r: Any  # redis.asyncio.Redis or RedisCluster
    _keys: Layout
    _ack: AsyncScript
    _park: AsyncScript
    _purge_parked: AsyncScript
    _lease: AsyncScript
    _release: AsyncScript
    _confirm: AsyncScript
    _retry: AsyncScript
    _move: AsyncScript
    _enqueue: AsyncScript
    _unpark: AsyncScript

    if TYPE_CHECKING:

        async def _call(self, coro: Any) -> Any: ...

    def _fenced_head(self, fence: Fence | None, target: str) -> tuple[list[str], list[str]]:
        """KEYS and ARGV heads of a fenced script (guard.lua): the grant counter and lease, holder and epoch."""
        name = fence.name if fence is not None else outbox_lease(target)
        keys = [self._keys.fence(name), self._keys.lease(name)]
        return keys, ([fence.holder, str(fence.epoch)] if fence is not None else ["", ""])

    async def outbox_targets(self) -> list[str]:
        targets = sorted(await self._call(self._r.smembers(C.OUTBOX_TARGETS_KEY)))
        if not targets:
            return []
        pipe = self._r.pipeline(transaction=False)
        for t in targets:
            pipe.zcard(self._keys.queue(t))
        return [t for t, n in zip(targets, await self._call(pipe.execute()), strict=True) if int(n)]

    async def enqueue(self, target: str, record: Mapping[str, Any]) -> str:
        seq = str(await self._call(self._r.incr(C.OUTBOX_SEQ_KEY)))
        data = {"watch": record.get("watch", ""), "story": record.get("story", ""), "event": record.get("event", ""),
                "record": dict(record), "created": time.time(), "target": target}  # fmt: skip
        await self.queue_entries(target, [(seq, json.dumps(data))])
        return seq

    async def queue_entries(self, target: str, entries: Sequence[tuple[str, str]]) -> None:
        """Queue (id, data) entries on ``target`` (ids from the global sequence); repeating it is safe."""
        await self._call(self._r.sadd(C.OUTBOX_TARGETS_KEY, target))  # first: a queue is never unlisted
        keys = [self._keys.queue(target), self._keys.done(target)]
        keys += [self._keys.entry(target, i) for i, _ in entries]
        await self._call(self._enqueue(keys=keys, args=[*(i for i, _ in entries), *(d for _, d in entries)]))

    async def outbox_head(self, target: str, limit: int) -> list[OutboxEntry]:
        ids = await self._call(self._r.zrange(self._keys.queue(target), 0, limit - 1))
        if not ids:
            return []
        pipe = self._r.pipeline(transaction=False)
        for i in ids:
            pipe.hgetall(self._keys.entry(target, i))
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
        head, args = self._fenced_head(fence, target)
        answer = await self._call(
            self._confirm(keys=[*head, self._keys.queue(target)], args=[*args, ms(ttl), entry_id])
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
        head, args = self._fenced_head(fence, target)
        keys = [*head, self._keys.queue(target), self._keys.done(target)]
        keys += [self._keys.entry(target, i) for i in entry_ids]
        if thread is not None:
            keys.append(self._keys.thread(thread[0]))
        state = thread[1] if thread is not None else ""
        remember = DELIVERED_MEMORY_MS if self._keys.cluster else 0
        args += [state, str(THREAD_TTL_MS), str(remember), str(ms(time.time())), *entry_ids]
        _fenced(int(await self._call(self._ack(keys=keys, args=args))), fence)

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
        head, args = self._fenced_head(fence, target)
        keys = [*head, self._keys.queue(target), self._keys.entry(target, entry_id)]
        answer = await self._call(self._retry(keys=keys, args=[*args, entry_id, attempts, repr(not_before)]))
        _fenced(int(answer), fence)

    async def outbox_park(
        self, target: str, entry_ids: Sequence[str], reason: str, *, fence: Fence | None = None
    ) -> None:
        if self._keys.cluster:
            await self._call(self._r.sadd(self._keys.parked_channels, channel_of(target)))
        head, args = self._fenced_head(fence, target)
        keys = [*head, self._keys.queue(target), self._keys.parked(target)]
        keys += [self._keys.entry(target, i) for i in entry_ids]
        answer = await self._call(self._park(keys=keys, args=[*args, reason, repr(time.time()), *entry_ids]))
        _fenced(int(answer), fence)

    async def outbox_move(
        self, target: str, entry_ids: Sequence[str], to: str, *, fence: Fence | None = None
    ) -> None:
        if not entry_ids:
            return
        if channel_of(to) != channel_of(target):
            raise ValueError(f"entries move within a channel's queues only, not from {target!r} to {to!r}")
        await self._call(self._r.sadd(C.OUTBOX_TARGETS_KEY, to))
        head, args = self._fenced_head(fence, target)
        keys = [*head, self._keys.queue(target), self._keys.queue(to)]
        _fenced(int(await self._call(self._move(keys=keys, args=[*args, *entry_ids]))), fence)

    async def _parked_lists(self) -> list[str]:
        if not self._keys.cluster:
            return [C.OUTBOX_PARKED_KEY]
        channels = sorted(await self._call(self._r.smembers(self._keys.parked_channels)))
        return [self._keys.parked(c) for c in channels]

    async def outbox_purge_parked(self, parked_before: float | None = None) -> int:
        cutoff = "" if parked_before is None else repr(parked_before)
        purged = 0
        for key in await self._parked_lists():
            purged += int(await self._call(self._purge_parked(keys=[key], args=[cutoff])))
        return purged

    async def outbox_parked(self) -> list[tuple[OutboxEntry, str]]:
        out = []
        for key in await self._parked_lists():
            for raw in await self._call(self._r.lrange(key, 0, -1)):
                row = json.loads(raw)
                data = json.loads(row["data"])
                entry = OutboxEntry(id=row["id"], seq=int(row["id"]), target=data.get("target", ""),
                                    watch=data["watch"], story=data["story"], event=data["event"],
                                    record=data["record"], created=float(data.get("created", 0)))  # fmt: skip
                out.append((entry, str(row["reason"])))
        return sorted(out, key=lambda e: e[0].seq)

    async def outbox_unpark(self) -> int:
        # Each record goes back to its own queue at its old place (its sequence number), with a fresh count of
        # attempts, so a fixed channel gets them in the order they were first queued.  One script per parked
        # list (one channel's on a cluster) and chunk; a row that names no queue stays parked.
        queued = 0
        for key in await self._parked_lists():
            back = []
            for raw in await self._call(self._r.lrange(key, 0, -1)):
                row = _parked_row(raw)
                if row is not None:
                    back.append((raw, *row))
            for target in sorted({t for _, t, _ in back}):  # first: a queue is never unlisted
                await self._call(self._r.sadd(C.OUTBOX_TARGETS_KEY, target))
            for i in range(0, len(back), UNPARK_CHUNK):
                chunk = back[i : i + UNPARK_CHUNK]
                keys = [key]
                for _, target, entry_id in chunk:
                    keys += [
                        self._keys.queue(target),
                        self._keys.entry(target, entry_id),
                        self._keys.done(target),
                    ]
                args = [raw for raw, _, _ in chunk] + [entry_id for _, _, entry_id in chunk]
                queued += int(await self._call(self._unpark(keys=keys, args=args)))
        return queued

    async def outbox_pending(self) -> int:
        targets = sorted(await self._call(self._r.smembers(C.OUTBOX_TARGETS_KEY)))
        if not targets:
            return 0
        pipe = self._r.pipeline(transaction=False)
        for t in targets:
            pipe.zcard(self._keys.queue(t))
        return sum(int(n) for n in await self._call(pipe.execute()))

    async def get_thread(self, key: str) -> str | None:
        ts = await self._call(self._r.get(self._keys.thread(key)))
        return str(ts) if ts else None

    async def set_thread(self, key: str, state: str) -> None:
        await self._call(self._r.set(self._keys.thread(key), state, px=THREAD_TTL_MS))

    async def lease(self, name: str, holder: str, ttl: float, epoch: int = 0) -> int:
        keys = [self._keys.fence(name), self._keys.lease(name)]
        return int(await self._call(self._lease(keys=keys, args=[holder, str(epoch), ms(ttl)])))

    async def release(self, name: str, holder: str) -> None:
        await self._call(self._release(keys=[self._keys.lease(name)], args=[holder]))


def _parked_row(raw: str) -> tuple[str, str] | None:
    """(target, entry id) of a parked row, or None when it names no queue to go back to."""
    try:
        row = json.loads(raw)
        target = json.loads(row["data"]).get("target") or ""
        entry_id = str(int(row["id"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return (target, entry_id) if isinstance(target, str) and target else None


def _fenced(answer: int, fence: Fence | None) -> int:
    """A fenced script's answer, or :class:`Fenced` when it said the grant no longer holds (-1)."""
    if answer < 0:
        what = f"lease {fence.name} epoch {fence.epoch}" if fence is not None else "the lease"
        raise Fenced(f"{what} no longer holds: it was granted anew since")
    return answer
