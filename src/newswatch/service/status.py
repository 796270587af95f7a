"""The status pages on ``http.listen`` (``http.status: true``): what newswatch watches, found, failed at and
holds back, for people who would rather look than grep.

Owns the read-only routes ``GET /`` (each watch and its latest stories), ``/stories/{id}`` (a story's timeline:
every report with its outlet, time, title, link and how it was placed, and the picture), ``/feeds`` (feed
health), ``/mutes`` and ``/outbox`` (waiting, digests with their send time, parked with the reason), and who may
read them: with ``http.token`` set, a request needs it, as ``Authorization: Bearer <token>`` or, for a browser,
``?token=<token>`` (links on the pages carry it on).  Everything is read from the store through its Protocol,
never from this process's memory, so with several workers on Redis any one shows what all of them did; the
watches and feeds come from the running config.  Nothing here writes.  Rendering: statusview.py, in a thread.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from newswatch.config import Config
from newswatch.delivery.digests import DIGEST_MARK, HELD_PERIOD, digest_due
from newswatch.service.http import Route
from newswatch.service.statusview import render, timeline_svg, when
from newswatch.store.base import Store

__all__ = ["StatusPages"]

STORIES_PER_WATCH = 10  # on the front page
QUEUE_CAP = 200  # records read per queue for the outbox page
PARKED_SHOWN = 200
_NAV = (("/", "Watches"), ("/feeds", "Feeds"), ("/mutes", "Mutes"), ("/outbox", "Outbox"))
_KINDS = {"story": "story muted", "source": "source muted", "snooze": "watch snoozed"}


class StatusPages:
    def __init__(self, store: Store, config: Callable[[], Config], token: str | None = None) -> None:
        self.store = store
        self.config = config  # the running config (a reload replaces it)
        self.token = token

    def routes(self) -> list[Route]:
        return [
            ("GET", "/", self._guarded(self.index)),
            ("GET", "/stories/{story}", self._guarded(self.story)),
            ("GET", "/feeds", self._guarded(self.feeds)),
            ("GET", "/mutes", self._guarded(self.mutes)),
            ("GET", "/outbox", self._guarded(self.outbox)),
        ]

    # ------------------------------------------------------------------------------------------ pages

    async def index(self, request: web.Request) -> dict[str, Any]:
        cfg = self.config()
        stories = await asyncio.gather(
            *(self.store.recent_stories(w.name, STORIES_PER_WATCH) for w in cfg.watches)
        )
        watches = [
            {
                "name": w.name,
                "query": w.query,
                "targets": w.targets,
                "filters": [(k, v) for k, v in (("languages", w.languages), ("sources", w.sources),
                                                ("exclude sources", w.exclude_sources)) if v],
                "stories": found,
            }
            for w, found in zip(cfg.watches, stories, strict=True)
        ]  # fmt: skip
        return {"template": "index.html", "title": "Watches", "here": "/", "watches": watches}

    async def story(self, request: web.Request) -> dict[str, Any]:
        story = request.match_info["story"]
        lines = await self.store.story_timeline(story)
        if not lines:
            raise web.HTTPNotFound(text="no such story on record (stories are kept for seen_ttl)\n")
        opening = next((ln for ln in lines if ln.get("event") == "alert"), lines[0])
        outlets = list(dict.fromkeys(str(ln.get("source") or "(unknown)") for ln in lines))
        return {"template": "story.html", "title": str(opening.get("title") or story), "here": "",
                "story": story, "lines": lines, "opening": opening, "outlets": outlets,
                "picture_lines": lines}  # fmt: skip

    async def feeds(self, request: web.Request) -> dict[str, Any]:
        cfg, now = self.config(), time.time()
        states = await asyncio.gather(*(self.store.get_feed_state(f.url) for f in cfg.feeds))
        dues = await asyncio.gather(*(self.store.due_time(f.url) for f in cfg.feeds))
        rows = []
        for f, state, due in zip(cfg.feeds, states, dues, strict=True):
            state = state or {}
            failures = int(state.get("failures") or 0)
            down = (
                failures
                and state.get("failing_since")
                and now - float(state["failing_since"]) > cfg.ops.feed_down_after
            )
            health = "not polled yet" if not state else ("down" if down else "failing" if failures else "ok")
            rows.append({"name": f.name or state.get("title") or f.url, "url": f.url, "health": health,
                         "last_success": state.get("last_success"), "failures": failures,
                         "last_error": state.get("last_error") if failures else None,
                         "items_seen": state.get("items_seen") or 0, "next_poll": due})  # fmt: skip
        return {"template": "feeds.html", "title": "Feeds", "here": "/feeds", "feeds": rows}

    async def mutes(self, request: web.Request) -> dict[str, Any]:
        return {"template": "mutes.html", "title": "Mutes", "here": "/mutes",
                "mutes": await self.store.mutes(), "kinds": _KINDS}  # fmt: skip

    async def outbox(self, request: web.Request) -> dict[str, Any]:
        queues = []
        for target in sorted(await self.store.outbox_targets()):
            entries = await self.store.outbox_head(target, QUEUE_CAP)
            if not entries:
                continue
            period = target.split(DIGEST_MARK, 1)[1] if DIGEST_MARK in target else None
            due = "as soon as it can"
            if period == HELD_PERIOD:
                due = "when the watch's snooze ends"
            elif period:
                due = f"{period} digest at {when(digest_due(entries[0].created, period))}"
            queues.append({"target": target, "count": len(entries), "due": due, "head": entries[:5]})
        parked = (await self.store.outbox_parked())[:PARKED_SHOWN]
        return {"template": "outbox.html", "title": "Outbox", "here": "/outbox", "queues": queues,
                "waiting_total": sum(q["count"] for q in queues), "parked": parked, "cap": QUEUE_CAP}  # fmt: skip

    # ------------------------------------------------------------------------------------------ plumbing

    def _guarded(self, page: Callable[[web.Request], Any]) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.StreamResponse:
            if self.token is not None and not self._authorized(request):
                return web.Response(status=401, text="unauthorized: send the http.token\n",
                                    headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
            context = await page(request)
            given = request.query.get("token") if self.token is not None else None

            def link(path: str) -> str:
                # A browser that came with ?token= keeps it on every link of the pages.
                return f"{path}?{urlencode({'token': given})}" if given else path

            picture = context.pop("picture_lines", None)
            html = await asyncio.to_thread(_render_page, context, link, picture)
            return web.Response(text=html, content_type="text/html", charset="utf-8",
                                headers=_HEADERS)  # fmt: skip

        return handler

    def _authorized(self, request: web.Request) -> bool:
        assert self.token is not None
        expected = self.token.encode()
        header = request.headers.get("Authorization", "")
        given = header.removeprefix("Bearer ").encode() if header.startswith("Bearer ") else b""
        query = request.query.get("token", "").encode()
        return hmac.compare_digest(given, expected) or hmac.compare_digest(query, expected)


# No script runs on these pages, none is loaded from elsewhere, and no page may be framed.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _render_page(context: dict[str, Any], link: Callable[[str], str], picture: Any) -> str:
    if picture is not None:
        context["picture"] = timeline_svg(picture)
    return render(context.pop("template"), nav=_NAV, link=link, now=time.time(), **context)
