"""The Redis store on a Redis Cluster (``store: redis+cluster://host:port``): one batch decision, applied in
single-slot steps.

Owns how :meth:`~newswatch.store.base.Store.record` reads and applies a batch when no script may span slots.
The decision is the same (:func:`newswatch.store.redis_batch.decide`, from the same request and an answer of
the same shape as ``read.lua``'s); only the round trips differ.  Reading: each item's identity keys and text
(one GET per key: each key has its own slot), then each claimed watch's version, claims and story candidates
in one script of its ``{watch}`` slot (``watch_read.lua``) and the candidates' records in one MGET.  Applying:

1. the items are read again; if another worker recorded one of them meanwhile, the batch is decided again;
2. each watch's placements and claims are written by one script of its slot if its version is unchanged
   (``watch_commit.lua``; else the batch is decided again, and the watches committed already see their claims
   there), with the claims' outbox entries *staged* in that slot;
3. the staged entries are queued on their channels (``enqueue.lua``, one channel's slot; an entry queued or
   delivered already is left alone) and unstaged; a worker that dies in between leaves them staged, and any
   worker queues them within :data:`SWEEP_S`;
4. the items are marked seen (their keys and text, one slot each).

A crash between steps loses nothing: before step 4 the item is simply read again, and a watch that claimed it
already is not asked again.  What one server gives and a cluster does not: two workers that record the same
item under *different* identity keys within the same few milliseconds may both alert (on one server the
commit checks every key with the claims, atomically).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisError

from newswatch import constants as C
from newswatch.store.base import Recorded, Sighted, StoreError
from newswatch.store.redis import COMMIT_ATTEMPTS, RedisStore, _lua
from newswatch.store.redis_batch import commit_request, decide, read_request
from newswatch.stories import BatchStories

SWEEP_S = 30.0  # how often a worker queues entries another worker staged and left (it died in between)


class RedisClusterStore(RedisStore):
    """:class:`RedisStore` on a Redis Cluster; see the module docstring."""

    def __init__(self, client: Any, *, url: str = "redis+cluster") -> None:
        super().__init__(client, url=url, cluster=True)
        self._watch_read = client.register_script(_lua("watch_read"))
        self._watch_commit = client.register_script(_lua("watch_commit"))
        self._item_text = client.register_script(_lua("item_text"))
        self._swept = float("-inf")

    @classmethod
    def from_url(cls, url: str) -> RedisClusterStore:
        address = "redis://" + url.split("://", 1)[1]
        client = RedisCluster.from_url(
            address, decode_responses=True, socket_connect_timeout=5, socket_timeout=10, max_connections=32
        )
        return cls(client, url=url)

    async def _record(self, batch: Sequence[Sighted], stories: BatchStories) -> list[Recorded]:
        for attempt in range(COMMIT_ATTEMPTS):
            fresh = stories.fresh()  # no decision survives a conflict
            request = read_request(batch, fresh)
            raw = await self._read_batch(request)
            facts, versions, plan = await asyncio.to_thread(
                decide, batch, fresh, json.dumps(raw), time.time()
            )
            if self.before_commit is not None:
                await self.before_commit()
            commit = commit_request(plan, batch, facts, versions)
            if await self._items_moved(commit["expect"]["items"]):
                await _pause(attempt)
                continue
            ids = await self._entry_ids(commit["claims"])
            if not await self._commit_watches(commit, ids):
                await _pause(attempt)
                continue
            await self._write_items(commit["items"])
            await self._write_timeline(plan.claims, time.time())  # status pages (timeline.py)
            return plan.recorded(ids)
        raise StoreError(f"Redis store {self._url}: the batch kept conflicting with other workers' writes")

    # ------------------------------------------------------------------------------------------ reading

    async def _read_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        """What ``read.lua`` answers on one server, read slot by slot."""
        items = request["items"]
        pipe = self._r.pipeline(transaction=False)
        for it in items:
            for k in it["keys"]:
                pipe.get(k)
        flat = iter(await self._call(pipe.execute()))
        out: list[dict[str, Any]] = []
        for it in items:
            ids = [next(flat) or False for _ in it["keys"]]
            out.append({"ids": ids, "id": next((i for i in ids if i), None), "fp": False, "len": 0,
                        "alerted": {}, "views": {}})  # fmt: skip
        known = [(n, o["id"]) for n, o in enumerate(out) if o["id"]]
        if known:
            pipe = self._r.pipeline(transaction=False)
            for n, item_id in known:
                pipe.hget(request["item_prefix"] + item_id, "len")
                pipe.hexists(request["item_prefix"] + item_id, "fp:" + items[n]["fp"])
            answers = iter(await self._call(pipe.execute()))
            for n, _ in known:
                out[n]["len"], out[n]["fp"] = int(next(answers) or 0), bool(next(answers))
        versions = []
        for prefix in request["vers"]:
            versions.append(await self._read_watch(prefix, items, out))
        return {"items": [{k: v for k, v in o.items() if k != "id"} for o in out], "vers": versions}

    async def _read_watch(self, prefix: str, items: list[dict[str, Any]], out: list[dict[str, Any]]) -> int:
        keys = [prefix + "ver"]

        def key(name: str) -> int:
            keys.append(prefix + name)
            return len(keys)

        asked = []
        for n, it in enumerate(items):
            if out[n]["fp"]:
                continue  # a text seen before needs nothing else
            for w in it["watches"]:
                if w["prefix"] != prefix:
                    continue
                entry: dict[str, Any] = {"n": n, "name": w["name"],
                                         "alerted": key("alerted:" + out[n]["id"]) if out[n]["id"] else 0}  # fmt: skip
                if (q := w.get("q")) is not None:
                    entry["q"] = {"bands": [key("band:" + b) for b in q["bands"]],
                                  "terms": [[key("term:" + t), weight] for t, weight in q["terms"]],
                                  "since": q["since"], "per": q["per"], "limit": q["limit"]}  # fmt: skip
                asked.append(entry)
        request = {"items": [{k: v for k, v in e.items() if k != "name"} for e in asked]}
        answer = json.loads(await self._call(self._watch_read(keys=keys, args=[json.dumps(request)])))
        got = answer.get("items") or []
        wanted = sorted({sid for g in got if isinstance(g, dict) for sid in (g.get("want") or [])})
        records = dict(zip(wanted, await self._call(self._r.mget([prefix + "rec:" + s for s in wanted])), strict=True)) if wanted else {}  # fmt: skip
        for entry, g in zip(asked, got if isinstance(got, list) else [], strict=True):
            view = out[entry["n"]]
            if "story" in g:
                view["alerted"][entry["name"]] = g["story"]
            elif g.get("q"):
                recs = [records[s] for s in (g.get("want") or []) if records.get(s)]
                view["views"][entry["name"]] = {"bands": g.get("bands") or [], "recs": recs}
        return int(answer.get("ver") or 0)

    # ------------------------------------------------------------------------------------------ applying

    async def _items_moved(self, expect: list[dict[str, Any]]) -> bool:
        """Whether another worker recorded one of the batch's items since it was read (step 1)."""
        pipe = self._r.pipeline(transaction=False)
        for e in expect:
            for k in e["keys"]:
                pipe.get(k)
        flat = iter(await self._call(pipe.execute()))
        return any([next(flat) or False for _ in e["keys"]] != list(e["ids"]) for e in expect)

    async def _entry_ids(self, claims: list[dict[str, Any]]) -> list[list[str]]:
        """Outbox entry ids for every claim's entries, from the global sequence (one INCRBY)."""
        n = sum(len(c["entries"]) for c in claims)
        last = int(await self._call(self._r.incrby(C.OUTBOX_SEQ_KEY, n))) if n else 0
        ids, seq = [], last - n
        for c in claims:
            ids.append([str(seq + k + 1) for k in range(len(c["entries"]))])
            seq += len(c["entries"])
        return ids

    async def _commit_watches(self, commit: dict[str, Any], ids: list[list[str]]) -> bool:
        """Step 2 for each watch, then step 3 for what it staged; False at the first watch that changed."""
        expect = {prefix: n for prefix, n in commit["expect"]["vers"]}
        places: dict[str, list[dict[str, Any]]] = defaultdict(list)
        claims: dict[str, list[tuple[dict[str, Any], list[str]]]] = defaultdict(list)
        for p in commit["places"]:
            places[p["prefix"]].append(p)
        for c, entry_ids in zip(commit["claims"], ids, strict=True):
            claims[c["prefix"]].append((c, entry_ids))
        for prefix in dict.fromkeys(c["prefix"] for c in commit["claims"]):
            await self._call(
                self._r.sadd(self._keys.staged, prefix)
            )  # first: staged entries are always found
            keys = [prefix + "ver", prefix + "staged"]

            def key(name: str, keys: list[str] = keys, prefix: str = prefix) -> int:
                keys.append(prefix + name)
                return len(keys)

            request = {
                "expect": expect.get(prefix, 0),
                "places": [{"rec": key("rec:" + p["sid"]), "sid": p["sid"], "data": p["rec"], "ttl": p["ttl"],
                            "bands": [key("band:" + b) for b in p["bands"]],
                            "unpost": [key("term:" + t) for t in p["unpost"]],
                            "post": [key("term:" + t) for t in p["post"]],
                            "latest": p["latest"], "trim": p["trim"]} for p in places[prefix]],
                "claims": [{"alerted": key("alerted:" + c["item"]), "story": c["story"], "ttl": c["ttl"],
                            "entries": [{"id": i, "target": e["target"], "data": e["data"]}
                                        for i, e in zip(entry_ids, c["entries"], strict=True)]}
                           for c, entry_ids in claims[prefix]],
            }  # fmt: skip
            if await self._call(self._watch_commit(keys=keys, args=[json.dumps(request)])) != "ok":
                return False
            staged = [(i, e["target"], e["data"]) for c, entry_ids in claims[prefix]
                      for i, e in zip(entry_ids, c["entries"], strict=True)]  # fmt: skip
            await self._unstage(prefix, staged)
        return True

    async def _unstage(self, prefix: str, staged: Sequence[tuple[str, str, str]]) -> None:
        """Step 3: queue staged entries on their channels, then drop them from the watch's staging hash."""
        by_target: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for entry_id, target, data in staged:
            by_target[target].append((entry_id, data))
        for target, entries in by_target.items():
            await self.queue_entries(target, entries)
        if staged:
            await self._call(self._r.hdel(prefix + "staged", *(i for i, _, _ in staged)))

    async def _write_items(self, items: list[dict[str, Any]]) -> None:
        """Step 4: the items' keys and texts, one slot each (``item_text.lua`` keeps each item's texts bounded).

        Every write is idempotent, so when a node did not know the script yet (a new or restarted master) the
        script is loaded on every master and the whole step written again."""
        for attempt in range(2):
            pipe = self._r.pipeline(transaction=False)
            for it in items:
                for k in it["keys"]:
                    pipe.set(k, it["id"], px=it["ttl"])
                args = [it["fp"], it["len"], it["ttl"], int(it["new"]), C.ITEM_TEXTS_KEPT]
                await self._item_text(keys=[C.ITEM_PREFIX + it["id"]], args=args, client=pipe)
            try:
                await pipe.execute()
                return
            except NoScriptError:
                if attempt:
                    raise StoreError(f"Redis store {self._url}: item_text.lua is not loaded") from None
            except RedisError as exc:
                raise StoreError(f"Redis store {self._url}: {type(exc).__name__}: {exc}") from None
            await self._call(self._r.script_load(self._item_text.script))

    async def outbox_targets(self) -> list[str]:
        if time.monotonic() - self._swept >= SWEEP_S:
            self._swept = time.monotonic()
            await self._sweep_staged()
        return await super().outbox_targets()

    async def _sweep_staged(self) -> None:
        """Queue what a worker staged and did not queue (it died between steps 2 and 3)."""
        for prefix in sorted(await self._call(self._r.smembers(self._keys.staged))):
            rows = await self._call(self._r.hgetall(prefix + "staged"))
            staged = [(i, json.loads(v)["target"], json.loads(v)["data"]) for i, v in rows.items()]
            await self._unstage(prefix, staged)


async def _pause(attempt: int) -> None:
    # Another worker changed an item or a watch of this batch since it was read: decide again, soon.
    await asyncio.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
