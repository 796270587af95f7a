"""Keeping the shared schedule in line with the configs of every live worker (issue 22, points 3 and 4).

Owns three things.  **Sync**: every feed of this worker's config is in the shared schedule, not only at start
and after a reload but after the store came back and every :data:`SYNC_S` in any case, so a schedule that
Redis lost (a restart with nothing on disk, a failover, a FLUSH, an evicted key) heals within seconds; a
repair is logged.  **Generations**: each worker announces the hash of its config (its generation) at every
sync, and a feed leaves the schedule only once every live worker runs one generation: a feed that one
generation knows and another does not (a rolling reload) is given back by the worker that does not know it,
never dropped.  (Items seen by another generation are matched again for this one's watches: the CPU stage
folds the watch set's hash into each item's fingerprint, see cpu.py.)  **Overdue**: a feed past its due time by
more than :data:`OVERDUE_S` (due, and nobody claimed it: every worker full, or none polling) is named by
``/healthz`` through :class:`ScheduleHealth`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from newswatch.config import Config
from newswatch.store.base import Store

log = logging.getLogger("newswatch")

SYNC_S = 15.0  # every worker checks the shared schedule against its config this often
WORKER_TTL_S = 3 * SYNC_S  # a worker that stopped announcing its generation counts as gone after this
GIVE_BACK_S = (
    1.0  # a claimed feed this worker does not know is due again this soon, for a worker that knows it
)
OVERDUE_S = 120.0  # a feed due this long ago that nobody claimed is reported by /healthz
OVERDUE_SHOWN = 100  # overdue feeds read at each sync (the health line counts and names the oldest)


def config_generation(config: Config) -> str:
    """A short hash of what a worker polls and matches: its feeds, watches and entities."""
    what = config.model_dump(mode="json", include={"feeds", "watches", "entities"})
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class ScheduleHealth:
    """One of ``/healthz``'s checks: feeds that are overdue, as the last sync found them."""

    overdue: list[tuple[str, float]] = field(default_factory=list)  # (url, seconds past due), oldest first

    async def check(self) -> str | None:
        if not self.overdue:
            return None
        url, late = self.overdue[0]
        more = f" and {len(self.overdue) - 1} more" if len(self.overdue) > 1 else ""
        return f"feeds overdue: {url} is {late:.0f}s past its due time{more} (limit {OVERDUE_S:g}s)"


class ScheduleKeeper:
    def __init__(
        self,
        store: Store,
        worker: str,
        health: ScheduleHealth | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.worker = worker
        self.health = health or ScheduleHealth()
        self.clock = clock
        self._known: set[str] = set()  # the feeds this worker synced last time
        self._generation = ""
        self._agreed = False  # every live worker ran this worker's generation at the last sync
        self._synced_at = float("-inf")  # monotonic

    def due(self) -> bool:
        return time.monotonic() - self._synced_at >= SYNC_S

    async def sync(self, config: Config) -> None:
        """Make the shared schedule hold every feed of ``config``; drop feeds no live worker polls any more."""
        started = time.monotonic()
        feeds = {f.url for f in config.feeds}
        generation = self._generation = config_generation(config)
        live = await self.store.announce(self.worker, generation, WORKER_TTL_S)
        self._agreed = all(g == generation for g in live.values())
        now = self.clock()
        # New feeds become due soon, spread over a few seconds so a start does not hit every server at once.
        spread = min(5.0, max(1.0, len(feeds) / 200))
        added = await self.store.schedule({u: now + random.uniform(0, spread) for u in feeds}, only_new=True)
        repaired = added - len(feeds - self._known) if self._known else 0
        if repaired > 0:
            log.warning(
                "schedule repaired: feeds were missing from the shared schedule",
                extra={"feeds": repaired, "generation": generation},
            )
        gone = sorted(self._known - feeds)
        if gone and self._agreed:
            await self.store.unschedule(gone)
        self._known = feeds
        late = await self.store.overdue(now - OVERDUE_S, OVERDUE_SHOWN)
        self.health.overdue = [(u, now - due) for u, due in late if u in feeds]
        self._synced_at = started

    async def unknown(self, urls: Sequence[str]) -> None:
        """Claimed feeds this worker's config does not have: gone for good when every live worker agrees,
        else given back for a worker of another generation."""
        if not urls:
            return
        # Asked afresh, not as of the last sync: another worker may have reloaded since.
        live = await self.store.announce(self.worker, self._generation, WORKER_TTL_S)
        self._agreed = all(g == self._generation for g in live.values())
        if self._agreed:
            await self.store.unschedule(urls)
        else:
            await self.store.schedule({u: self.clock() + GIVE_BACK_S for u in urls})
