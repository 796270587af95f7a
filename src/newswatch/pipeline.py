"""The orchestrator: the one place that chains fetch → CPU stage → record → outbox → delivery.

Stages never import each other; this module wires them with the resources the application context injects
(store, HTTP session, the CPU stage's process pool, delivery).  Parsing, matching and story sketches run in the
pool (:mod:`newswatch.cpu`); the event loop only waits.  A feed's items cross into the store as one batch (one
:meth:`~newswatch.store.base.Store.record` call).  Any failure of one feed — a fetch error, an unusable body,
an unexpected exception while parsing or recording it — is that feed's failure: one ``feed failed`` line with
its cause, its health and back-off, never the cycle's.  A feed's new state (validators, body hash) is saved only
after its items were recorded, so a crash in between re-reads the feed instead of losing its items.  A
``full_text`` feed's new teasers get their article pages between parsing and matching (:mod:`newswatch.fulltext`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import aiohttp

from newswatch import constants as C
from newswatch.archiving import ArchiveWriter
from newswatch.config import Config, FeedConfig
from newswatch.cpu import CpuStage, FeedOutcome, Outcome, watch_generation
from newswatch.delivery.outbox import Delivery
from newswatch.delivery.report import DeliveryReport
from newswatch.feeds.alternate import alternate_feed, looks_like_html
from newswatch.feeds.fetch import Validators, fetch
from newswatch.feeds.policy import PollStatus
from newswatch.feeds.pushed import PushedFeeds
from newswatch.fulltext import FullText
from newswatch.models import Item
from newswatch.recorder import Explain, Recorder
from newswatch.reports import CycleReport, FeedReport, Polled
from newswatch.service.metrics import Metrics, classify_error
from newswatch.store.base import Event, Store, StoreError
from newswatch.stories import DocFreq

log = logging.getLogger("newswatch")


class Pipeline:
    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        session: aiohttp.ClientSession,
        cpu: CpuStage,
        delivery: Delivery,
        doc_freq: DocFreq | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: Metrics | None = None,
    ):
        self.config = config
        self.store = store
        self.session = session
        self.cpu = cpu
        self.delivery = delivery
        self.clock = clock
        self.metrics = metrics
        self.push: PushedFeeds | None = None  # set by the service when WebSub push is configured
        self.recorder = Recorder(config, store, doc_freq or DocFreq(), clock=clock, poke=delivery.poke,
                                 metrics=metrics)  # fmt: skip
        self.full_text = FullText(session, store, cpu, metrics)  # feeds with full_text: true
        if config.archive:  # every new item, for replay and backfill (a change needs a restart)
            self.recorder.archive = ArchiveWriter(config.archive, config.archive_days, clock)
        self.generation = watch_generation(config.entities, config.watches)

    def reload(self, config: Config) -> None:
        """Take a new config's feeds, watches, entities and routing; store and notifiers stay as they are."""
        self.config = config
        self.cpu.reload(config.entities, config.watches)
        self.generation = watch_generation(config.entities, config.watches)
        self.recorder.reload(config)
        if self.push is not None:  # a removed feed's pushes stop alerting, its subscription is not renewed
            self.push.retain(config.feeds)

    # ------------------------------------------------------------------------------------------ a cycle

    async def run_once(self) -> CycleReport:
        """Poll every feed once, concurrently; record all new items in publication order; deliver.

        Recording the cycle's items together, oldest first and fuller texts before shorter copies, makes a
        cycle's alerts independent of which server answered first.  Delivery runs meanwhile.
        """
        started = time.monotonic()
        recorded, delivered = asyncio.Event(), DeliveryReport()
        background = asyncio.create_task(
            self._deliver_until(recorded, delivered), name="delivery (run --once)"
        )
        try:
            report = await self._cycle()
        finally:
            recorded.set()
            await asyncio.gather(background, return_exceptions=True)
        return await self._finish(report, started, delivered)

    async def _finish(self, report: CycleReport, started: float, delivered: DeliveryReport) -> CycleReport:
        # What is left, and what an earlier run left behind: waiting out short back-offs and a dead worker's
        # lease, but never holding a cron job for longer than C.ONCE_DELIVERY_S.
        delivered.add(await self.delivery.drain_all(deadline=self.delivery.clock() + C.ONCE_DELIVERY_S))
        report.delivery, report.pending = delivered, await self.store.outbox_pending()
        report.elapsed = time.monotonic() - started
        return report

    async def _deliver_until(self, stop: asyncio.Event, total: DeliveryReport) -> None:
        while not stop.is_set():
            with contextlib.suppress(StoreError):  # the cycle meets a store outage itself and says so
                # Bounded like the drain after the cycle: a long pacing or back-off wait never holds the run.
                total.add(await self.delivery.drain(self.delivery.clock() + C.ONCE_DELIVERY_S))
            await self.delivery.wait_for_work(stop, at_most=1.0)

    async def _cycle(self) -> CycleReport:
        outcomes = await asyncio.gather(
            *(self._collect(f) for f in self.config.feeds), return_exceptions=True
        )
        # A feed's own trouble is a Polled with an error; anything raised here (the store is gone) ends the cycle,
        # but only once every poll has finished, so nothing is left running against closed resources.
        failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failure is not None:
            raise failure
        polled = [o for o in outcomes if isinstance(o, Polled)]
        now = self.clock()
        items = sorted(
            ((p, o) for p in polled for o in p.items), key=lambda po: (po[1].published or now, -po[1].length)
        )
        report = CycleReport()
        fresh: Counter[str] = Counter()
        for start in range(0, len(items), C.CYCLE_BATCH):
            chunk = items[start : start + C.CYCLE_BATCH]
            try:
                results = [await self.recorder.record([o for _, o in chunk], now)]
            except StoreError:
                raise
            except Exception:
                # One feed's bad item must not cost the others their alerts: record feed by feed, and fail only
                # the feed whose items cannot be recorded.
                feeds = {id(p): p for p, _ in chunk}.values()
                results = [await self._record_or_fail(p, [o for q, o in chunk if q is p], now) for p in feeds]
            for events, new in results:
                report.events += events
                fresh.update(o.feed_url for o in new)
        for p in polled:
            p.report.new = fresh[p.report.feed.url]
            report.feeds.append(p.report)
        await self.commit(*polled)
        await self.recorder.flush_doc_freq(force=True)
        return report

    async def replay(
        self,
        items: Iterable[Item],
        *,
        progress: Callable[[int], None] | None = None,
        explain: Explain | None = None,
        again: str | None = None,
    ) -> CycleReport:
        """Record archived items in the given order, each at its own publication time, then deliver.

        ``explain`` is called with each recorded event and its story decision (``replay --explain``).
        ``again`` (backfill): items the store has seen are matched again, by the watch of that name or by every
        watch ("*"); a watch that reported an item before does not report it again."""
        started, report, done, stream = time.monotonic(), CycleReport(), 0, iter(items)
        while chunk := list(itertools.islice(stream, C.REPLAY_BATCH)):
            outcomes = await self.cpu.items(chunk)
            if again is not None:
                outcomes = [_again(o, again) for o in outcomes]
            # "now" is each item's own time, so max_item_age and story windows act as they did back then.
            events, _ = await self.recorder.record(outcomes, None, explain=explain)
            report.events += events
            done += len(chunk)
            if progress is not None:
                progress(done)
        await self.recorder.flush_doc_freq(force=True)
        return await self._finish(report, started, DeliveryReport())

    # ------------------------------------------------------------------------------------------ a feed

    async def poll(self, feed: FeedConfig) -> FeedReport:
        """Fetch, parse and record one feed, then save its state."""
        polled = await self._collect(feed)
        events, fresh = await self._record_or_fail(polled, polled.items, self.clock())
        polled.report.new, polled.report.alerts = len(fresh), sum(e.event == "alert" for e in events)
        await self.commit(polled)
        await self.recorder.flush_doc_freq()
        return polled.report

    async def _record_or_fail(
        self, polled: Polled, items: list[Outcome], now: datetime
    ) -> tuple[list[Event], list[Outcome]]:
        """Record a feed's items; an unexpected error is the feed's failure (its state is kept: read again)."""
        try:
            return await self.recorder.record(items, now)
        except StoreError:
            raise
        except Exception as exc:
            fresh = self._failed(polled.report.feed, polled.report.label, polled.state_before, _internal(exc),
                                 None, {"retry_after": polled.retry_after, "max_age": polled.max_age}, exc)  # fmt: skip
            polled.report, polled.items, polled.updates = fresh.report, [], {}
            return [], []

    async def on_push(self, topic: str, body: bytes, content_type: str | None) -> None:
        """A hub posted new content for a topic: parse and record it now, as if it had been polled."""
        feed = self.push.feed(topic) if self.push is not None else None
        if feed is None:
            log.warning("push for an unknown topic ignored", extra={"topic": topic})
            return
        now = self.clock()
        parsed = await self._parse(feed, body, content_type, now)
        if parsed.error is not None:
            log.warning("push unreadable", extra={"url": feed.url, "error": parsed.error})
            return
        events, fresh = await self.recorder.record(parsed.items, now)
        log.info("push recorded", extra={"url": feed.url, "items": len(parsed.items), "new": len(fresh),
                                          "events": len(events)})  # fmt: skip

    async def _collect(self, feed: FeedConfig) -> Polled:
        try:
            return await self.collect(feed)
        except (StoreError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug or a hostile input we did not foresee: this feed's failure only
            state: dict[str, Any] = {}
            with contextlib.suppress(Exception):  # its back-off needs the state, if it can be read
                state = await self.store.get_feed_state(feed.url) or {}
            return self._failed(feed, feed.name or feed.url, state, _internal(exc), None, {}, exc)

    async def collect(self, feed: FeedConfig) -> Polled:
        """Fetch and parse one feed; its new state is saved by :meth:`commit` once its items are recorded."""
        label = feed.name or feed.url
        state = await self.store.get_feed_state(feed.url) or {}
        # Validators and the body hash say a worker has read this body; one that ran other watches did not read
        # it for ours (a reload not yet made on every worker), so it is fetched and matched whole again.
        ours = state.get("generation") == self.generation
        validators = (
            Validators(etag=state.get("etag"), last_modified=state.get("last_modified"))
            if ours
            else Validators()
        )
        # A feed that moved for good (301/308) is fetched at its new address; the config URL stays its name.
        address = state.get("moved_to") or feed.url
        result = await fetch(self.session, address, self.config.fetch, validators)
        if result.status == "ok" and result.body is not None and looks_like_html(result.body):
            # A page given as the feed: follow the feed it advertises, and poll that from now on.
            found = alternate_feed(result.body, address)
            if found is not None:
                log.info("feed found on the page", extra={"feed": label, "url": feed.url, "to": found})
                result = await fetch(self.session, found, self.config.fetch, Validators())
                result = dataclasses.replace(result, permanent_redirect=result.permanent_redirect or found)
        hints = {"retry_after": result.retry_after, "max_age": result.max_age}
        if result.status == "error":
            return self._failed(feed, label, state, result.error or "unknown error", result.elapsed, hints)
        updates: dict[str, Any] = {
            "etag": result.validators.etag,
            "last_modified": result.validators.last_modified,
        }
        if result.permanent_redirect:
            # Saved with the rest of the state, so only once the new address served a usable feed.
            updates["moved_to"] = result.permanent_redirect
            log.info("feed moved", extra={"feed": label, "url": feed.url, "to": result.permanent_redirect})
        if result.status == "not_modified" or result.body is None:
            self._observe_poll("not_modified", result.elapsed)
            log.debug("feed unchanged (304): nothing to parse", extra={"feed": label, "url": feed.url})
            return Polled(FeedReport(feed, label, "not_modified"), [], state, updates, **hints)
        updates["body_hash"] = hashlib.sha256(result.body).hexdigest()
        updates["generation"] = self.generation
        if ours and updates["body_hash"] == state.get("body_hash"):
            # Same bytes as last time (a server without validators): nothing to parse.
            self._observe_poll("unchanged", result.elapsed)
            log.debug("feed unchanged (same bytes): nothing to parse", extra={"feed": label, "url": feed.url})
            return Polled(FeedReport(feed, label, "unchanged"), [], state, updates, **hints)
        parsed = await self._parse(feed, result.body, result.content_type, self.clock())
        if parsed.error is not None:
            return self._failed(feed, label, state, parsed.error, result.elapsed, hints)
        if parsed.warning:
            log.info(
                "feed recovered from an error",
                extra={"feed": label, "url": feed.url, "error": parsed.warning},
            )
        label = feed.name or parsed.title or feed.url
        if parsed.title:
            updates["title"] = parsed.title
        if self.push is not None:
            self.push.discovered(feed, result.body, address, result.links)
        self._observe_poll("ok", result.elapsed)
        if self.metrics is not None:
            self.metrics.items_parsed.inc(len(parsed.items))
        report = FeedReport(feed, label, "ok", items=len(parsed.items))
        return Polled(report, parsed.items, state, updates, ttl=parsed.ttl, **hints)

    async def _parse(
        self, feed: FeedConfig, body: bytes, content_type: str | None, now: datetime
    ) -> FeedOutcome:
        """The CPU stage on a feed body; a full-text feed's new teasers are matched on their article's text."""
        if feed.full_text:
            return await self.full_text.body(self.config, feed, body, content_type, now)
        return await self.cpu.body(body, feed.url, feed.name, now, content_type)

    async def commit(self, *polled: Polled) -> None:
        """Save polled feeds' states and next poll times (one store call for all); announce health changes."""
        await self.recorder.commit_feeds(polled, pushed=self.push.pushed if self.push is not None else None)

    def _failed(self, feed: FeedConfig, label: str, state: dict[str, Any], error: str, elapsed: float | None,
                hints: dict[str, float | None], exc: BaseException | None = None) -> Polled:  # fmt: skip
        log.warning(
            "feed failed",
            extra={"feed": label, "url": feed.url, "cause": classify_error(error), "error": error},
            exc_info=exc,  # a bug's traceback, once, with the line that names the feed
        )
        self._observe_poll("error", elapsed, error)
        return Polled(FeedReport(feed, label, "error", error=error), [], state, {}, **hints)

    def _observe_poll(self, status: PollStatus, elapsed: float | None, error: str | None = None) -> None:
        if self.metrics is not None:
            self.metrics.feed_polled(status, elapsed, error)


def _again(o: Outcome, watch: str) -> Outcome:
    # A text of its own makes a seen item "changed" for the store, so its matches are claimed; the store's
    # record of which watch reported which item keeps each alert to once (the same backfill again: seen).
    matches = o.matches if watch == "*" else tuple(m for m in o.matches if m.watch == watch)
    return dataclasses.replace(o, fingerprint=f"backfill:{watch}:{o.fingerprint}", matches=matches)


def _internal(exc: BaseException) -> str:
    """The one-line cause of an unexpected exception."""
    return " ".join(f"internal error: {type(exc).__name__}: {exc}".split())[:300]


__all__ = ["Pipeline"]
