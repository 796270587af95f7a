"""The orchestrator: the one place that chains fetch → CPU stage → record → outbox → delivery.

Stages never import each other; this module wires them with the resources the application context injects
(store, HTTP session, the CPU stage's process pool, delivery).  Parsing, matching and story sketches run in the
pool (:mod:`newswatch.cpu`); the event loop only waits.  A feed's items cross into the store as one batch (one
:meth:`~newswatch.store.base.Store.record` call).  Any failure of one feed — a fetch error, an unusable body,
an unexpected exception while parsing or recording it — is that feed's failure: one ``feed failed`` line with
its cause, its health and back-off, never the cycle's.  A feed's new state (validators, body hash) is saved only
after its items were recorded, so a crash in between re-reads the feed instead of losing its items.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp

from newswatch import constants as C
from newswatch.config import Config, FeedConfig
from newswatch.cpu import CpuStage, Outcome
from newswatch.delivery.outbox import DIGEST_MARK, Delivery, DeliveryReport
from newswatch.feeds.fetch import Validators, fetch
from newswatch.feeds.policy import PollOutcome, health_transition, next_poll
from newswatch.feeds.push import WebSubError, WebSubSubscriber, discover
from newswatch.models import Item, Match
from newswatch.service.metrics import Metrics, classify_error
from newswatch.service.supervise import Supervisor
from newswatch.store.base import Event, Seen, Sighted, Sighting, Store, StoreError, WatchClaim
from newswatch.stories import BatchStories, DocFreq, StoryParams, weigh

log = logging.getLogger("newswatch")

FeedStatus = Literal["ok", "not_modified", "unchanged", "error"]
ONCE_DELIVERY_S = 60.0  # the longest `run --once` keeps delivering (a dead worker's lease lasts 10 s)
RECENT_SIGHTINGS = 50_000  # (keys, fingerprint) pairs this process recorded: re-sightings skip the store
CYCLE_BATCH = 100  # items per store call when `run --once` records a whole cycle in publication order


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
    items: list[Outcome]
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


def story_params(cfg: Config) -> tuple[StoryParams, dict[str, StoryParams]]:
    """The story knobs of the config, and the watches whose window differs."""
    default = StoryParams(threshold=cfg.stories.threshold, window_s=cfg.stories.window)
    windows = {w.name: w.story_window for w in cfg.watches if w.story_window}
    return default, {
        name: StoryParams(threshold=default.threshold, window_s=s) for name, s in windows.items()
    }


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
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
        tasks: Supervisor | None = None,
    ):
        self.config = config
        self.store = store
        self.session = session
        self.cpu = cpu
        self.delivery = delivery
        self.df = doc_freq or DocFreq()
        self.clock = clock
        self.metrics = metrics
        self._targets = watch_targets(config)
        self._params, self._windows = story_params(config)
        self._recent: OrderedDict[tuple[tuple[str, ...], str], None] = OrderedDict()
        self._rng = random.Random()
        self._df_flushed = time.monotonic()
        self.websub: WebSubSubscriber | None = None  # set by the service when push is configured
        self._topics: dict[str, FeedConfig] = {}  # WebSub topic -> feed
        self.tasks = tasks or Supervisor()  # tracks the fire-and-forget WebSub subscriptions
        self._ops_targets = ops_targets(config)

    def reload(self, config: Config) -> None:
        """Take a new config's feeds, watches, entities and routing; store and notifiers stay as they are."""
        self.config = config
        self.cpu.reload(config.entities, config.watches)
        self._targets = watch_targets(config)
        self._params, self._windows = story_params(config)
        self._ops_targets = ops_targets(config)

    # ------------------------------------------------------------------------------------------ one cycle

    async def run_once(self) -> CycleReport:
        """Poll every feed once, concurrently; record all new items in publication order; deliver.

        Recording the cycle's items together, oldest first and fuller texts before shorter copies, makes a
        cycle's alerts independent of which server answered first.
        """
        started = time.monotonic()
        # Deliver while the cycle is still fetching and recording: files and chats fill as alerts are decided.
        recorded = asyncio.Event()
        delivered = DeliveryReport()
        background = asyncio.create_task(
            self._deliver_until(recorded, delivered), name="delivery (run --once)"
        )
        try:
            report = await self._cycle()
        finally:
            recorded.set()
            await asyncio.gather(background, return_exceptions=True)
        # Deliver what is left and anything an earlier run left behind, waiting out short back-offs and a dead
        # worker's lease, but never holding a cron job for longer than ONCE_DELIVERY_S.
        delivered.add(await self.delivery.drain_all(deadline=time.time() + ONCE_DELIVERY_S))
        report.delivery = delivered
        report.pending = await self.store.outbox_pending()
        report.elapsed = time.monotonic() - started
        return report

    async def _deliver_until(self, stop: asyncio.Event, total: DeliveryReport) -> None:
        while not stop.is_set():
            with contextlib.suppress(StoreError):  # the cycle meets a store outage itself and says so
                total.add(await self.delivery.drain())
            await self.delivery.wait_for_work(stop, at_most=1.0)

    async def _cycle(self) -> CycleReport:
        outcomes = await asyncio.gather(
            *(self._collect_safely(f) for f in self.config.feeds), return_exceptions=True
        )
        # A feed's own trouble is a Polled with an error; anything raised here (the store is gone) ends the cycle,
        # but only once every poll has finished, so nothing is left running against closed resources.
        failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failure is not None:
            raise failure
        polled = [o for o in outcomes if isinstance(o, Polled)]
        now = self.clock()
        items = [(p, o) for p in polled for o in p.items]
        items.sort(key=lambda po: (po[1].published or now, -po[1].length))
        report = CycleReport()
        new_by_feed: Counter[str] = Counter()
        for start in range(0, len(items), CYCLE_BATCH):
            chunk = items[start : start + CYCLE_BATCH]
            try:
                events, fresh = await self.record([o for _, o in chunk], now)
                report.events += events
                new_by_feed.update(o.feed_url for o in fresh)
            except StoreError:
                raise
            except Exception:
                # One feed's bad item must not cost the others their alerts: record feed by feed, and fail
                # only the feed whose items cannot be recorded.
                for p in dict.fromkeys(p for p, _ in chunk):
                    mine = [o for q, o in chunk if q is p]
                    try:
                        events, fresh = await self.record(mine, now)
                        report.events += events
                        new_by_feed.update(o.feed_url for o in fresh)
                    except StoreError:
                        raise
                    except Exception as exc:
                        self._fail_polled(p, exc)
        for p in polled:
            p.report.new = new_by_feed[p.report.feed.url]
            report.feeds.append(p.report)
        await self.commit(*polled)
        await self.flush_doc_freq(force=True)
        return report

    async def replay(
        self, items: Iterable[Item], *, progress: Callable[[int], None] | None = None
    ) -> CycleReport:
        """Record archived items in the given order, each at its own publication time, then deliver."""
        started = time.monotonic()
        report = CycleReport()
        chunk: list[Item] = []
        done = 0

        async def flush() -> None:
            nonlocal done
            outcomes = await self.cpu.items(chunk)
            # "now" is each item's own time, so max_item_age and story windows act as they did back then.
            events, _ = await self.record(outcomes, None)
            report.events.extend(events)
            done += len(chunk)
            chunk.clear()
            if progress is not None:
                progress(done)

        for item in items:
            chunk.append(item)
            if len(chunk) >= C.REPLAY_BATCH:
                await flush()
        if chunk:
            await flush()
        await self.flush_doc_freq(force=True)
        report.delivery = await self.delivery.drain_all(deadline=time.time() + ONCE_DELIVERY_S)
        report.pending = await self.store.outbox_pending()
        report.elapsed = time.monotonic() - started
        return report

    # ------------------------------------------------------------------------------------------ one feed

    async def poll(self, feed: FeedConfig) -> FeedReport:
        """Fetch, parse and record one feed, then wake delivery."""
        polled = await self._collect_safely(feed)
        try:
            events, fresh = await self.record(polled.items, self.clock())
            polled.report.new = len(fresh)
            polled.report.alerts = sum(e.event == "alert" for e in events)
        except StoreError:
            raise
        except Exception as exc:
            self._fail_polled(polled, exc)
        await self.commit(polled)
        await self.flush_doc_freq()
        return polled.report

    async def _collect_safely(self, feed: FeedConfig) -> Polled:
        try:
            return await self.collect(feed)
        except (StoreError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug or a hostile input we did not foresee: this feed's failure only
            state = await self.store.get_feed_state(feed.url) or {}
            return self._failed(feed, feed.name or feed.url, state, _internal(exc), None, {}, exc)

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
            # Remembered with the rest of the state, so only once the new address served a usable feed.
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
        parsed = await self.cpu.body(result.body, feed.url, feed.name, now, result.content_type)
        if parsed.error is not None:
            return self._failed(feed, label, state, parsed.error, result.elapsed, hints)
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

    async def commit(self, *polled: Polled) -> None:
        """Save polled feeds' states with their next poll times (one store call for all), and raise an ops alert
        for each feed whose health changed."""
        states: dict[str, dict[str, Any]] = {}
        due: dict[str, float] = {}
        changes = []
        now = self.clock().timestamp()
        for p in polled:
            feed = p.report.feed
            outcome = PollOutcome(status=p.report.status, new_items=p.report.new, error=p.report.error,
                                  retry_after=p.retry_after, max_age=p.max_age, feed_ttl=p.ttl)  # fmt: skip
            sched = self.config.schedule
            interval = feed.interval
            if self._pushed(feed):
                # The hub pushes new items; polling stays as a slow safety net for a hub that falls silent.
                interval = max(interval, sched.max_interval)
            when, fields = next_poll(
                p.state_before,
                outcome,
                interval,
                sched.max_interval,
                now,
                self._rng,
                backoff_cap=sched.backoff_cap,
            )
            state = {**p.state_before, **p.updates, **fields}
            state["items_seen"] = int(state.get("items_seen") or 0) + p.report.new
            change = health_transition(p.state_before, state, self.config.ops.feed_down_after, now)
            if change == "down":
                state["down_alerted"] = True
            states[feed.url], due[feed.url] = state, when
            if change is not None:
                changes.append((p.report, change, state))
        await self.store.set_feed_states(states)
        await self.store.schedule(due)
        for report, change, state in changes:
            await self._ops_alert(report, change, state)

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
        parsed = await self.cpu.body(body, feed.url, feed.name, now, content_type)
        if parsed.error is not None:
            log.warning("push for feed %s unreadable: %s", feed.url, parsed.error)
            return
        events, fresh = await self.record(parsed.items, now)
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

    def _failed(
        self,
        feed: FeedConfig,
        label: str,
        state: dict[str, Any],
        error: str,
        elapsed: float | None,
        hints: dict[str, float | None],
        exc: BaseException | None = None,
    ) -> Polled:
        log.warning(
            "feed failed",
            extra={"feed": label, "url": feed.url, "cause": classify_error(error), "error": error},
            exc_info=exc,  # a bug's traceback, once, with the line that names the feed
        )
        self._observe_poll("error", elapsed, error)
        return Polled(FeedReport(feed, label, "error", error=error), [], state, {}, **hints)

    def _fail_polled(self, polled: Polled, exc: Exception) -> None:
        """A fetched feed whose items could not be recorded: its state is kept, so it is read again."""
        fresh = self._failed(polled.report.feed, polled.report.label, polled.state_before, _internal(exc), None,
                             {"retry_after": polled.retry_after, "max_age": polled.max_age}, exc)  # fmt: skip
        polled.report, polled.items, polled.updates = fresh.report, [], {}

    def _observe_poll(self, status: FeedStatus, elapsed: float | None, error: str | None = None) -> None:
        if self.metrics is not None:
            self.metrics.feed_polled(status, elapsed, error)

    # ------------------------------------------------------------------------------------------ items

    async def record(
        self, outcomes: Sequence[Outcome], now: datetime | None
    ) -> tuple[list[Event], list[Outcome]]:
        """Record items in one store call; returns (events, the items new or changed).

        ``now`` None places each item at its own publication time (replay).
        """
        batch, kept = await asyncio.to_thread(self._batch, outcomes, now, self.clock())
        if not batch:
            return [], []
        stories = BatchStories(self._windows, self._params)
        results = await self.store.record(batch, stories)
        events: list[Event] = []
        fresh: list[Outcome] = []
        for sighted, outcome, recorded in zip(batch, kept, results, strict=True):
            self._remember((outcome.keys, outcome.fingerprint))
            if recorded.seen is Seen.SAME:
                continue
            fresh.append(outcome)
            if recorded.seen is Seen.NEW:
                features = next((c.features for c in sighted.claims if c.features is not None), None)
                if features is not None:
                    self.df.add(features.terms)
            events.extend(recorded.events)
            for e in recorded.events:
                if self.metrics is not None:
                    self.metrics.matched(e.watch, new_story=e.event == "alert")
                log.debug(f"{e.event} queued", extra={"watch": e.watch, "story": e.story, "url": outcome.url})
        if events:
            self.delivery.poke()
        return events, fresh

    def _batch(
        self, outcomes: Sequence[Outcome], now: datetime | None, wall: datetime
    ) -> tuple[list[Sighted], list[Outcome]]:
        """The store batch for outcomes (in a thread: weighing story features is CPU work)."""
        max_age = self.config.max_item_age
        df = self.df if self.df.n_docs >= C.MIN_DOC_FREQ_DOCS else None
        batch: list[Sighted] = []
        kept: list[Outcome] = []
        for o in outcomes:
            at = now or o.published or wall
            if max_age and o.published is not None and o.published < at - timedelta(seconds=max_age):
                continue
            if not o.keys or (o.keys, o.fingerprint) in self._recent:
                continue  # recorded by this process already: costs nothing
            claims = []
            for m in o.matches:
                # Until enough items were seen, learned rarities are noise: weigh terms alike (names still
                # count more) rather than let the first handful of documents decide what is telling.
                features = weigh(o.sketch, df, self._windows.get(m.watch, self._params)) if o.sketch else None
                claims.append(
                    WatchClaim(m.watch, self._targets.get(m.watch, ()), _record(o, m, at), features)
                )
            when = (o.published or at).timestamp()
            sighting = Sighting(o.keys, o.fingerprint, o.length, self.config.seen_ttl, when)
            batch.append(Sighted(sighting, tuple(claims)))
            kept.append(o)
        return batch, kept

    async def flush_doc_freq(self, *, force: bool = False) -> None:
        """Write what this process learned of document frequencies, every so often (or now)."""
        due = self.df.pending >= C.DF_FLUSH_DOCS or time.monotonic() - self._df_flushed >= C.DF_FLUSH_S
        if not self.df.pending or not (force or due):
            return
        increments, docs = self.df.take_pending()
        try:
            await self.store.add_doc_freq(increments, docs, self.df.max_terms)
        except StoreError:
            self.df.restore_pending(increments, docs)
            raise
        self._df_flushed = time.monotonic()

    def _remember(self, memo: tuple[tuple[str, ...], str]) -> None:
        self._recent[memo] = None
        if len(self._recent) > RECENT_SIGHTINGS:
            self._recent.popitem(last=False)


def _record(item: Outcome, match: Match, now: datetime) -> dict[str, Any]:
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


def _internal(exc: BaseException) -> str:
    """The one-line cause of an unexpected exception."""
    return " ".join(f"internal error: {type(exc).__name__}: {exc}".split())[:300]


__all__ = ["CycleReport", "FeedReport", "Pipeline", "Polled", "ops_targets", "story_params", "watch_targets"]
