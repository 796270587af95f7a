"""The orchestrator: the one place that chains fetch → parse → match → story → outbox → delivery.

Stages never import each other; this module wires them with the resources the application context injects
(store, HTTP session, matcher, delivery, an executor for CPU work).  A feed's failure is reported in one line
and never stops the cycle.  A feed's new state (validators, body hash) is saved only after its items were
recorded, so a crash in between re-reads the feed instead of losing its items.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import random
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp

from newswatch import constants as C
from newswatch.config import Config, FeedConfig
from newswatch.delivery import DIGEST_MARK, Delivery, DeliveryReport
from newswatch.fetch import Validators, fetch
from newswatch.match import Matcher
from newswatch.metrics import Metrics, classify_error
from newswatch.models import Item, Match
from newswatch.normalise import text_fingerprint
from newswatch.parse import FeedParseError, ParsedFeed, parse_feed
from newswatch.schedule import PollOutcome, health_transition, next_poll
from newswatch.store.base import Event, Seen, Sighting, Store, StoryConfig, WatchClaim
from newswatch.stories import DocFreq, StoryParams, assign, item_features
from newswatch.supervise import Supervisor
from newswatch.websub import WebSubError, WebSubSubscriber, discover

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
    """A fetched and parsed feed; :meth:`Pipeline.commit` saves its new state once its items are recorded."""

    report: FeedReport
    items: list[Item]
    state_before: dict[str, Any]
    updates: dict[str, Any]  # validators, body hash, title, error
    retry_after: float | None = None
    max_age: float | None = None
    ttl: float | None = None


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


def ops_targets(cfg: Config) -> tuple[str, ...]:
    """Where feed down/recovered alerts go: the ops channel on Slack, else the console."""
    n = cfg.notify
    if cfg.ops.channel and n.slack and n.slack.token:
        return (f"slack:{cfg.ops.channel}",)
    return ("console",) if n.jsonl != "-" else ()


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
        metrics: Metrics | None = None,
        tasks: Supervisor | None = None,
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
        self._rng = random.Random()
        self.metrics = metrics
        self.websub: WebSubSubscriber | None = None  # set by the service when push is configured
        self._topics: dict[str, FeedConfig] = {}  # WebSub topic -> feed
        self.tasks = tasks or Supervisor()  # tracks the fire-and-forget WebSub subscriptions
        self._ops_targets = ops_targets(config)

    def reload(self, config: Config, matcher: Matcher) -> None:
        """Take a new config's feeds, watches, entities and routing; store and notifiers stay as they are."""
        self.config = config
        self.matcher = matcher
        self._targets = watch_targets(config)
        self._stories = story_config(config)
        self._ops_targets = ops_targets(config)

    # ------------------------------------------------------------------------------------------ one cycle

    async def run_once(self) -> CycleReport:
        """Poll every feed once, concurrently; record all new items in publication order; deliver.

        Recording the cycle's items together, oldest first and fuller texts before shorter copies, makes a
        cycle's alerts independent of which server answered first.
        """
        started = time.monotonic()
        outcomes = await asyncio.gather(
            *(self.collect(feed) for feed in self.config.feeds), return_exceptions=True
        )
        # A feed's own trouble is a Polled with an error; anything raised here (the store is gone) ends the cycle,
        # but only once every poll has finished, so nothing is left running against closed resources.
        failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failure is not None:
            raise failure
        polled = [o for o in outcomes if isinstance(o, Polled)]
        now = self.clock()
        items = [item for p in polled for item in p.items]
        items.sort(key=lambda i: (i.published or now, -len(i.text)))
        events, fresh = await self.process_items(items, now)
        report = CycleReport(events=events)
        fresh_per_feed = Counter(i.feed_url for i in fresh)
        for p in polled:
            p.report.new = fresh_per_feed[p.report.feed.url]
            report.feeds.append(p.report)
            await self.commit(p)
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

    # ------------------------------------------------------------------------------------------ one feed

    async def poll(self, feed: FeedConfig) -> FeedReport:
        """Fetch, parse and record one feed, then wake delivery."""
        polled = await self.collect(feed)
        events, fresh = await self.process_items(polled.items, self.clock())
        polled.report.new = len(fresh)
        polled.report.alerts = sum(e.event == "alert" for e in events)
        await self.commit(polled)
        return polled.report

    async def collect(self, feed: FeedConfig) -> Polled:
        """Fetch and parse one feed; its new state is saved by :meth:`commit` once its items are recorded."""
        label = feed.name or feed.url
        state = await self.store.get_feed_state(feed.url) or {}
        validators = Validators(etag=state.get("etag"), last_modified=state.get("last_modified"))
        # A feed that moved for good (301/308) is fetched at its new address; the config URL stays its name.
        address = state.get("moved_to") or feed.url
        result = await fetch(self.session, address, self.config.fetch, validators)
        now = self.clock()
        hints = {"retry_after": result.retry_after, "max_age": result.max_age}
        if result.status == "error":
            return self._failed(feed, label, state, result.error or "unknown error", result.elapsed, hints)
        updates: dict[str, Any] = {
            "etag": result.validators.etag,
            "last_modified": result.validators.last_modified,
        }
        if result.permanent_redirect:
            updates["moved_to"] = result.permanent_redirect
            log.info("feed %s moved permanently to %s", _feed_name(feed, label), result.permanent_redirect)
        if result.status == "not_modified" or result.body is None:
            self._observe_poll("not_modified", result.elapsed)
            return Polled(FeedReport(feed, label, "not_modified"), [], state, updates, **hints)
        body_hash = hashlib.sha256(result.body).hexdigest()
        updates["body_hash"] = body_hash
        if body_hash == state.get("body_hash"):
            # Same bytes as last time (a server without validators): nothing to parse.
            self._observe_poll("unchanged", result.elapsed)
            return Polled(FeedReport(feed, label, "unchanged"), [], state, updates, **hints)
        try:
            parsed = await self._parse(result.body, feed, now, result.content_type)
        except FeedParseError as exc:
            return self._failed(feed, label, state, str(exc), result.elapsed, hints)
        if parsed.warning:
            log.info("feed %s: %s", _feed_name(feed, label), parsed.warning)
        label = feed.name or parsed.title or feed.url
        if parsed.title:
            updates["title"] = parsed.title
        if self.websub is not None:
            self._maybe_subscribe(feed, result.body, address)
        self._observe_poll("ok", result.elapsed)
        if self.metrics is not None:
            self.metrics.items_parsed.inc(len(parsed.items))
        report = FeedReport(feed, label, "ok", items=len(parsed.items))
        return Polled(report, parsed.items, state, updates, ttl=parsed.ttl, **hints)

    async def commit(self, polled: Polled) -> None:
        """Save a polled feed's state with its next poll time, and raise an ops alert when its health changed."""
        feed = polled.report.feed
        now = self.clock().timestamp()
        outcome = PollOutcome(
            status=polled.report.status,
            new_items=polled.report.new,
            error=polled.report.error,
            retry_after=polled.retry_after,
            max_age=polled.max_age,
            feed_ttl=polled.ttl,
        )
        sched = self.config.schedule
        interval = feed.interval
        if self._pushed(feed):
            # The hub pushes new items; polling stays as a slow safety net for a hub that falls silent.
            interval = max(interval, sched.max_interval)
        when, fields = next_poll(
            polled.state_before, outcome, interval, sched.max_interval, now, self._rng,
            backoff_cap=sched.backoff_cap,
        )  # fmt: skip
        state = {**polled.state_before, **polled.updates, **fields}
        state["items_seen"] = int(state.get("items_seen") or 0) + polled.report.new
        change = health_transition(polled.state_before, state, self.config.ops.feed_down_after, now)
        if change == "down":
            state["down_alerted"] = True
        await self.store.set_feed_state(feed.url, state)
        await self.store.schedule({feed.url: when})
        if change is not None:
            await self._ops_alert(polled.report, change, state)

    # ------------------------------------------------------------------------------------------ push

    def _pushed(self, feed: FeedConfig) -> bool:
        if self.websub is None:
            return False
        return any(self.websub.active(t) for t, f in self._topics.items() if f.url == feed.url)

    def _maybe_subscribe(self, feed: FeedConfig, body: bytes, address: str) -> None:
        assert self.websub is not None
        found = discover(body, (), address)
        if not found.hubs:
            return
        topic = found.self_url or address
        sub = self.websub.subscription(topic)
        if sub is not None and sub.state in ("pending", "active"):
            return
        self._topics[topic] = feed
        self.tasks.spawn(f"websub subscribe {topic}", self._subscribe(found.hubs[0], topic, feed))

    async def _subscribe(self, hub: str, topic: str, feed: FeedConfig) -> None:
        assert self.websub is not None
        try:
            await self.websub.subscribe(self.session, hub, topic)
            log.info("feed %s: subscribed for push at %s", _feed_name(feed, feed.name or feed.url), hub)
        except WebSubError as exc:
            log.warning("feed %s: push subscription failed (%s); polling as usual", feed.url, exc)

    async def renew_subscriptions(self) -> None:
        """Subscribe again where a lease is about to run out or a hub never verified us."""
        if self.websub is None:
            return
        for sub in self.websub.renew_due():
            feed = self._topics.get(sub.topic)
            if feed is not None:
                await self._subscribe(sub.hub, sub.topic, feed)

    async def on_push(self, topic: str, body: bytes, content_type: str | None) -> None:
        """A hub posted new content for a topic: parse and record it now, as if it had been polled."""
        feed = self._topics.get(topic)
        if feed is None:
            log.warning("push for unknown topic %s ignored", topic)
            return
        now = self.clock()
        try:
            parsed = await self._parse(body, feed, now, content_type)
        except FeedParseError as exc:
            log.warning("push for feed %s unreadable: %s", feed.url, exc)
            return
        events, fresh = await self.process_items(parsed.items, now)
        log.info(
            "push for feed %s: %d items, %d new, %d alerts",
            feed.url,
            len(parsed.items),
            len(fresh),
            len(events),
        )

    async def _ops_alert(self, report: FeedReport, change: str, state: dict[str, Any]) -> None:
        feed = report.feed
        if change == "down":
            title = f"Feed {report.label} has been failing since {_iso(state.get('failing_since'))}: {state.get('last_error')}"
            log.error(
                "feed down", extra={"feed": report.label, "url": feed.url, "error": state.get("last_error")}
            )
        else:
            title = f"Feed {report.label} has recovered"
            log.warning("feed recovered", extra={"feed": report.label, "url": feed.url})
        record: dict[str, Any] = {"event": f"feed_{change}", "watch": "ops", "story": "", "title": title, "url": feed.url,
                  "source": "newswatch", "published": None, "matched": [], "at": self.clock().isoformat()}  # fmt: skip
        for target in self._ops_targets:
            await self.store.enqueue(target, record)
        self.delivery.poke()

    async def _parse(
        self, body: bytes, feed: FeedConfig, now: datetime, content_type: str | None
    ) -> ParsedFeed:
        loop = asyncio.get_running_loop()
        # Parsing is CPU work; run it off the event loop so polling and delivery stay responsive.
        call = functools.partial(parse_feed, body, feed.url, feed.name, now, content_type=content_type)
        return await loop.run_in_executor(self.executor, call)

    def _failed(
        self,
        feed: FeedConfig,
        label: str,
        state: dict[str, Any],
        error: str,
        elapsed: float | None,
        hints: dict[str, float | None],
    ) -> Polled:
        log.warning(
            "feed failed",
            extra={"feed": label, "url": feed.url, "cause": classify_error(error), "error": error},
        )
        self._observe_poll("error", elapsed, error)
        return Polled(FeedReport(feed, label, "error", error=error), [], state, {}, **hints)

    def _observe_poll(self, status: FeedStatus, elapsed: float | None, error: str | None = None) -> None:
        if self.metrics is not None:
            self.metrics.feed_polled(status, elapsed, error)

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
                for e in recorded.events:
                    if self.metrics is not None:
                        self.metrics.matched(e.watch, new_story=e.event == "alert")
                    log.debug(
                        f"{e.event} queued", extra={"watch": e.watch, "story": e.story, "url": item.url}
                    )
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


def _iso(epoch: Any) -> str:
    try:
        return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return str(epoch)


def _feed_name(feed: FeedConfig, label: str) -> str:
    return f"{label!r} ({feed.url})" if label != feed.url else repr(feed.url)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


__all__ = ["CycleReport", "FeedReport", "Pipeline", "Polled", "ops_targets", "story_config", "watch_targets"]
