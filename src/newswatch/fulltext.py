"""Full text on request: a ``full_text: true`` feed's new teasers are matched on their article's text.

Part of the orchestrator (the pipeline calls it; it chains the CPU stage, the store and article pages):

1. the CPU stage parses the feed and matches every item but the teasers, which it hands back
   (:meth:`CpuStage.full_text_body`; a teaser is an item with under ``TEASER_CHARS`` of text, title aside);
2. here, the teasers that need a page are chosen: an http(s) link, not older than ``max_item_age`` (the recorder
   would skip it), no identity key that this process fetched a page for lately, and none that the store knows
   (:meth:`Store.known_keys`): a re-sighting never fetches again, in this process or any other, and is matched
   on its teaser, which the store takes for a shorter copy of the text it has (nothing to do);
3. their pages are fetched (:func:`newswatch.feeds.article.fetch_page`: the shared session, so the feed bounds, the
   address guard and the per-host limit apply), ``PAGES_AT_ONCE`` at a time and at most ``MAX_PAGES_PER_POLL``
   per poll, each chunk then extracted, matched and sketched in a worker (:meth:`CpuStage.articles`);
4. every teaser's outcome goes back to its place among the feed's items, and the pipeline records them as usual.

A page that fails (an HTTP error, a timeout, too big, a refused address, not HTML, no article text) costs only its
item's full text: the teaser is matched instead, with one ``full text unavailable`` log line and one count in
``newswatch_page_failures_total``.  Pages are never stored: only outcomes travel back from the workers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import aiohttp

from newswatch import constants as C
from newswatch.config import Config, FeedConfig
from newswatch.cpu import Article, CpuStage, FeedOutcome, Outcome
from newswatch.feeds.article import Page, fetch_page
from newswatch.models import Item
from newswatch.service.metrics import Metrics, classify_error
from newswatch.store.base import Store

__all__ = ["FullText"]

log = logging.getLogger("newswatch")


class FullText:
    """The full-text step of one pipeline, with its bounded memory of the items whose page it fetched."""

    def __init__(
        self, session: aiohttp.ClientSession, store: Store, cpu: CpuStage, metrics: Metrics | None = None
    ) -> None:
        self.session = session
        self.store = store
        self.cpu = cpu
        self.metrics = metrics
        self._fetched: OrderedDict[str, None] = OrderedDict()  # identity keys, oldest first

    async def body(
        self, config: Config, feed: FeedConfig, body: bytes, content_type: str | None, now: datetime
    ) -> FeedOutcome:
        """Parse a full-text feed's body and match every item, new teasers on their article's text."""
        parsed = await self.cpu.full_text_body(body, feed.url, feed.name, now, content_type)
        if parsed.error is not None or not parsed.teasers:
            return parsed
        label = feed.name or parsed.title or feed.url
        teasers = [item for _, item in parsed.teasers]
        wanted = await self._wanted(config, teasers, now)
        if len(wanted) > C.MAX_PAGES_PER_POLL:
            log.warning("full text skipped", extra={"feed": label, "url": feed.url,
                                                    "items": len(wanted) - C.MAX_PAGES_PER_POLL,
                                                    "max_pages": C.MAX_PAGES_PER_POLL})  # fmt: skip
            wanted = wanted[: C.MAX_PAGES_PER_POLL]
        # The others are matched on their teasers, in one call; then the wanted ones, PAGES_AT_ONCE pages at a
        # time, so that at most that many bodies wait in memory for extraction.
        outcomes: dict[int, Outcome] = {}
        chosen = set(wanted)
        rest = [i for i in range(len(teasers)) if i not in chosen]
        if rest:
            as_teasers = await self.cpu.articles([Article(teasers[i]) for i in rest])
            outcomes.update(zip(rest, (outcome for outcome, _ in as_teasers), strict=True))
        for start in range(0, len(wanted), C.PAGES_AT_ONCE):
            chunk = wanted[start : start + C.PAGES_AT_ONCE]
            pages = await asyncio.gather(
                *(fetch_page(self.session, teasers[i].url, config.fetch) for i in chunk)
            )
            matched = await self._match(label, [teasers[i] for i in chunk], pages)
            outcomes.update(zip(chunk, matched, strict=True))
        ordered = [outcomes[i] for i in range(len(teasers))]
        return replace(parsed, items=_merge(parsed.items, parsed.teasers, ordered), teasers=())

    async def _wanted(self, config: Config, teasers: Sequence[Item], now: datetime) -> list[int]:
        """The teasers (by index) whose page to fetch: new, recent enough, with an http(s) link; remembered."""
        max_age = config.max_item_age
        oldest = now - timedelta(seconds=max_age) if max_age else None
        candidates = [
            i
            for i, item in enumerate(teasers)
            if item.keys
            and item.url.startswith(("http://", "https://"))
            and not (oldest is not None and item.published is not None and item.published < oldest)
            and not self._fetching(item)
        ]
        if not candidates:
            return []
        known = await self.store.known_keys([k for i in candidates for k in teasers[i].keys])
        wanted = []
        # No await from here on: another feed's poll that took the same item meanwhile is seen, and this one is
        # remembered before any page is fetched, so two feeds carrying one item fetch it once.
        for i in candidates:
            if not known.intersection(teasers[i].keys) and not self._fetching(teasers[i]):
                wanted.append(i)
                self._remember(teasers[i].keys)
        return wanted

    def _fetching(self, item: Item) -> bool:
        return any(k in self._fetched for k in item.keys)

    async def _match(self, label: str, teasers: Sequence[Item], pages: Sequence[Page]) -> list[Outcome]:
        """Teasers matched in a worker on their article's text, where their page gave one; failures reported."""
        articles = [_article(item, page) for item, page in zip(teasers, pages, strict=True)]
        try:
            results = await self.cpu.articles(articles)
        except Exception as exc:
            # A page that killed its worker costs these items their full text, not the feed: teasers instead.
            if not any(a.page is not None for a in articles):
                raise
            why = " ".join(f"extraction failed: {type(exc).__name__}: {exc}".split())[:300]
            teasers_only = await self.cpu.articles([Article(item) for item in teasers])
            results = [(outcome, why) for outcome, _ in teasers_only]
        for item, page, (_, extract_error) in zip(teasers, pages, results, strict=True):
            self._report(label, item, page.error or extract_error)
        return [outcome for outcome, _ in results]

    def _report(self, label: str, item: Item, error: str | None) -> None:
        cause = self.metrics.page_fetched(error) if self.metrics is not None else None
        if error is not None:
            log.warning("full text unavailable", extra={"feed": label, "url": item.url,
                                                        "cause": cause or classify_error(error), "error": error})  # fmt: skip

    def _remember(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._fetched[key] = None
            self._fetched.move_to_end(key)
        while len(self._fetched) > C.RECENT_PAGES:
            self._fetched.popitem(last=False)


def _article(item: Item, page: Page | None) -> Article:
    if page is None or page.body is None:
        return Article(item)
    return Article(item, page.body, page.content_type)


def _merge(
    items: Sequence[Outcome], teasers: Sequence[tuple[int, Item]], outcomes: Sequence[Outcome]
) -> list[Outcome]:
    """The feed's outcomes in the feed's order: the teasers' outcomes back at their places among the others."""
    merged: list[Outcome] = []
    rest = iter(items)
    places = dict(zip((place for place, _ in teasers), outcomes, strict=True))
    for place in range(len(items) + len(teasers)):
        merged.append(places[place] if place in places else next(rest))
    return merged
