"""The orchestrator: the one place that chains fetch → parse → match → story → outbox → delivery.

Stages never import each other; this module wires them with the resources the application context injects
(store, HTTP session, matcher, delivery, an executor for CPU work).  A feed's failure is reported in one line
and never stops the cycle.  A feed's new state (validators, body hash) is saved only after its items were
recorded, so a crash in between re-reads the feed instead of losing its items.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp

from newswatch import constants as C
from newswatch.config import Config, FeedConfig
from newswatch.delivery import DIGEST_MARK, Delivery, DeliveryReport
from newswatch.fetch import FetchResult, Validators, fetch
from newswatch.match import Matcher
from newswatch.models import Item, Match
from newswatch.normalise import text_fingerprint
from newswatch.parse import FeedParseError, ParsedFeed, parse_feed
from newswatch.store.base import Event, Seen, Sighting, Store, StoreError, StoryConfig, WatchClaim
from newswatch.stories import DocFreq, StoryParams, assign, item_features

log = logging.getLogger("newswatch")

FeedStatus = Literal["ok", "not_modified", "unchanged", "error"]
ONCE_DELIVERY_S = 60.0  # the longest `run --once` keeps delivering (a dead worker's lease lasts 10 s)
RECENT_SIGHTINGS = 50_000  # (keys, fingerprint) pairs this process recorded: re-sightings skip the store


@dataclass
class FeedReport:
    feed: FeedConfig
    label: str
    status: FeedStatus
    error: str | None = None
    items: int = 0
    new: int = 0  # new or changed items that were matched
    alerts: int = 0


@dataclass
class Polled:
    """A fetched and parsed feed whose new state is saved once its items are recorded."""

    report: FeedReport
    items: list[Item]
    store: Store
    feed_url: str
    state: dict[str, Any]

    async def commit(self) -> None:
        await self.store.set_feed_state(self.feed_url, self.state)


@dataclass
class CycleReport:
    feeds: list[FeedReport] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    pending: int = 0
    elapsed: float = 0.0

    @property
    def alerts(self) -> int:
        return sum(e.event == "alert" for e in self.events)

    @property
    def updates(self) -> int:
        return sum(e.event == "update" for e in self.events)

    def summary(self) -> str:
        failed_feeds = sum(r.status == "error" for r in self.feeds)
        items = sum(r.items for r in self.feeds)
        new = sum(r.new for r in self.feeds)
        parts = [
            f"{len(self.feeds)} feeds ({failed_feeds} failed)",
            f"{items} items ({new} new or changed)",
            f"{self.alerts} alerts, {self.updates} updates",
            f"{self.delivery.sent} delivered",
        ]
        if self.delivery.digests:
            parts.append(f"{self.delivery.digests} digests")
        if self.delivery.parked:
            parts.append(f"{self.delivery.parked} parked")
        if self.pending:
            parts.append(f"{self.pending} waiting for retry")
        return "cycle done: " + ", ".join(parts) + f" in {self.elapsed:.1f}s"


def utcnow() -> datetime:
    return datetime.now(UTC)


def watch_targets(cfg: Config) -> dict[str, tuple[str, ...]]:
    """The outbox queues each watch's records go to, from the notify section."""
    n = cfg.notify
    out: dict[str, tuple[str, ...]] = {}
    for w in cfg.watches:
        targets: list[str] = []
        if n.jsonl:
            targets.append("jsonl")
        if n.slack and n.slack.token:
            targets.append(f"slack:{w.channel or n.slack.channel or ''}")
        if n.slack_webhook:
            targets.append("slack-webhook:")
        if n.webhook:
            targets.append("webhook:")
        if not (n.slack and n.slack.token) and not n.slack_webhook and n.jsonl != "-":
            targets.append("console")  # without Slack, alerts still reach a person
        if w.digest:
            # Files and the console do not flood; only chat targets wait for the digest.
            targets = [t if t in ("jsonl", "console") else f"{t}{DIGEST_MARK}{w.digest}" for t in targets]
        out[w.name] = tuple(targets)
    return out


def story_config(cfg: Config) -> StoryConfig:
    params = StoryParams(threshold=cfg.stories.threshold, window_s=cfg.stories.window)
    windows = {w.name: w.story_window for w in cfg.watches if w.story_window}
    return StoryConfig(params, windows)


