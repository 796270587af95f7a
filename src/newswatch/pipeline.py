"""The orchestrator: the one place that chains fetch → parse → match → dedupe → notify.

Stages never import each other; this module wires them with the resources the application context injects
(store, HTTP session, matcher, notifiers, an executor for CPU work).  A feed's failure is reported in one line
and never stops the cycle; only a store failure does, because without it nothing can be decided safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp

from newswatch.config import Config, FeedConfig
from newswatch.fetch import FetchResult, Validators, fetch
from newswatch.match import Matcher
from newswatch.models import Alert, Item
from newswatch.normalise import text_fingerprint
from newswatch.notify.base import Notifier, NotifyError
from newswatch.parse import FeedParseError, ParsedFeed, parse_feed
from newswatch.store.base import Seen, Store

log = logging.getLogger("newswatch")

FeedStatus = Literal["ok", "not_modified", "unchanged", "error"]


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
    """A fetched and parsed feed whose new state is saved once its items are processed."""

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
    alerts: list[Alert] = field(default_factory=list)
    delivered: int = 0
    failed: int = 0
    elapsed: float = 0.0

    def summary(self) -> str:
        failed_feeds = sum(r.status == "error" for r in self.feeds)
        items = sum(r.items for r in self.feeds)
        new = sum(r.new for r in self.feeds)
        parts = [
            f"{len(self.feeds)} feeds ({failed_feeds} failed)",
            f"{items} items ({new} new or changed)",
            f"{len(self.alerts)} alerts",
        ]
        if self.failed:
            parts.append(f"{self.failed} deliveries failed")
        return "cycle done: " + ", ".join(parts) + f" in {self.elapsed:.1f}s"


def utcnow() -> datetime:
    return datetime.now(UTC)


def story_id(watch: str, item_id: str) -> str:
    """A short, stable id for the story an item opens on a watch."""
    return "s-" + hashlib.sha256(f"{watch}\x00{item_id}".encode()).hexdigest()[:16]


class Pipeline:
    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        session: aiohttp.ClientSession,
        matcher: Matcher,
        notifiers: Sequence[Notifier],
        executor: Executor | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.config = config
        self.store = store
        self.session = session
        self.matcher = matcher
        self.notifiers = list(notifiers)
        self.executor = executor
        self.clock = clock
        self._channels = {w.name: w.channel for w in config.watches}

    # ------------------------------------------------------------------------------------------ one cycle

    async def run_once(self) -> CycleReport:
        """Poll every feed once, concurrently, then process all new items in publication order and deliver.

        Processing the cycle's items together, oldest first and fuller texts before shorter copies, makes a
        cycle's alerts independent of which server answered first.
        """
        started = time.monotonic()
        polled = await asyncio.gather(*(self.collect(feed) for feed in self.config.feeds))
        now = self.clock()
        items = [item for p in polled for item in p.items]
        items.sort(key=lambda i: (i.published or now, -len(i.text)))
        alerts, fresh = await self.process_items(items, now)
        report = CycleReport(alerts=alerts)
        for p in polled:
            p.report.new = sum(1 for i in fresh if i.feed_url == p.report.feed.url)
            p.report.alerts = sum(1 for a in alerts if a.item.feed_url == p.report.feed.url)
            report.feeds.append(p.report)
            await p.commit()
        report.alerts.sort(key=_alert_order)
        report.delivered, report.failed = await self.deliver(report.alerts)
        report.elapsed = time.monotonic() - started
        return report

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Poll each feed on its own interval until ``stop`` is set."""
        tasks = [
            asyncio.create_task(self._feed_loop(feed, stop), name=feed.url) for feed in self.config.feeds
        ]
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _feed_loop(self, feed: FeedConfig, stop: asyncio.Event) -> None:
        # Spread first polls over a few seconds so a restart does not hit every server at the same instant.
        await _sleep_or_stop(stop, random.uniform(0, min(feed.interval, 5.0)))
        while not stop.is_set():
            _, alerts = await self.poll(feed)
            await self.deliver(alerts)
            await _sleep_or_stop(stop, feed.interval * random.uniform(0.9, 1.1))

    # ------------------------------------------------------------------------------------------ one feed

    async def poll(self, feed: FeedConfig) -> tuple[FeedReport, list[Alert]]:
        """Fetch, parse and process one feed; returns its report and its alerts in delivery order."""
        polled = await self.collect(feed)
        alerts, fresh = await self.process_items(polled.items, self.clock())
        polled.report.new, polled.report.alerts = len(fresh), len(alerts)
        await polled.commit()
        alerts.sort(key=_alert_order)
        return polled.report, alerts

    async def collect(self, feed: FeedConfig) -> Polled:
        """Fetch and parse one feed.  Its new state is saved by ``Polled.commit`` only after its items were
        processed, so a crash in between re-reads the feed instead of losing its items."""
        label = feed.name or feed.url
        state = await self.store.get_feed_state(feed.url) or {}
        validators = Validators(etag=state.get("etag"), last_modified=state.get("last_modified"))
        result = await fetch(self.session, feed.url, self.config.fetch, validators)
        now = self.clock()
        if result.status == "error":
            return self._failed(feed, label, state, result.error or "unknown error", now)
        if result.status == "not_modified" or result.body is None:
            return self._polled(
                feed, FeedReport(feed, label, "not_modified"), [], state, result, now, state.get("body_hash")
            )
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

    async def process_items(self, items: Iterable[Item], now: datetime) -> tuple[list[Alert], list[Item]]:
        """Dedupe, match and claim alerts for items; returns (alerts, the items that were new or changed)."""
        oldest = now - timedelta(seconds=self.config.max_item_age) if self.config.max_item_age else None
        alerts: list[Alert] = []
        fresh: list[Item] = []
        for item in items:
            if oldest is not None and item.published is not None and item.published < oldest:
                continue
            if not item.keys:
                continue
            fingerprint = text_fingerprint(item.title, item.summary, item.content)
            obs = await self.store.observe(item.keys, fingerprint, len(item.text), self.config.seen_ttl)
            if obs.seen is Seen.SAME:
                continue
            fresh.append(item)
            for match in self.matcher.match(item):
                story = story_id(match.watch, obs.item_id)
                if await self.store.claim_alert(match.watch, obs.item_id, story, self.config.seen_ttl):
                    alerts.append(
                        Alert(
                            event="alert",
                            watch=match.watch,
                            story=story,
                            item=item,
                            match=match,
                            at=now,
                            channel=self._channels.get(match.watch),
                        )
                    )
        return alerts, fresh

    # ------------------------------------------------------------------------------------------ delivery

    async def deliver(self, alerts: Sequence[Alert]) -> tuple[int, int]:
        """Send each alert to every notifier; returns (delivered, failed) counts of alert × notifier."""
        delivered = failed = 0
        for alert in alerts:
            for notifier in self.notifiers:
                try:
                    await notifier.send(alert)
                    delivered += 1
                except NotifyError as exc:
                    failed += 1
                    log.error(
                        "delivery to %s failed for %r (%s): %s",
                        notifier.name,
                        alert.item.title,
                        alert.watch,
                        exc,
                    )
        return delivered, failed


def _feed_name(feed: FeedConfig, label: str) -> str:
    return f"{label!r} ({feed.url})" if label != feed.url else repr(feed.url)


def _alert_order(alert: Alert) -> tuple[datetime, str, str]:
    far_future = datetime.max.replace(tzinfo=UTC)
    return (alert.item.published or far_future, alert.watch, alert.item.url)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
