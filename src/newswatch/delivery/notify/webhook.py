"""Webhook sinks: Slack incoming webhooks, and a generic JSON webhook signed with HMAC-SHA256.

Neither has threads: a story's later reports (updates) are not posted on their own, because a second
top-level message would read as a second story.  The Slack webhook skips them; the JSON webhook sends them as
``"event": "update"`` records, which a receiving program can file under the story id.  The Slack webhook
posts the same messages as the bot (:mod:`newswatch.delivery.notify.slackblocks`) and, like it, sends a message Slack
refuses (HTTP 400, ``invalid_blocks``…) once more as plain text before the error is reported as permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from newswatch.delivery.notify.base import NotifyError, Record, public
from newswatch.delivery.notify.slackblocks import SlackMessage, build_digest, build_message
from newswatch.shared.http import retry_after

SIGNATURE_HEADER = "X-Newswatch-Signature"  # "sha256=<hex HMAC of the raw body with the shared secret>"
_PERMANENT_STATUS = frozenset({400, 401, 403, 404, 410})


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SlackWebhookNotifier:
    """Posts alerts to one channel through a Slack incoming webhook URL (no threads, no chat.update)."""

    name = "slack-webhook"
    threads = False
    pace = 1.0

    def __init__(self, url: str, *, pace: float = 1.0, timeout: int = 30):
        self.pace = pace  # Slack's one message per second per channel holds for webhooks too
        self._url = url
        self.client = AsyncWebhookClient(url, timeout=timeout)

    def __repr__(self) -> str:  # the URL is a secret
        return "SlackWebhookNotifier(url=***)"

    async def start(self) -> None:
        return None

    async def send(self, target: str, record: Record, thread: str | None) -> str | None:
        if record.get("event") == "update":
            return None  # no thread to put it in; see the module docstring
        await self._post(build_message(record))
        return None

    async def send_digest(self, target: str, records: Sequence[Record], reason: str) -> None:
        alerts = [r for r in records if r.get("event") != "update"]
        if alerts:
            for message in build_digest(alerts, reason):
                await self._post(message)

    async def _post(self, message: SlackMessage) -> None:
        refused = await self._send(message.text, message.blocks)
        if refused is None:
            return
        # Slack answers 400 with the reason as the body (`invalid_blocks`, `msg_too_long`…): try plain text.
        for text in message.plain:
            again = await self._send(text, None)
            if again is not None:
                raise NotifyError(f"{refused}; as plain text too: {again}", content=True)

    async def _send(self, text: str, blocks: list[dict[str, object]] | None) -> str | None:
        """Post once; None when Slack took it, the reason when it refused the content (HTTP 400)."""
        try:
            response = await self.client.send(
                text=text, blocks=blocks or None, unfurl_links=False, unfurl_media=False
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise NotifyError(f"Slack webhook unreachable: {exc or type(exc).__name__}") from None
        if response.status_code == 200:
            return None
        what = f"Slack webhook answered HTTP {response.status_code}: {str(response.body)[:200]}"
        if response.status_code == 400:
            return what
        raise NotifyError(
            what,
            permanent=response.status_code in _PERMANENT_STATUS,
            retry_after=retry_after(response.headers.get("Retry-After") if response.headers else None),
        )

    async def close(self) -> None:
        return None


class JsonWebhookNotifier:
    """POSTs each record as JSON, signed with HMAC-SHA256 in ``X-Newswatch-Signature`` when a secret is set."""

    name = "webhook"
    threads = False
    pace = 0.0

    def __init__(self, url: str, secret: str | None, *, timeout: float = 30):
        self.url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"JsonWebhookNotifier(url={self.url!r})"

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def send(self, target: str, record: Record, thread: str | None) -> str | None:
        await self._post(public(record))
        return None

    async def send_digest(self, target: str, records: Sequence[Record], reason: str) -> None:
        await self._post({"event": "digest", "reason": reason, "records": [public(r) for r in records]})

    async def _post(self, payload: object) -> None:
        await self.start()
        assert self._session is not None
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        try:
            async with self._session.post(
                self.url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                if 200 <= resp.status < 300:
                    return
                raise NotifyError(
                    f"webhook {self.url} answered HTTP {resp.status}",
                    permanent=resp.status in _PERMANENT_STATUS,
                    retry_after=retry_after(resp.headers.get("Retry-After")),
                )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise NotifyError(f"webhook {self.url} unreachable: {exc or type(exc).__name__}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
