"""Where the Redis store keeps what: the key of each thing, on one Redis server or on a Redis Cluster.

Owns the key layout (prefixes from :mod:`newswatch.constants`).  On one server it is the layout newswatch has
always used, so an upgrade keeps every remembered item, story and queued alert.  On a cluster, every key one
script touches must lie in one hash slot, so keys carry a hash tag (``{…}``): a watch's state is tagged by the
watch (as on one server), a channel's outbox (its queues, including its digest and held queues, entries, lease,
grant counter, delivered threads and parked records) by the channel, and each item's keys stand alone (one
script call per key).  What spans slots (the registry of targets, the global sequence, document frequencies)
is written in separate calls that can be repeated safely.
"""

from __future__ import annotations

import hashlib

from newswatch import constants as C


def tag(name: str) -> str:
    """``name`` as a hash tag; a name holding a brace is hashed (it would end the tag early)."""
    return name if "{" not in name and "}" not in name else hashlib.sha256(name.encode()).hexdigest()[:16]


def channel_of(target: str) -> str:
    """The channel a queue belongs to: ``slack:#news|digest:hourly`` and ``slack:#news`` → ``slack:#news``."""
    return target.split("|", 1)[0]


class Layout:
    def __init__(self, *, cluster: bool = False) -> None:
        self.cluster = cluster

    def _box(self, target: str) -> str:
        """Prefix of a channel's outbox keys."""
        return (
            f"{C.KEY_PREFIX}outbox:{{{tag(channel_of(target))}}}:"
            if self.cluster
            else C.KEY_PREFIX + "outbox:"
        )

    def queue(self, target: str) -> str:
        return self._box(target) + "q:" + target if self.cluster else C.OUTBOX_QUEUE_PREFIX + target

    def entry(self, target: str, entry_id: str) -> str:
        return self._box(target) + "e:" + entry_id if self.cluster else C.OUTBOX_ENTRY_PREFIX + entry_id

    def done(self, target: str) -> str:
        """Entries of a channel delivered lately (a sorted set id -> when): never queued again (cluster)."""
        return self._box(target) + "done"

    def parked(self, target: str) -> str:
        return self._box(target) + "parked" if self.cluster else C.OUTBOX_PARKED_KEY

    def lease(self, name: str) -> str:
        return self._coordination(C.LEASE_PREFIX, name)

    def fence(self, name: str) -> str:
        return self._coordination(C.FENCE_PREFIX, name)

    def _coordination(self, prefix: str, name: str) -> str:
        # A queue's lease ("outbox:<target>") lives with the queue's channel, so its scripts stay in one slot.
        if not self.cluster:
            return prefix + name
        return f"{prefix}{{{tag(channel_of(name.removeprefix('outbox:')))}}}:{name}"

    def thread(self, key: str) -> str:
        """A story's Slack parent, by thread key ``target|watch|story`` (base.thread_key)."""
        return f"{C.THREAD_PREFIX}{{{tag(channel_of(key))}}}:{key}" if self.cluster else C.THREAD_PREFIX + key

    @property
    def parked_channels(self) -> str:
        """Cluster: the set of channels that have a parked list."""
        return C.OUTBOX_PARKED_KEY + ":channels"

    @property
    def staged(self) -> str:
        """Cluster: the set of watch prefixes that may hold outbox entries not yet queued (redis_cluster.py)."""
        return C.KEY_PREFIX + "outbox:staged"

    @property
    def df(self) -> tuple[str, str]:
        """Document frequencies: the term counts and the documents counted (one script call: one slot)."""
        return (
            (f"{C.KEY_PREFIX}{{df}}:terms", f"{C.KEY_PREFIX}{{df}}:docs")
            if self.cluster
            else (C.DF_KEY, C.DF_DOCS_KEY)
        )
