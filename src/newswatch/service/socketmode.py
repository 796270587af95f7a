"""Slack actions through Socket Mode: no public URL, a websocket from newswatch to Slack (slack-sdk's aiohttp
``SocketModeClient``), the same handler as ``POST /slack/actions``.

Owns the connection's life: the app-level token (``xapp-…``) is checked at start (``apps.connections.open``;
a rejected token stops the service like a rejected bot token), the first connection must open within
``SOCKET_MODE_CONNECT_S``, every envelope is acknowledged at once (Slack waits 3 seconds for it) before its
clicks are handed to the handler, and :meth:`SocketModeActions.watch` (a supervised task) makes ``/healthz``
name a connection that stays down while slack-sdk reconnects.  Socket Mode needs no signature: the
connection itself is authenticated by the app token.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from newswatch import constants as C
from newswatch.delivery.notify.base import NotifyError
from newswatch.service.metrics import Metrics
from newswatch.service.slackactions import ActionHandler, BadAction, parse_payload

log = logging.getLogger("newswatch.slack.socketmode")


class SocketModeActions:
    """Receives Slack actions over Socket Mode for ``handler``; :meth:`start`, then :meth:`close`."""

    def __init__(
        self,
        app_token: str,
        base_url: str,
        handler: ActionHandler,
        *,
        metrics: Metrics | None = None,
        ping_interval: float = C.SOCKET_MODE_PING_S,
        down_after: float = C.SOCKET_MODE_DOWN_S,
    ) -> None:
        self.app_token = app_token
        self.base_url = base_url
        self.handler = handler
        self.metrics = metrics
        self.ping_interval = ping_interval
        self.down_after = down_after
        self.client: SocketModeClient | None = None
        # Kept across restarts of watch(): a connection still down after one is reported again at once, so
        # /healthz keeps naming it rather than clearing it for another down_after.
        self._down_since: float | None = None

    def __repr__(self) -> str:  # never show the token
        return f"SocketModeActions(base_url={self.base_url!r})"

    async def start(self) -> None:
        """Check the app token and open the connection; NotifyError (permanent for a rejected token)."""
        # slack-sdk's own lines go through newswatch's log handler (redacted), warnings and errors only.
        sdk_log = logging.getLogger("newswatch.slack.sdk")
        sdk_log.setLevel(logging.WARNING)
        web = AsyncWebClient(base_url=self.base_url, timeout=30)
        self.client = SocketModeClient(
            self.app_token, logger=sdk_log, web_client=web, ping_interval=self.ping_interval
        )
        self.client.socket_mode_request_listeners.append(self._on_request)
        try:
            opened = await web.apps_connections_open(app_token=self.app_token)
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown_error")
            raise NotifyError(f"Slack rejected the app token ({error})", permanent=True) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise NotifyError(
                f"Slack is unreachable at {self.base_url}: {exc or type(exc).__name__}"
            ) from None
        self.client.wss_uri = str(opened["url"])  # used by the first connect; reconnects ask for a new one
        try:
            await asyncio.wait_for(self.client.connect(), C.SOCKET_MODE_CONNECT_S)  # type: ignore[no-untyped-call]
        except TimeoutError:
            raise NotifyError(
                f"Slack Socket Mode did not connect within {C.SOCKET_MODE_CONNECT_S:g}s", permanent=True
            ) from None
        log.info("slack socket mode connected", extra={"base_url": self.base_url})

    async def watch(self) -> None:
        """Supervised: raise once the connection has been down for ``down_after`` (and at each check after a
        restart while it still is), so the supervisor logs it and ``/healthz`` names it until it is back;
        slack-sdk does the reconnecting."""
        while True:
            await asyncio.sleep(self.ping_interval)
            if self.client is None or await self.client.is_connected():
                if self._down_since is not None:
                    log.warning("slack socket mode reconnected")
                self._down_since = None
                continue
            if self._down_since is None:
                self._down_since = time.monotonic()
            down = time.monotonic() - self._down_since
            if down > self.down_after:
                raise ConnectionError(
                    f"Slack Socket Mode disconnected for {down:.0f}s (limit {self.down_after:g}s)"
                )

    async def _on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        # Acknowledge first: Slack shows the user an error when no ack arrives within 3 seconds.
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        if request.type != "interactive":
            return
        try:
            clicks = parse_payload(request.payload)
        except BadAction as exc:
            log.warning("slack action request refused", extra={"cause": "malformed", "error": str(exc)})
            if self.metrics is not None:
                self.metrics.slack_requests_refused.labels("malformed").inc()
            return
        self.handler.accept(clicks)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()  # type: ignore[no-untyped-call]
            self.client = None