class Pipeline:
    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        session: aiohttp.ClientSession,
        matcher: Matcher,
        delivery: Delivery,
        doc_freq: DocFreq | None = None,
        executor: Executor | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.config = config
        self.store = store
        self.session = session
        self.matcher = matcher
        self.delivery = delivery
        self.df = doc_freq or DocFreq()
        self.executor = executor
        self.clock = clock
        self._targets = watch_targets(config)
        self._stories = story_config(config)
        self._recent: OrderedDict[tuple[tuple[str, ...], str], None] = OrderedDict()

    # ------------------------------------------------------------------------------------------ one cycle

    async def run_once(self) -> CycleReport:
        """Poll every feed once, concurrently; record all new items in publication order; deliver.

        Recording the cycle's items together, oldest first and fuller texts before shorter copies, makes a
        cycle's alerts independent of which server answered first.
        """
        started = time.monotonic()
        polled = await asyncio.gather(*(self.collect(feed) for feed in self.config.feeds))
        now = self.clock()
        items = [item for p in polled for item in p.items]
        items.sort(key=lambda i: (i.published or now, -len(i.text)))
        events, fresh = await self.process_items(items, now)
        report = CycleReport(events=events)
        for p in polled:
            p.report.new = sum(1 for i in fresh if i.feed_url == p.report.feed.url)
            report.feeds.append(p.report)
            await p.commit()
        # Deliver what this cycle queued and anything an earlier run left behind, waiting out short back-offs
        # and a dead worker's lease, but never holding a cron job for longer than ONCE_DELIVERY_S.
        report.delivery = await self.delivery.drain_all(deadline=time.time() + ONCE_DELIVERY_S)
        report.pending = await self.store.outbox_pending()
        report.elapsed = time.monotonic() - started
        return report

    async def replay(
        self, items: Iterable[Item], *, progress: Callable[[int], None] | None = None
    ) -> CycleReport:
        """Record archived items in the given order, each at its own publication time, then deliver."""
        started = time.monotonic()
        report = CycleReport()
        wall = self.clock()
        for n, item in enumerate(items, 1):
            # "now" is the item's own time, so max_item_age and story windows act as they did back then.
            events, _ = await self.process_items([item], item.published or wall)
            report.events.extend(events)
            if progress is not None and n % 500 == 0:
                progress(n)
        report.delivery = await self.delivery.drain_all(deadline=time.time() + ONCE_DELIVERY_S)
        report.pending = await self.store.outbox_pending()
        report.elapsed = time.monotonic() - started
        return report

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Poll each feed on its own interval and deliver until ``stop`` is set; then flush within the grace."""
        deliver_stop = asyncio.Event()
        delivery = asyncio.create_task(self.delivery.run(deliver_stop), name="delivery")
        tasks = [
            asyncio.create_task(self._feed_loop(feed, stop), name=feed.url) for feed in self.config.feeds
        ]
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            deliver_stop.set()
            await asyncio.gather(delivery, return_exceptions=True)
            grace = self.config.notify.shutdown_grace
            with contextlib.suppress(StoreError):
                flushed = await self.delivery.drain_all(deadline=time.time() + grace)
                pending = await self.store.outbox_pending()
                log.info(
                    "shutdown: delivered %d, %d left in the outbox for the next start", flushed.sent, pending
                )

    async def _feed_loop(self, feed: FeedConfig, stop: asyncio.Event) -> None:
        # Spread first polls over a few seconds so a restart does not hit every server at the same instant.
        await _sleep_or_stop(stop, random.uniform(0, min(feed.interval, 5.0)))
        failures = 0
        while not stop.is_set():
            try:
                await self.poll(feed)
                failures = 0
                delay = feed.interval * random.uniform(0.9, 1.1)
            except StoreError as exc:
                # The store is down: keep the feed's old state (it will be re-read) and try again soon.
                failures += 1
                delay = min(feed.interval, 2.0 * 2**failures) * random.uniform(0.5, 1.0)
                log.warning(
                    "store unavailable while polling %s (%s); retrying in %.0fs", feed.url, exc, delay
                )
            await _sleep_or_stop(stop, delay)

    # ------------------------------------------------------------------------------------------ one feed

    async def poll(self, feed: FeedConfig) -> FeedReport:
        """Fetch, parse and record one feed, then wake delivery."""
        polled = await self.collect(feed)
        events, fresh = await self.process_items(polled.items, self.clock())
        polled.report.new = len(fresh)
        polled.report.alerts = sum(e.event == "alert" for e in events)
        await polled.commit()
        return polled.report

    async def collect(self, feed: FeedConfig) -> Polled:
        """Fetch and parse one feed; its new state is saved by ``Polled.commit`` once its items are recorded."""
        label = feed.name or feed.url
        state = await self.store.get_feed_state(feed.url) or {}
        validators = Validators(etag=state.get("etag"), last_modified=state.get("last_modified"))
        result = await fetch(self.session, feed.url, self.config.fetch, validators)
        now = self.clock()
        if result.status == "error":
            return self._failed(feed, label, state, result.error or "unknown error", now)
        if result.status == "not_modified" or result.body is None:
            report = FeedReport(feed, label, "not_modified")
            return self._polled(feed, report, [], state, result, now, state.get("body_hash"))
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == state.get("body_hash"):
            # Same bytes as last time (a server without validators): nothing to parse.
            return self._polled(feed, FeedReport(feed, label, "unchanged"), [], state, result, now, body_hash)
        try:
            parsed = await self._parse(result.body, feed, now)
        except FeedParseError as exc:
            return self._failed(feed, label, state, str(exc), now)
        label = feed.name or parsed.title or feed.url
        report = FeedReport(feed, label, "ok", items=len(parsed.items))
        return self._polled(feed, report, parsed.items, state, result, now, body_hash, parsed.title)

    async def _parse(self, body: bytes, feed: FeedConfig, now: datetime) -> ParsedFeed:
        loop = asyncio.get_running_loop()
        # Parsing is CPU work; run it off the event loop so polling and delivery stay responsive.
        return await loop.run_in_executor(self.executor, parse_feed, body, feed.url, feed.name, now)

    def _failed(
        self, feed: FeedConfig, label: str, state: dict[str, Any], error: str, now: datetime
    ) -> Polled:
        log.warning("feed %s failed: %s", _feed_name(feed, label), error)
        state = dict(state)
        state["last_error"] = error
        state["last_error_at"] = now.isoformat()
        state["failures"] = int(state.get("failures", 0)) + 1
        return Polled(FeedReport(feed, label, "error", error=error), [], self.store, feed.url, state)

    def _polled(
        self,
        feed: FeedConfig,
        report: FeedReport,
        items: list[Item],
        state: dict[str, Any],
        result: FetchResult,
        now: datetime,
        body_hash: str | None,
        title: str | None = None,
    ) -> Polled:
        state = dict(state)
        state.update(
            etag=result.validators.etag,
            last_modified=result.validators.last_modified,
            body_hash=body_hash,
            last_success=now.isoformat(),
            failures=0,
        )
        if title:
            state["title"] = title
        return Polled(report, items, self.store, feed.url, state)

    # ------------------------------------------------------------------------------------------ items

    async def process_items(self, items: Iterable[Item], now: datetime) -> tuple[list[Event], list[Item]]:
        """Match each item and record it with its claims; returns (events, the items new or changed)."""
        oldest = now - timedelta(seconds=self.config.max_item_age) if self.config.max_item_age else None
        events: list[Event] = []
        fresh: list[Item] = []
        for item in items:
            if oldest is not None and item.published is not None and item.published < oldest:
                continue
            if not item.keys:
                continue
            fingerprint = text_fingerprint(item.title, item.summary, item.content)
            memo = (item.keys, fingerprint)
            if memo in self._recent:
                continue  # recorded by this process already: costs nothing
            recorded = await self._record(item, fingerprint, now)
            self._remember(memo)
            if recorded.seen is not Seen.SAME:
                fresh.append(item)
                events.extend(recorded.events)
        if events:
            self.delivery.poke()
        return events, fresh

    async def _record(self, item: Item, fingerprint: str, now: datetime) -> Any:
        matches = self.matcher.match(item)
        features = None
        if matches:
            # Until enough items were seen, learned rarities are noise: weigh terms alike (names still count
            # double) rather than let the first handful of documents decide what is telling.
            df = self.df if self.df.n_docs >= C.MIN_DOC_FREQ_DOCS else None
            features = item_features(item, df, self._stories.params)
        claims = [
            WatchClaim(m.watch, self._targets.get(m.watch, ()), _record(item, m, now), features)
            for m in matches
        ]
        at = (item.published or now).timestamp()
        sighting = Sighting(item.keys, fingerprint, len(item.text), self.config.seen_ttl, at)
        recorded = await self.store.record(sighting, claims, assign, self._stories)
        if recorded.seen is Seen.NEW and features is not None:
            self.df.add(features.terms)
        return recorded

    def _remember(self, memo: tuple[tuple[str, ...], str]) -> None:
        self._recent[memo] = None
        if len(self._recent) > RECENT_SIGHTINGS:
            self._recent.popitem(last=False)


def _record(item: Item, match: Match, now: datetime) -> dict[str, Any]:
    """The alert record of the JSONL contract; "event" and "story" are decided by the store."""
    record: dict[str, Any] = {
        "event": None,
        "watch": match.watch,
        "story": None,
        "title": item.title,
        "url": item.url,
        "source": item.source,
        "published": item.published.isoformat() if item.published else None,
        "matched": list(match.terms),
        "at": now.isoformat(),
    }
    if match.snippet:
        record["snippet"] = match.snippet
        record["_snippet_hits"] = [list(h) for h in match.snippet_hits]
    return record


def _feed_name(feed: FeedConfig, label: str) -> str:
    return f"{label!r} ({feed.url})" if label != feed.url else repr(feed.url)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


__all__ = ["CycleReport", "FeedReport", "Pipeline", "Sequence", "story_config", "watch_targets"]
