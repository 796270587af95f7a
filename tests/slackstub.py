"""A local stand-in for the Slack Web API, reached by slack-sdk through ``base_url``.

It answers ``auth.test``, ``chat.postMessage`` and ``chat.update`` the way Slack does (HTTP 200 with
``ok: false`` and an ``error`` for API errors, 429 with ``Retry-After`` for rate limits) and records every
call so tests can compare what Slack received with what the JSONL sink wrote.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

GOOD_TOKEN = "xoxb-test-token"


@dataclass
class SlackCall:
    method: str
    token: str | None
    body: dict[str, Any]
    ok: bool = False
    ts: str = ""


@dataclass
class SlackStub:
    """Run with ``async with SlackStub() as slack`` and point ``notify.slack.base_url`` at ``slack.base_url``."""

    tokens: set[str] = field(default_factory=lambda: {GOOD_TOKEN})
    channels: set[str] | None = None  # None: every channel exists
    calls: list[SlackCall] = field(default_factory=list)
    # A hook that may answer instead of the normal handler (to inject 429s, 5xx, outages).
    interceptor: Callable[[str, dict[str, Any]], web.StreamResponse | None] | None = None
    _runner: web.AppRunner | None = None
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    port: int = 0
    delay: float = 0.0  # seconds each call takes, to catch a process in the middle of delivering

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Successful chat.postMessage calls, in order."""
        return [c.body for c in self.calls if c.method == "chat.postMessage" and c.ok]

    def ts_of(self, body: dict[str, Any]) -> str:
        """The ts Slack answered for a posted message."""
        return next(c.ts for c in self.calls if c.body is body)

    async def __aenter__(self) -> SlackStub:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        raw = await request.read()
        body: dict[str, Any]
        if request.content_type == "application/json" and raw:
            body = json.loads(raw)
        else:
            body = dict(await request.post())
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.interceptor is not None:
            answer = self.interceptor(method, body)
            if answer is not None:
                return answer
        call = SlackCall(method, token, body)
        self.calls.append(call)
        if token not in self.tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            call.ok = True
            return web.json_response({"ok": True, "team": "Test", "user": "newswatch", "bot_id": "B1"})
        if method in ("chat.postMessage", "chat.update"):
            channel = str(body.get("channel", ""))
            if self.channels is not None and channel not in self.channels:
                return web.json_response({"ok": False, "error": "channel_not_found"})
            ts = body.get("ts") or f"1700000000.{next(self._ts):06d}"
            call.ok, call.ts = True, str(ts)
            return web.json_response(
                {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text")}}
            )
        return web.json_response({"ok": False, "error": "unknown_method"})
