"""The CPU stage: parse -> match -> story sketch for a whole feed body, in worker processes.

Owns what runs in the process pool and the plain data it hands back.  The pool is started once per config
generation (a reload starts a new one): each worker compiles the watchlist once (:func:`init_worker`), then
turns feed bodies (:func:`process_body`) or archived items (:func:`process_items`) into :class:`Outcome`
values: an item's identity, fingerprint and the few fields an alert record needs, the watches it matched and,
when it matched, its story sketch.  The fingerprint is of the item's text and of the watch set it was matched
against (:func:`watch_generation`): a worker running other watches (a reload not yet made on every worker)
finds the item not seen with its watches, and matches it again, so no watch misses an item because another
generation saw it first; a watch that reported the item already is never asked again.  Everything is picklable and small: the full text never travels back.  A feed
with ``full_text: true`` goes in two steps (:func:`process_full_text_body`, then :func:`process_articles` for its
teasers and their pages; see :mod:`newswatch.fulltext`).

This module is the pool's entry point, so it imports only what the work needs (parsing, matching, story
sketches), never the service (aiohttp, Redis, Slack, metrics): a worker stays small.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from newswatch import constants as C
from newswatch.config import EntityConfig, WatchConfig
from newswatch.feeds.archive import archive_line
from newswatch.feeds.extract import article_text, is_teaser
from newswatch.feeds.parse import FeedParseError, parse_feed
from newswatch.feeds.text import text_fingerprint
from newswatch.match import Matcher, compile_watches
from newswatch.models import Item, Match
from newswatch.shared.cpubound import CpuTimeExceeded, cpu_time_bound, owns
from newswatch.stories import ItemSketch, StoryParams

__all__ = [
    "Article",
    "CpuStage",
    "FeedOutcome",
    "Outcome",
    "Worker",
    "init_worker",
    "process_articles",
    "process_body",
    "process_full_text_body",
    "process_items",
    "worker_count",
]

T = TypeVar("T")
log = logging.getLogger("newswatch")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One item after the CPU stage."""

    keys: tuple[str, ...]
    fingerprint: str
    length: int  # characters of text matched on
    published: datetime | None
    feed_url: str
    title: str
    url: str
    source: str
    matches: tuple[Match, ...] = ()
    sketch: ItemSketch | None = None  # for matched items only
    archived: str | None = (
        None  # the item as one archive line (replay format), when the config keeps an archive
    )


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    title: str | None
    ttl: float | None
    warning: str | None
    items: list[Outcome]
    error: str | None = None  # the body is no usable feed (one line); nothing else is set then
    # A full-text feed's teasers, unmatched, each with its place among the feed's items (see Worker.full_text_body)
    teasers: tuple[tuple[int, Item], ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    """A teaser of a full-text feed and the page fetched for it (None: none, the teaser is matched as it is)."""

    item: Item
    page: bytes | None = None
    content_type: str | None = None


class Worker:
    """A compiled watchlist and the story knobs: the state of one worker (or of the in-process stage)."""

    def __init__(
        self,
        entities: Mapping[str, EntityConfig],
        watches: Sequence[WatchConfig],
        params: StoryParams,
        archive: bool = False,
    ) -> None:
        # Imported here, not at the top: the recording process imports this module too (for the pool's entry
        # points) and never needs the MinHash library; workers have it preloaded by the forkserver.
        from newswatch.stories.sketch import sketch

        self.matcher: Matcher = compile_watches(entities, watches)
        self.params = params
        self.archive = archive
        self.generation = watch_generation(entities, watches)
        self._sketch = sketch

    def body(
        self, body: bytes, feed_url: str, name: str | None, now: datetime, content_type: str | None
    ) -> FeedOutcome:
        try:
            with cpu_time_bound(C.TASK_CPU_S, "parsing and matching the feed"):
                parsed = parse_feed(body, feed_url, name, now, content_type=content_type)
                return FeedOutcome(parsed.title, parsed.ttl, parsed.warning, self.items(parsed.items))
        except (FeedParseError, CpuTimeExceeded) as exc:
            return FeedOutcome(None, None, None, [], error=str(exc))

    def full_text_body(
        self, body: bytes, feed_url: str, name: str | None, now: datetime, content_type: str | None
    ) -> FeedOutcome:
        """:meth:`body` for a full-text feed: teasers come back unmatched, for their pages (:meth:`articles`)."""
        try:
            with cpu_time_bound(C.TASK_CPU_S, "parsing and matching the feed"):
                parsed = parse_feed(body, feed_url, name, now, content_type=content_type)
                teasers = tuple((i, item) for i, item in enumerate(parsed.items) if is_teaser(item))
                full = [item for item in parsed.items if not is_teaser(item)]
                return FeedOutcome(
                    parsed.title, parsed.ttl, parsed.warning, self.items(full), teasers=teasers
                )
        except (FeedParseError, CpuTimeExceeded) as exc:
            return FeedOutcome(None, None, None, [], error=str(exc))

    def articles(self, articles: Sequence[Article]) -> list[tuple[Outcome, str | None]]:
        """Teasers with their pages: each matched and sketched on its article's text (as its ``content``), with
        None; or on the teaser, with why, when its page gave no text longer than the teaser."""
        with cpu_time_bound(C.TASK_CPU_S, "extracting and matching pages"):
            read = [_read_article(a) for a in articles]
            return list(
                zip(self.items([item for item, _ in read]), [error for _, error in read], strict=True)
            )

    def bounded_items(self, items: Sequence[Item]) -> list[Outcome]:
        """:meth:`items` under the task bound (:class:`CpuTimeExceeded` past it: the caller fails the batch)."""
        with cpu_time_bound(C.TASK_CPU_S, f"matching {len(items)} items"):
            return self.items(items)

    def items(self, items: Sequence[Item]) -> list[Outcome]:
        out = []
        for item in items:
            matches = tuple(self.matcher.match(item))
            out.append(
                Outcome(
                    keys=item.keys,
                    fingerprint=f"{text_fingerprint(item.title, item.summary, item.content)}~{self.generation}",
                    length=len(item.text),
                    published=item.published,
                    feed_url=item.feed_url,
                    title=item.title,
                    url=item.url,
                    source=item.source,
                    matches=matches,
                    sketch=self._sketch(item, self.params) if matches else None,
                    archived=archive_line(item) if self.archive else None,
                )
            )
        return out


def same_text(fingerprint: str, other: str) -> bool:
    """Whether two item fingerprints are of the same text (matched against the same or other watch sets)."""
    return fingerprint.partition("~")[0] == other.partition("~")[0]


def watch_generation(entities: Mapping[str, EntityConfig], watches: Sequence[WatchConfig]) -> str:
    """A short hash of a watch set (with the entities its queries use)."""
    what = {
        "entities": {k: e.model_dump(mode="json") for k, e in sorted(entities.items())},
        "watches": [w.model_dump(mode="json") for w in watches],
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:8]


def _read_article(a: Article) -> tuple[Item, str | None]:
    """The item with its article's text as content, or the teaser as it is and why."""
    if a.page is None:
        return a.item, None
    bound = None
    try:
        with cpu_time_bound(C.PAGE_CPU_S, "extracting the page") as bound:
            text = article_text(a.page, a.content_type)
    except CpuTimeExceeded as exc:
        if not owns(bound, exc):
            raise  # the task's bound: the whole chunk gives up
        return a.item, f"extraction failed: {exc}"
    except Exception as exc:  # a hostile page must cost its own item's full text only
        return a.item, " ".join(f"extraction failed: {type(exc).__name__}: {exc}".split())[:300]
    if not text:
        return a.item, "no article text found in the page"
    if len(text) <= len(a.item.summary) + len(a.item.content):
        return a.item, "article text no longer than the teaser"
    return replace(a.item, content=text), None


_WORKER: Worker | None = None


def init_worker(
    entities: Mapping[str, EntityConfig],
    watches: Sequence[WatchConfig],
    params: StoryParams,
    archive: bool = False,
) -> None:
    """Pool initializer: compile the watchlist once per worker process."""
    global _WORKER
    _WORKER = Worker(entities, watches, params, archive)


def _worker() -> Worker:
    if _WORKER is None:
        raise RuntimeError("newswatch.cpu: the worker was not initialised (init_worker)")
    return _WORKER


def _ready() -> bool:
    return _worker() is not None


def process_body(
    body: bytes, feed_url: str, name: str | None, now: datetime, content_type: str | None
) -> FeedOutcome:
    """Parse one feed body and match and sketch its items (in a worker process)."""
    return _worker().body(body, feed_url, name, now, content_type)


def process_items(items: Sequence[Item]) -> list[Outcome]:
    """Match and sketch items that are already parsed (replay), in a worker process."""
    return _worker().bounded_items(items)


def process_full_text_body(
    body: bytes, feed_url: str, name: str | None, now: datetime, content_type: str | None
) -> FeedOutcome:
    """Parse a full-text feed's body; match and sketch its items but the teasers (in a worker process)."""
    return _worker().full_text_body(body, feed_url, name, now, content_type)


def process_articles(articles: Sequence[Article]) -> list[tuple[Outcome, str | None]]:
    """Extract teasers' pages, then match and sketch them (in a worker process)."""
    return _worker().articles(articles)


class CpuStage:
    """The recording process's side of the stage: a pool of ``workers`` processes, or with 0 a thread here.

    Workers are forked from a forkserver that imported only this module, so each starts small and shares
    what it imported; a reload (:meth:`reload`) starts a new pool with the new watchlist and lets the old one
    finish what it was given.  A pool broken by a worker that died (a crash in a C parser, the OOM killer) is
    replaced, and the call that met it fails its feed only.
    """

    def __init__(
        self,
        entities: Mapping[str, EntityConfig],
        watches: Sequence[WatchConfig],
        params: StoryParams,
        workers: int,
        *,
        archive: bool = False,
    ) -> None:
        self.workers = workers
        self._args = (dict(entities), list(watches), params, archive)
        self._local = Worker(*self._args) if workers == 0 else None
        self._executor = self._start()

    def _start(self) -> Executor:
        if self.workers == 0:
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="newswatch-cpu")
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__, "newswatch.stories.sketch"])
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=init_worker, initargs=self._args)

    async def start(self) -> None:
        """Start every worker now, in a thread: starting processes blocks, and the first feed should not wait."""
        if self._local is None:
            executor = self._executor
            await asyncio.to_thread(
                lambda: [f.result() for f in [executor.submit(_ready) for _ in range(self.workers)]]
            )

    async def body(
        self, body: bytes, feed_url: str, name: str | None, now: datetime, content_type: str | None
    ) -> FeedOutcome:
        fn = self._local.body if self._local is not None else process_body
        return await self._submit(fn, body, feed_url, name, now, content_type)

    async def items(self, items: Sequence[Item]) -> list[Outcome]:
        fn = self._local.bounded_items if self._local is not None else process_items
        return await self._submit(fn, list(items))

    async def full_text_body(
        self, body: bytes, feed_url: str, name: str | None, now: datetime, content_type: str | None
    ) -> FeedOutcome:
        fn = self._local.full_text_body if self._local is not None else process_full_text_body
        return await self._submit(fn, body, feed_url, name, now, content_type)

    async def articles(self, articles: Sequence[Article]) -> list[tuple[Outcome, str | None]]:
        fn = self._local.articles if self._local is not None else process_articles
        return await self._submit(fn, list(articles))

    async def _submit(self, fn: Callable[..., T], *args: Any) -> T:
        executor = self._executor
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except BrokenProcessPool:
            if executor is self._executor:
                log.error("a CPU worker died; starting a new pool")
                self._executor = self._start()
                executor.shutdown(wait=False, cancel_futures=True)
            raise

    def reload(self, entities: Mapping[str, EntityConfig], watches: Sequence[WatchConfig]) -> None:
        """Compile a new watchlist: new work goes to a new pool; the old one finishes what it has."""
        old = self._executor
        self._args = (dict(entities), list(watches), self._args[2], self._args[3])
        self._local = Worker(*self._args) if self.workers == 0 else None
        self._executor = self._start()
        old.shutdown(wait=False)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def worker_count(setting: int | str) -> int:
    """``workers: auto`` is one process per core; a number is taken as it is (0: no processes)."""
    if setting == "auto":
        return max(1, os.cpu_count() or 1)
    return int(setting)
