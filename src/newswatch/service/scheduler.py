"""The service loop: which feed to poll when, shared by any number of workers through the store.

Owns `newswatch run` without `--once`.  Every feed's next poll time lives in the store (a sorted set on Redis,
a table on SQLite), in epoch seconds of the steady clock (shared/clock.py: a step back of the system clock
does not stall polling).  Each worker claims due feeds in one atomic step that also moves their due time past a
short hold, polls them, and sets their real next poll time; so a feed is polled once per interval however many
workers run, and the feeds of a worker that dies become due again when the hold passes.

Also owns the service's shutdown.  The polling loop, delivery and WebSub renewals run as supervised tasks
(supervise.py: restarted after a crash, reported by ``/healthz``).  On stop, polling ends at once (polls in
flight are cancelled; they saved nothing), delivery goes on until ``notify.shutdown_grace`` ends (a send
still in flight then finishes, within its timeout, and is recorded), and the last log line says how many records are left for the
next start.  :meth:`Scheduler.stop_now` (a second signal) ends delivery at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from newswatch import constants as C
from newswatch.config import Config, FeedConfig
from newswatch.pipeline import Pipeline
from newswatch.service.schedule import ScheduleHealth, ScheduleKeeper
from newswatch.service.supervise import Supervisor
from newswatch.shared.clock import steady_time
from newswatch.store.base import StoreError

log = logging.getLogger("newswatch")

TICK_S = 1.0  # longest sleep between two looks at the schedule
# A claimed feed is held this long past its fetch timeout (for parsing and recording); a worker that dies
# holding it gives it back then.
FEED_HOLD_MARGIN_S = 10.0
STORE_RETRY_S = 2.0  # a poll cut short by a store error is tried again this soon (if the store answers)
RENEW_CHECK_S = 5.0  # how often WebSub subscriptions are checked for renewal


class Scheduler:
    def __init__(
        self,
        pipeline: Pipeline,
        tasks: Supervisor,
        *,
        heartbeat: Callable[[], None] | None = None,
        health: ScheduleHealth | None = None,
    ):
        self.pipeline = pipeline
        self.keeper = ScheduleKeeper(pipeline.store, pipeline.delivery.worker, health, clock=steady_time)
        self.tasks = tasks  # runs delivery, polling and WebSub renewals supervised; /healthz reports on them
        self._heartbeat = heartbeat or (lambda: None)
        self._feeds: dict[str, FeedConfig] = {}
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._store_failures = 0
        self._synced = False
        self._now = asyncio.Event()  # set by stop_now: a second signal during the grace period

    @property
    def config(self) -> Config:
        return self.pipeline.config

    async def sync_feeds(self) -> None:
        """Make the shared schedule match the config (schedule.py: new and lost feeds scheduled, removed ones
        dropped once every live worker agrees)."""
        await self.keeper.sync(self.config)
        self._feeds = {f.url: f for f in self.config.feeds}

    async def run(self, stop: asyncio.Event) -> None:
        """Poll due feeds and deliver until ``stop`` is set; then shut down as the module docstring says."""
        tasks = self.tasks
        delivery = self.pipeline.delivery
        delivery_stop = asyncio.Event()
        tasks.start("delivery", lambda: delivery.run(delivery_stop))
        tasks.start("polling", lambda: self._loop(stop))
        if self.pipeline.push is not None:
            tasks.start("websub renewals", lambda: self._renew_loop(stop))
        try:
            await stop.wait()
        finally:
            deadline = delivery.clock() + self.config.notify.shutdown_grace
            delivery.stop_at(deadline)
            await tasks.stop("polling")
            await tasks.stop("websub renewals")
            for task in self._in_flight.values():
                task.cancel()  # a poll cut short saved nothing: its feed is read again next time
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
            delivery_stop.set()
            # Delivery ends by the deadline on its own (a send in flight then finishes and is recorded, within its
            # timeout).  This bound covers a delivery that is down (waiting to restart after a crash) or stuck in
            # a store call; a second signal shortens it.
            finished = asyncio.ensure_future(tasks.wait("delivery"))
            hurry = asyncio.ensure_future(self._now.wait())
            limit = max(0.0, (delivery.cutoff.hard or deadline) - delivery.clock()) + 0.5
            await asyncio.wait({finished, hurry}, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
            if not finished.done():
                await asyncio.wait({finished}, timeout=0.5)  # the sends it just cut are ending
            hurry.cancel()
            finished.cancel()
            await tasks.stop("delivery")  # what it had not acked stays in the outbox
            await self._last_word()

    def signalled(self, stop: asyncio.Event, signal: str) -> None:
        """SIGTERM/SIGINT: the first sets ``stop`` (shutdown with the grace period); a second one
        :meth:`stop_now`."""
        if not stop.is_set():
            log.info("stopping", extra={"signal": signal, "grace_s": self.config.notify.shutdown_grace})
            stop.set()
        else:
            log.warning("stopping at once", extra={"signal": signal})
            self.stop_now()

    def stop_now(self) -> None:
        """End delivery at once (sends in flight are cut); what was not acked stays queued."""
        self.pipeline.delivery.stop_at(self.pipeline.delivery.clock(), at_once=True)
        self._now.set()

    async def _last_word(self) -> None:
        try:
            left = await asyncio.wait_for(self.pipeline.store.outbox_pending(), C.SHUTDOWN_LAST_LOOK_S)
        except (StoreError, TimeoutError) as exc:
            log.warning("stopped", extra={"left_in_outbox": "unknown", "error": str(exc) or "timeout"})
            return
        # Not a loss: what waits (digests not due yet, undelivered records) is sent at the next start.
        msg = "stopped; the records left in the outbox are sent at the next start" if left else "stopped"
        log.info(msg, extra={"left_in_outbox": left})

    async def _renew_loop(self, stop: asyncio.Event) -> None:
        """Subscribe again where a WebSub lease is about to run out or a hub never verified us."""
        while not stop.is_set():
            try:
                if self.pipeline.push is not None:
                    await self.pipeline.push.renew()
            except StoreError as exc:
                log.warning("store unavailable", extra={"while": "renewing subscriptions", "error": str(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RENEW_CHECK_S)

    async def _loop(self, stop: asyncio.Event) -> None:
        self._synced = False
        while not stop.is_set():
            self._heartbeat()
            try:
                if not self._synced or self.keeper.due():
                    await self.sync_feeds()
                    self._synced = True
                wait = await self._start_due()
                if self._store_failures:
                    log.warning("store is back")
                    self._synced = False  # it may have come back empty: heal the schedule now
                self._store_failures = 0
            except StoreError as exc:
                self._store_failures += 1
                wait = min(30.0, 0.5 * 2**self._store_failures) * random.uniform(0.5, 1.0)
                log.warning(
                    "store unavailable",
                    extra={"while": "scheduling", "error": str(exc), "retry_in": round(wait, 1)},
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)

    async def _start_due(self) -> float:
        """Claim due feeds up to this worker's free capacity and poll them; returns how long to sleep."""
        store = self.pipeline.store
        room = self.config.fetch.concurrency - len(self._in_flight)
        if room > 0:
            hold = self.config.fetch.timeout + FEED_HOLD_MARGIN_S
            unknown = []
            for url in await store.claim_due(steady_time(), room, hold):
                feed = self._feeds.get(url)
                if feed is None:
                    unknown.append(url)  # removed from the config, or added to another worker's
                elif url not in self._in_flight:
                    self._in_flight[url] = asyncio.create_task(self._poll(feed), name=url)
            await self.keeper.unknown(unknown)
        next_due = await store.next_due()
        return TICK_S if next_due is None else max(0.05, min(TICK_S, next_due - steady_time()))

    async def _poll(self, feed: FeedConfig) -> None:
        store = self.pipeline.store
        try:
            await self.pipeline.poll(feed)  # its commit sets the feed's real next poll time
        except StoreError as exc:
            log.warning("store unavailable", extra={"while": "polling", "url": feed.url, "error": str(exc)})
            # The claim moved the feed's due time past the fetch timeout; once the store answers again, the
            # feed should not wait that long for its next try.
            with contextlib.suppress(StoreError):
                await store.schedule({feed.url: steady_time() + STORE_RETRY_S})
        except Exception:  # a bug must not stop the other feeds: say it loudly, retry later, carry on
            log.exception("polling failed unexpectedly", extra={"url": feed.url, "retry_in": feed.interval})
            with contextlib.suppress(StoreError):
                await store.schedule({feed.url: steady_time() + feed.interval})
        finally:
            self._in_flight.pop(feed.url, None)

    def reload(self) -> None:
        """The pipeline took a new config: bring the shared schedule in line at the next tick."""
        self._synced = False
