"""Recording: what a poll learned, into the store — the items of a batch and the polled feeds' new states.

Owns the step between the CPU stage and the store: skipping what is too old or was recorded by this process
already, building each alert record (:mod:`newswatch.delivery.routing`), weighing story features under the
document frequencies this process has learned (:mod:`newswatch.stories`), one :meth:`Store.record` call per batch,
learning from and persisting those document frequencies; and saving polled feeds' states with their next poll
times (:func:`newswatch.feeds.policy.after_poll`), with an ops record for a feed that went down or recovered.
Part of the orchestrator: the pipeline calls it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from newswatch import constants as C
from newswatch import decisions
from newswatch.archiving import ArchiveWriter
from newswatch.config import Config, FeedConfig
from newswatch.cpu import Outcome
from newswatch.delivery.routing import alert_record, ops_record, ops_targets, watch_targets
from newswatch.feeds.policy import PollOutcome, after_poll
from newswatch.reports import Polled
from newswatch.service.metrics import Metrics
from newswatch.store.base import Event, Seen, Sighted, Sighting, Store, StoreError, WatchClaim, new_story_id
from newswatch.stories import (
    BatchStories,
    Decision,
    DocFreq,
    ItemProfile,
    StoryModel,
    default_model,
    load_model,
    weigh_in_watch,
)

log = logging.getLogger("newswatch")

RECENT_SIGHTINGS = 50_000  # (keys, fingerprint) pairs this process recorded: re-sightings skip the store
# Called with each recorded event and the story decision behind it (None without one): `replay --explain`.
Explain = Callable[[Outcome, Event, Decision | None], None]


def story_models(cfg: Config) -> tuple[StoryModel, dict[str, StoryModel]]:
    """The story model of the config (weights, threshold, window), and those of the watches whose window differs.

    Raises OSError or ValueError when ``stories.weights`` names a file that cannot be used.
    """
    fitted = load_model(cfg.stories.weights) if cfg.stories.weights else default_model()
    s = cfg.stories
    default = fitted.tuned(threshold=s.threshold, window_s=s.window, related=s.related)
    return default, {
        w.name: fitted.tuned(
            threshold=s.threshold,
            window_s=w.story_window or s.window,
            related=s.related if w.related is None else w.related,
        )
        for w in cfg.watches
        if w.story_window or (w.related is not None and w.related != s.related)
    }


class Recorder:
    def __init__(
        self,
        config: Config,
        store: Store,
        doc_freq: DocFreq,
        *,
        clock: Callable[[], datetime],
        poke: Callable[[], None],
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.df = doc_freq
        self.clock = clock
        self.metrics = metrics
        self._poke = poke  # new outbox entries: wake delivery
        self._recent: OrderedDict[tuple[tuple[str, ...], str], None] = OrderedDict()
        self._df_flushed = time.monotonic()
        self._rng = random.Random()  # poll-time jitter
        self.archive: ArchiveWriter | None = None  # set by the pipeline when the config keeps an archive
        self.reload(config)

    def reload(self, config: Config) -> None:
        self.config = config
        self._targets = watch_targets(config)
        self._ops_targets = ops_targets(config)
        self._model, self._windows = story_models(config)

    async def commit_feeds(
        self, polled: Sequence[Polled], *, pushed: Callable[[FeedConfig], bool] | None = None
    ) -> None:
        """Save polled feeds' states and next poll times (one store call for all); announce health changes."""
        sched, now = self.config.schedule, self.clock().timestamp()
        states: dict[str, dict[str, Any]] = {}
        due: dict[str, float] = {}
        changes = []
        for p in polled:
            feed = p.report.feed
            outcome = PollOutcome(status=p.report.status, new_items=p.report.new, error=p.report.error,
                                  retry_after=p.retry_after, max_age=p.max_age, feed_ttl=p.ttl)  # fmt: skip
            # A pushed feed is polled only as a slow safety net for a hub that falls silent.
            slow = pushed is not None and pushed(feed)
            interval = max(feed.interval, sched.max_interval) if slow else feed.interval
            due[feed.url], states[feed.url], change = after_poll(
                p.state_before, p.updates, outcome, interval, sched.max_interval, now, self._rng,
                backoff_cap=sched.backoff_cap, fail_alert_after=self.config.ops.feed_down_after,
            )  # fmt: skip
            if change is not None:
                changes.append(ops_record(p.report.label, feed.url, change, states[feed.url], self.clock()))
        await self.store.set_feed_states(states)
        await self.store.schedule(due)
        for record in changes:
            for target in self._ops_targets:
                await self.store.enqueue(target, record)
        if changes:
            self._poke()

    async def record(
        self, outcomes: Sequence[Outcome], now: datetime | None, *, explain: Explain | None = None
    ) -> tuple[list[Event], list[Outcome]]:
        """Record items in one store call; returns (events, the items new or changed).

        ``now`` None places each item at its own publication time (replay).  ``explain`` is called with each
        event and the story decision that made it.
        """
        wall = self.clock()
        batch, kept, notes = await asyncio.to_thread(self._sightings, outcomes, now, wall)
        for keys, note in notes:  # too old: noted once, not at every poll of its feed
            self._remember((keys, str(note.get("fingerprint", ""))))
        if not batch:
            await self.store.add_notes(notes, self.config.seen_ttl)
            return [], []
        stories = BatchStories(self._windows, self._model, explain=explain is not None)
        results = await self.store.record(batch, stories)
        events: list[Event] = []
        fresh: list[Outcome] = []
        for sighted, outcome, recorded in zip(batch, kept, results, strict=True):
            self._remember((outcome.keys, outcome.fingerprint))
            notes.append(decisions.recorded(outcome, sighted, recorded, wall))  # for `why` and -v
            if recorded.seen is Seen.SAME:
                continue
            fresh.append(outcome)
            features = next((c.features for c in sighted.claims if c.features is not None), None)
            if recorded.seen is Seen.NEW and features is not None:
                self.df.add(features.terms)
            events += recorded.events
            for e in recorded.events:
                if explain is not None:
                    explain(
                        outcome, e, stories.decisions.get((e.watch, new_story_id(e.watch, recorded.item_id)))
                    )
                if self.metrics is not None:
                    self.metrics.matched(e.watch, new_story=e.event == "alert")
                log.debug(
                    "record queued",
                    extra={"event": e.event, "watch": e.watch, "story": e.story, "url": outcome.url},
                )
        if events:
            self._poke()
        await self.store.add_notes(notes, self.config.seen_ttl)
        if self.archive is not None:
            await self.archive.write(o.archived for o in fresh if o.archived)
        return events, fresh

    def _sightings(
        self, outcomes: Sequence[Outcome], now: datetime | None, wall: datetime
    ) -> tuple[list[Sighted], list[Outcome], list[decisions.Note]]:
        """The store batch for outcomes (in a thread: weighing story features is CPU work), and the notes of
        the items skipped as too old."""
        max_age = self.config.max_item_age
        todo, skipped = [], []
        for o in outcomes:
            at = now or o.published or wall
            if not o.keys or (o.keys, o.fingerprint) in self._recent:
                decisions.seen_again(o)
                continue  # recorded (or noted as too old) by this process already: costs nothing
            if max_age and o.published is not None and o.published < at - timedelta(seconds=max_age):
                skipped.append(decisions.too_old(o, max_age, wall))
                continue
            todo.append((o, at))
        # Terms are weighed by what was learned so far plus this batch's own items: a fresh deployment's first
        # batch then already knows which of its terms most items share.
        df = self.df.with_batch(
            (*o.sketch.terms, *o.sketch.entities) for o, _ in todo if o.sketch is not None
        )
        params = self._model.params  # sizes are the fitted model's in every watch (only windows differ)
        batch: list[Sighted] = []
        kept: list[Outcome] = []
        for o, at in todo:
            claims = []
            profiles: dict[tuple[str, ...], ItemProfile] = {}  # watches that matched the same words share one
            for m in o.matches:
                record = alert_record(o.title, o.url, o.source, o.published, m, at, o.feed_url)
                features = None
                if o.sketch is not None:
                    features = profiles.get(m.terms)
                    if features is None:
                        features = profiles[m.terms] = weigh_in_watch(o.sketch, m.terms, df, params)
                claims.append(WatchClaim(m.watch, self._targets.get(m.watch, ()), record, features))
            sighting = Sighting(
                o.keys, o.fingerprint, o.length, self.config.seen_ttl, (o.published or at).timestamp()
            )
            batch.append(Sighted(sighting, tuple(claims)))
            kept.append(o)
        return batch, kept, skipped

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
