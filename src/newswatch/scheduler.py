"""The service loop: which feed to poll when, shared by any number of workers through the store.

Owns `newswatch run` without `--once`.  Every feed's next poll time lives in the store (a sorted set on Redis,
a table on SQLite).  Each worker claims due feeds in one atomic step that also moves their due time past a
short hold, polls them, and sets their real next poll time; so a feed is polled once per interval however many
workers run, and the feeds of a worker that dies become due again when the hold passes.  Delivery runs beside it; on stop,
polling ends and the outbox is flushed within the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable

from newswatch.config import Config, FeedConfig
from newswatch.pipeline import Pipeline
from newswatch.store.base import StoreError

log = logging.getLogger("newswatch")

TICK_S = 1.0  # longest sleep between two looks at the schedule
# A claimed feed is held this long past its fetch timeout (for parsing and recording); a worker that dies
# holding it gives it back then.
FEED_HOLD_MARGIN_S = 10.0


class Scheduler:
    def __init__(
        self,
        pipeline: Pipeline,
        *,
        heartbeat: Callable[[], None] | None = None,
    ):
        self.pipeline = pipeline
        self._heartbeat = heartbeat or (lambda: None)
        self._feeds: dict[str, FeedConfig] = {}
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._store_failures = 0
        self._synced = False

    @property
    def config(self) -> Config:
        return self.pipeline.config

    async def sync_feeds(self) -> None:
        """Make the shared schedule match the config: new feeds become due soon (spread over a few seconds so
        a start does not hit every server at once), removed ones leave it."""
        feeds = {f.url: f for f in self.config.feeds}
        now = time.time()
        spread = min(5.0, max(1.0, len(feeds) / 200))
        await self.pipeline.store.schedule(
            {url: now + random.uniform(0, spread) for url in feeds}, only_new=True
        )
        gone = [url for url in self._feeds if url not in feeds]
        if gone:
            await self.pipeline.store.unschedule(gone)
        self._feeds = feeds

    async def run(self, stop: asyncio.Event) -> None:
        """Poll due feeds and deliver until ``stop`` is set; then flush the outbox within the grace period."""
        delivery_stop = asyncio.Event()
        delivery = asyncio.create_task(self.pipeline.delivery.run(delivery_stop), name="delivery")
        try:
            await self._loop(stop)
        finally:
            for task in self._in_flight.values():
                task.cancel()  # a poll cut short saved nothing: its feed is read again next time
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
            delivery_stop.set()
            await asyncio.gather(delivery, return_exceptions=True)
            grace = self.config.notify.shutdown_grace
            with contextlib.suppress(StoreError):
                flushed = await self.pipeline.delivery.drain_all(deadline=time.time() + grace)
                pending = await self.pipeline.store.outbox_pending()
                log.info(
                    "shutdown: delivered %d, %d left in the outbox for the next start", flushed.sent, pending
                )

    async def _loop(self, stop: asyncio.Event) -> None:
        self._synced = False
        while not stop.is_set():
            self._heartbeat()
            try:
                if not self._synced:
                    await self.sync_feeds()
                    self._synced = True
                wait = await self._start_due()
                await self.pipeline.renew_subscriptions()
                if self._store_failures:
                    log.warning("store is back")
                self._store_failures = 0
            except StoreError as exc:
                self._store_failures += 1
                wait = min(30.0, 0.5 * 2**self._store_failures) * random.uniform(0.5, 1.0)
                log.warning("store unavailable while scheduling (%s); retrying in %.1fs", exc, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)

    async def _start_due(self) -> float:
        """Claim due feeds up to this worker's free capacity and poll them; returns how long to sleep."""
        store = self.pipeline.store
        room = self.config.fetch.concurrency - len(self._in_flight)
        if room > 0:
            hold = self.config.fetch.timeout + FEED_HOLD_MARGIN_S
            for url in await store.claim_due(time.time(), room, hold):
                feed = self._feeds.get(url)
                if feed is None:
                    await store.unschedule([url])  # a feed no longer in the config
                elif url not in self._in_flight:
                    self._in_flight[url] = asyncio.create_task(self._poll(feed), name=url)
        next_due = await store.next_due()
        return TICK_S if next_due is None else max(0.05, min(TICK_S, next_due - time.time()))

    async def _poll(self, feed: FeedConfig) -> None:
        store = self.pipeline.store
        try:
            await self.pipeline.poll(feed)  # its commit sets the feed's real next poll time
        except StoreError as exc:
            log.warning("store unavailable while polling %s (%s); it will be polled again", feed.url, exc)
        except Exception:  # a bug must not stop the other feeds: say it loudly, retry later, carry on
            log.exception("polling %s failed unexpectedly; retrying in %.0fs", feed.url, feed.interval)
            with contextlib.suppress(StoreError):
                await store.schedule({feed.url: time.time() + feed.interval})
        finally:
            self._in_flight.pop(feed.url, None)

    def reload(self) -> None:
        """The pipeline took a new config: bring the shared schedule in line at the next tick."""
        self._synced = False
