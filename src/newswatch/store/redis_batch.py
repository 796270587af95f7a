"""How a batch travels to and from Redis: the JSON the read and commit scripts (``lua/``) take and return.

Owns the encoding of a batch for ``read.lua`` (every sighting's keys and story queries, with one watch's keys
under its hash tag), turning the script's answer into :class:`~newswatch.store.batch.ItemFacts` and deciding
(:func:`~newswatch.store.batch.plan_batch`), and encoding the plan for ``commit.lua`` with what it must find
unchanged.  Pure functions: :mod:`newswatch.store.redis` makes the round trips.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from newswatch import constants as C
from newswatch.store.base import Sighted
from newswatch.store.batch import BatchPlan, ItemFacts, plan_batch, queries
from newswatch.stories import BatchStories, StoryView

__all__ = ["commit_request", "decide", "entries", "ms", "read_request", "watch_prefix"]


def watch_prefix(watch: str) -> str:
    """The key prefix of one watch's state, hash-tagged so a cluster would keep it in one slot."""
    tag = watch if "{" not in watch and "}" not in watch else hashlib.sha256(watch.encode()).hexdigest()[:16]
    return f"{C.WATCH_PREFIX}{{{tag}}}:"


def read_request(batch: Sequence[Sighted], stories: BatchStories) -> dict[str, Any]:
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


def decide(
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


def commit_request(
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
         "len": w.max_len, "new": w.new, "ttl": ms(w.ttl)}
        for w in plan.items
    ]  # fmt: skip
    places = []
    claims = []
    for c in plan.claims:
        prefix = watch_prefix(c.watch)
        p = c.placement
        if p is not None:
            places.append(
                {"prefix": prefix, "sid": p.story_id, "rec": p.record.to_json(), "ttl": ms(p.expires - now),
                 "bands": list(p.bands), "unpost": list(p.unpost), "post": list(p.post),
                 "latest": repr(p.record.latest), "trim": repr(p.trim)}
            )  # fmt: skip
        data = {"watch": c.watch, "story": c.story_id, "event": c.event, "record": c.record, "created": now}
        entries = [{"target": t, "data": json.dumps({**data, "target": t})} for t in c.targets]
        claims.append(
            {"prefix": prefix, "item": c.item_id, "story": c.story_id, "ttl": ms(c.ttl), "entries": entries}
        )
    return {
        "item_prefix": C.ITEM_PREFIX,
        "seq_key": C.OUTBOX_SEQ_KEY,
        "entry_prefix": C.OUTBOX_ENTRY_PREFIX,
        "queue_prefix": C.OUTBOX_QUEUE_PREFIX,
        "targets_key": C.OUTBOX_TARGETS_KEY,
        "kept": C.ITEM_TEXTS_KEPT,
        "expect": {
            "items": expect,
            "vers": [[watch_prefix(w), n] for w, n in versions.items() if w in plan.watches],
        },
        "items": items,
        "places": places,
        "claims": claims,
    }


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _list(value: Any) -> list[Any]:
    # cjson encodes an empty Lua table as {} (an object), never as [].
    return value if isinstance(value, list) else []


def entries(out: Mapping[str, Any]) -> list[list[str]]:
    """The outbox entry ids the commit script queued, per claim."""
    return [[str(i) for i in _list(ids)] for ids in _list(out.get("entries"))]
