"""A local stand-in for Slack that refuses what Slack refuses: the Web API (slack-sdk reaches it through
``base_url``) and incoming webhooks (``webhook_url``).

It answers ``auth.test``, ``chat.postMessage`` and ``chat.update`` the way Slack does: HTTP 200 with
``ok: false`` and an ``error`` (``not_authed`` without a token, ``invalid_auth`` with a wrong one,
``channel_not_found``, and for content ``invalid_blocks`` with Slack's wording in
``response_metadata.messages``, ``msg_too_long``, ``no_text``), and 429 with ``Retry-After`` when told to
rate-limit. Every message is checked against Slack's documented limits by :mod:`tests.slacklimits`, with
its strict mrkdwn checks on unless ``strict=False``. An incoming webhook answers as Slack's do: ``ok`` on
success, HTTP 400 with the error as the body on a refused message.

Every call is recorded so tests can compare what Slack received with what the JSONL sink wrote, and every
refusal is kept in ``refusals``: a test that expects everything to pass asserts it is empty.

For Slack actions it builds the ``block_actions`` payload Slack sends when a user clicks a button of a message
it holds (:meth:`SlackStub.click`; that user may then be mentioned, and no other), and it stands in for Socket
Mode: ``apps.connections.open`` with an app-level token answers the URL of a websocket on this server, which
greets the client with ``hello`` as Slack does, sends envelopes (:meth:`SlackStub.send_envelope`) and records
the acknowledgements it gets back.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.slacklimits import Refusal, check_message

GOOD_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A000-test"
SOCKET_PATH = "/socket-mode"
WEBHOOK_PATH = "/services/T000/B000/XXXX"


@dataclass
class SlackCall:
    method: str  # a Web API method, or "webhook"
    token: str | None
    body: dict[str, Any]
    ok: bool = False
    ts: str = ""
    error: str = ""  # what Slack answered when it refused


@dataclass
class SlackStub:
    """Run with ``async with SlackStub() as slack`` and point ``notify.slack.base_url`` at ``slack.base_url``
    (or ``notify.slack_webhook`` at ``slack.webhook_url``)."""

    tokens: set[str] = field(default_factory=lambda: {GOOD_TOKEN})
    channels: set[str] | None = None  # None: every channel exists
    calls: list[SlackCall] = field(default_factory=list)
    # A hook that may answer instead of the normal handler (to inject 429s, 5xx, outages).
    interceptor: Callable[[str, dict[str, Any]], web.StreamResponse | None] | None = None
    _runner: web.AppRunner | None = None
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    port: int = 0
    delay: float = 0.0  # seconds each call takes, to catch a process in the middle of delivering
    gate: asyncio.Event | None = None  # when set to an Event, Web API calls wait until it is set
    strict: bool = True  # also refuse mrkdwn Slack would take but show wrongly (see tests.slacklimits)
    blocks_text_max: int | None = None  # Slack's undocumented msg_blocks_too_long total, when a test wants it
    _limited: list[str] = field(default_factory=list)  # Retry-After values of the next 429 answers
    app_tokens: set[str] = field(default_factory=lambda: {APP_TOKEN})
    users: set[str] = field(default_factory=set)  # users who clicked a button: they may be mentioned
    sockets: list[web.WebSocketResponse] = field(
        default_factory=list
    )  # Socket Mode connections, oldest first
    acks: list[dict[str, Any]] = field(default_factory=list)  # what Socket Mode clients sent back
    _acked: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    @property
    def posts(self) -> list[dict[str, Any]]:
        """Successful chat.postMessage calls, in order."""
        return [c.body for c in self.calls if c.method == "chat.postMessage" and c.ok]

    @property
    def webhook_posts(self) -> list[dict[str, Any]]:
        """Messages an incoming webhook accepted, in order."""
        return [c.body for c in self.calls if c.method == "webhook" and c.ok]

    @property
    def refusals(self) -> list[SlackCall]:
        """Calls Slack refused for their token, channel or content (not rate limits), in order."""
        return [c for c in self.calls if c.error and c.error != "ratelimited"]

    def ts_of(self, body: dict[str, Any]) -> str:
        """The ts Slack answered for a posted message."""
        return next(c.ts for c in self.calls if c.body is body)

    @property
    def updates(self) -> list[dict[str, Any]]:
        """Successful chat.update calls, in order."""
        return [c.body for c in self.calls if c.method == "chat.update" and c.ok]

    def message(self, ts: str) -> dict[str, Any]:
        """A message as it stands now: as posted with this ts, or as last edited."""
        edits = [c.body for c in self.calls if c.method == "chat.update" and c.ok and c.ts == ts]
        return edits[-1] if edits else next(c.body for c in self.calls if c.ok and c.ts == ts)

    def click(self, ts: str, action_id: str, user: str = "U0TESTER1") -> dict[str, Any]:
        """Slack's ``block_actions`` payload for ``user`` clicking the button ``action_id`` of message ``ts``."""
        message = self.message(ts)
        block, button = next(
            (b, e) for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
            if e.get("action_id") == action_id
        )  # fmt: skip
        self.users.add(user)
        return {
            "type": "block_actions",
            "user": {"id": user, "username": "tester", "name": "tester", "team_id": "T0TEST"},
            "api_app_id": "A000",
            "token": "verification-token-unused",
            "container": {"type": "message", "message_ts": ts, "channel_id": "C0NEWS", "is_ephemeral": False},
            "trigger_id": "1.2.abc",
            "team": {"id": "T0TEST", "domain": "test"},
            "channel": {"id": "C0NEWS", "name": str(message.get("channel", "")).lstrip("#")},
            "message": {"type": "message", "ts": ts, "text": message.get("text"), "blocks": message.get("blocks")},
            "response_url": "https://hooks.slack.com/actions/T0TEST/1/xyz",
            "actions": [{"action_id": action_id, "block_id": block.get("block_id", "b"), "text": button["text"],
                         "value": button.get("value"), "type": "button", "action_ts": f"{time.time():.6f}"}],
        }  # fmt: skip

    async def send_envelope(self, payload: dict[str, Any], kind: str = "interactive") -> str:
        """Send an envelope over the newest Socket Mode connection; returns its id."""
        envelope_id = uuid.uuid4().hex
        await self.sockets[-1].send_json(
            {"type": kind, "envelope_id": envelope_id, "payload": payload, "accepts_response_payload": False}
        )
        return envelope_id

    async def acked(self, envelope_id: str, within: float = 10.0) -> dict[str, Any]:
        """The acknowledgement of an envelope, once it arrived."""
        async with self._acked:
            await asyncio.wait_for(
                self._acked.wait_for(lambda: any(a.get("envelope_id") == envelope_id for a in self.acks)),
                within,
            )
        return next(a for a in self.acks if a.get("envelope_id") == envelope_id)

    def rate_limit(self, retry_after: str = "1", times: int = 1) -> None:
        """Answer the next ``times`` message calls (post, update, webhook) with 429 and this Retry-After."""
        self._limited += [retry_after] * times

    async def __aenter__(self) -> SlackStub:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_post(WEBHOOK_PATH, self._webhook)
        app.router.add_get(SOCKET_PATH, self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in self.sockets:  # a websocket left open would hold the server's shutdown
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _read(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if request.content_type == "application/json" and raw:
            body = json.loads(raw)
            return body if isinstance(body, dict) else {}
        return dict(await request.post())

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        body = await self._read(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.gate is not None:
            await self.gate.wait()
        if self.interceptor is not None:
            answer = self.interceptor(method, body)
            if answer is not None:
                return answer
        call = SlackCall(method, token, body)
        self.calls.append(call)
        if not token:
            return self._refuse(call, Refusal("not_authed"))
        if method == "apps.connections.open":
            if token in self.tokens:  # a bot token cannot open a Socket Mode connection
                return self._refuse(call, Refusal("not_allowed_token_type"))
            if token not in self.app_tokens:
                return self._refuse(call, Refusal("invalid_auth"))
            call.ok = True
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}{SOCKET_PATH}"})
        if token not in self.tokens:
            return self._refuse(call, Refusal("invalid_auth"))
        if method == "auth.test":
            call.ok = True
            return web.json_response({"ok": True, "team": "Test", "user": "newswatch", "bot_id": "B1"})
        if method not in ("chat.postMessage", "chat.update"):
            return self._refuse(call, Refusal("unknown_method"))
        if self._limited:
            call.error = "ratelimited"
            headers = {"Retry-After": self._limited.pop(0)}
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
        channel = str(body.get("channel", ""))
        if not channel or (self.channels is not None and channel not in self.channels):
            return self._refuse(call, Refusal("channel_not_found"))
        refusal = check_message(
            body,
            update=method == "chat.update",
            strict=self.strict,
            blocks_text_max=self.blocks_text_max,
            mentions=frozenset(self.users),
        )
        if refusal is not None:
            return self._refuse(call, refusal)
        ts = body.get("ts") or f"1700000000.{next(self._ts):06d}"
        call.ok, call.ts = True, str(ts)
        return web.json_response(
            {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text")}}
        )

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        body = await self._read(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.interceptor is not None:
            answer = self.interceptor("webhook", body)
            if answer is not None:
                return answer
        call = SlackCall("webhook", None, body)
        self.calls.append(call)
        if self._limited:
            call.error = "ratelimited"
            headers = {"Retry-After": self._limited.pop(0)}
            return web.Response(status=429, text="rate_limited", headers=headers)
        refusal = check_message(body, strict=self.strict, blocks_text_max=self.blocks_text_max)
        if refusal is not None:
            call.error = refusal.error
            return web.Response(status=400, text=refusal.error)
        call.ok = True
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json(
            {"type": "hello", "num_connections": len(self.sockets), "connection_info": {"app_id": "A000"}}
        )
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                async with self._acked:
                    self.acks.append(json.loads(msg.data))
                    self._acked.notify_all()
        return ws

    @staticmethod
    def _refuse(call: SlackCall, refusal: Refusal) -> web.Response:
        call.error = refusal.error
        return web.json_response(refusal.answer())
