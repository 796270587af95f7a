"""Which configured feeds are pushed: the glue between polling and the WebSub subscriber.

Owns the topic -> feed map (bounded like the subscriber's table), discovering a hub in a polled feed's body and
subscribing to it (a tracked background task), renewing subscriptions whose lease runs out, and telling the
poll policy which feeds a hub pushes (they are polled only as a slow safety net).  A reload that removes a feed
removes its topics (:meth:`PushedFeeds.retain`): its pushes are ignored and answered 410, the hub is asked to
unsubscribe, and its lease is never renewed (issue 21 point 14).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import aiohttp

from newswatch import constants as C
from newswatch.config import FeedConfig
from newswatch.feeds.discovery import discover
from newswatch.feeds.push import WebSubError, WebSubSubscriber

log = logging.getLogger("newswatch")

Spawn = Callable[[str, Coroutine[Any, Any, None]], object]


class PushedFeeds:
    def __init__(self, subscriber: WebSubSubscriber, session: aiohttp.ClientSession, spawn: Spawn) -> None:
        self.subscriber = subscriber
        self._session = session
        self._spawn = spawn  # runs a coroutine as a tracked task (cancelled on shutdown, a crash logged)
        self._topics: dict[str, FeedConfig] = {}  # WebSub topic -> feed, in order of last subscription

    def feed(self, topic: str) -> FeedConfig | None:
        """The feed a pushed topic belongs to, or None for a topic we never subscribed to."""
        return self._topics.get(topic)

    def pushed(self, feed: FeedConfig) -> bool:
        """Whether a hub currently pushes this feed's items."""
        return any(self.subscriber.active(t) for t, f in self._topics.items() if f.url == feed.url)

    def discovered(self, feed: FeedConfig, body: bytes, address: str, links: tuple[str, ...] = ()) -> None:
        """A feed was polled: subscribe for push if it advertises a hub (in its ``Link`` headers or its
        document) and is not subscribed yet."""
        found = discover(body, links, address)
        if not found.hubs:
            return
        topic = found.self_url or address
        sub = self.subscriber.subscription(topic)
        if sub is not None and sub.state in ("pending", "active"):
            return
        # A feed that names a new topic on every poll must not grow the map: its older topics go.
        for old in [t for t, f in self._topics.items() if f.url == feed.url and t != topic]:
            del self._topics[old]
        self._topics.pop(topic, None)
        self._topics[topic] = feed
        while len(self._topics) > C.MAX_WEBSUB_SUBSCRIPTIONS:
            del self._topics[next(iter(self._topics))]
        self._spawn(f"websub subscribe {topic}", self._subscribe(found.hubs[0], topic, feed))

    def retain(self, feeds: Iterable[FeedConfig]) -> None:
        """A reload: the topics of feeds no longer configured are forgotten and unsubscribed; the others take
        their feed's new settings."""
        by_url = {f.url: f for f in feeds}
        for topic, old in list(self._topics.items()):
            new = by_url.get(old.url)
            if new is not None:
                self._topics[topic] = new
                continue
            del self._topics[topic]
            self._spawn(f"websub unsubscribe {topic}", self._unsubscribe(topic, old))

    async def _unsubscribe(self, topic: str, feed: FeedConfig) -> None:
        try:
            await self.subscriber.unsubscribe(self._session, topic)
            log.info("push unsubscribed: feed removed", extra={"url": feed.url, "topic": topic})
        except WebSubError as exc:
            # Its pushes are answered 410 all the same, which tells the hub to stop (WebSub §7).
            log.warning("push unsubscribe failed", extra={"url": feed.url, "topic": topic, "error": str(exc)})

    async def renew(self) -> None:
        """Subscribe again where a lease is about to run out or a hub never verified us."""
        for sub in self.subscriber.renew_due():
            feed = self._topics.get(sub.topic)
            if feed is not None:
                await self._subscribe(sub.hub, sub.topic, feed)

    async def _subscribe(self, hub: str, topic: str, feed: FeedConfig) -> None:
        try:
            await self.subscriber.subscribe(self._session, hub, topic)
            log.info("push subscribed", extra={"feed": feed.name or feed.url, "url": feed.url, "hub": hub})
        except WebSubError as exc:
            log.warning("push subscription failed", extra={"url": feed.url, "hub": hub, "error": str(exc)})
