"""The Slack sink: Block Kit messages through slack-sdk's AsyncWebClient.

Owns the message layout, Slack escaping and threads: a story's alert is a top-level message; each update is a
reply in its thread ("Also reported by …") and the parent is edited (``chat.update``) to show how many sources
reported the story.  Everything that came from a feed passes through :func:`escape` before it is put into
mrkdwn, so a feed can never ping ``<!channel>``, mention a user or forge a link.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from newswatch.metrics import Metrics
from newswatch.notify.base import NotifyError, Record

# Slack errors that retrying cannot fix: the token or the channel is wrong.
PERMANENT_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "restricted_action",
        "invalid_blocks",
        "msg_too_long",
        "invalid_arguments",
    }
)
_MAX_TITLE = 300
_DIGEST_MAX_LINES = 40
SLACK_PACE_S = 1.0  # Slack allows about one message per second per channel


def escape(text: str) -> str:
    """Slack's three control characters, as its docs require for any text we did not write."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    # `|` ends the URL part of a link and `>` the link itself; a URL has no business containing either.
    safe_url = escape(url).replace("|", "%7C")
    return f"<{safe_url}|{escape(label)}>"


def _bold_hits(snippet: str, hits: Sequence[Sequence[int]]) -> str:
    out: list[str] = []
    pos = 0
    for start, end in sorted((int(h[0]), int(h[1])) for h in hits):
        if start < pos or end <= start:
            continue
        out.append(escape(snippet[pos:start]))
        out.append(f"*{escape(snippet[start:end])}*")
        pos = end
    out.append(escape(snippet[pos:]))
    return "".join(out)


def _title(record: Record) -> str:
    title = str(record.get("title") or record.get("url") or "(untitled)")
    return title if len(title) <= _MAX_TITLE else title[: _MAX_TITLE - 1] + "…"


def _when(record: Record) -> str:
    published = record.get("published")
    return datetime.fromisoformat(published).strftime("%d %b %Y %H:%M UTC") if published else "date unknown"


def build_message(record: Record, sources: int = 1) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for a story's alert; ``sources`` counts the reports gathered under it."""
    title = _title(record)
    context = f"{escape(str(record['source']))} · {_when(record)} · watch: *{escape(str(record['watch']))}*"
    if sources > 1:
        context += f" · *{sources} sources* (see thread)"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{link(str(record['url']), title)}*"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]
    snippet = record.get("snippet")
    if snippet:
        bolded = _bold_hits(str(snippet), record.get("_snippet_hits") or ())
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f">{bolded}"}})
    text = f"{escape(title)} — {escape(str(record['source']))} ({escape(str(record['watch']))})"
    return text, blocks


def build_update(record: Record) -> str:
    """The thread reply for a later report of a story."""
    return f"Also reported by *{escape(str(record['source']))}* — {link(str(record['url']), _title(record))} · {_when(record)}"


def build_digest(records: Sequence[Record], reason: str) -> tuple[str, list[dict[str, Any]]]:
    lines = [
        f"• {link(str(r['url']), _title(r))} — {escape(str(r['source']))} ({escape(str(r['watch']))})"
        for r in records
    ]
    if len(lines) > _DIGEST_MAX_LINES:
        lines = [*lines[:_DIGEST_MAX_LINES], f"… and {len(lines) - _DIGEST_MAX_LINES} more"]
    head = f"*{len(records)} alerts* — {escape(reason)}"
    text = f"{len(records)} alerts — {escape(reason)}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    # A section holds at most 3000 characters; split the list over several.
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return text, blocks


def channel_of(target: str) -> str:
    """``slack:#mideast`` → ``#mideast``."""
    return target.split(":", 1)[1] if ":" in target else ""


class SlackNotifier:
    """Posts with a bot token: alerts as messages, updates in their story's thread."""

    name = "slack"
    threads = True
    pace = SLACK_PACE_S

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        pace: float = SLACK_PACE_S,
        timeout: int = 30,
        metrics: Metrics | None = None,
    ):
        self.pace = pace
        self.metrics = metrics
        self.client = AsyncWebClient(token=token, base_url=base_url, timeout=timeout)
        # Rate limits are paced and retried by the outbox (shared by all workers); here only a dropped
        # connection is retried at once.
        self.client.retry_handlers.append(AsyncConnectionErrorRetryHandler(max_retry_count=1))

    def __repr__(self) -> str:  # the client holds the token; never show it
        return f"SlackNotifier(base_url={self.client.base_url!r})"

    async def start(self) -> None:
        """Check the token once (``auth.test``) so a rejected token stops the service at start."""
        try:
            await self.client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown_error")
            raise NotifyError(f"Slack rejected the bot token ({error})", permanent=True) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise NotifyError(
                f"Slack is unreachable at {self.client.base_url}: {exc or type(exc).__name__}"
            ) from None

    async def send(self, target: str, record: Record, thread: str | None) -> str | None:
        channel = channel_of(target)
        if not channel:
            raise NotifyError(
                f"watch {record.get('watch')!r} has no Slack channel and notify.slack.channel is unset",
                permanent=True,
            )
        if record.get("event") == "update":
            return await self._update(channel, record, thread)
        text, blocks = build_message(record)
        response = await self._call(
            "chat.postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        state = {
            "ts": response.get("ts"),
            "channel": response.get("channel", channel),
            "sources": 1,
            "record": dict(record),
        }
        return json.dumps(state)

    async def _update(self, channel: str, record: Record, thread: str | None) -> str | None:
        if thread is None:
            # The story's alert has no message of its own (it went out in a digest, or was parked): a reply
            # has no parent, and a top-level message would read as a new story.  Skip it.
            return None
        state = json.loads(thread)
        await self._call(
            "chat.postMessage",
            channel=state.get("channel", channel),
            thread_ts=state["ts"],
            text=build_update(record),
            unfurl_links=False,
            unfurl_media=False,
        )
        state["sources"] = int(state.get("sources", 1)) + 1
        text, blocks = build_message(state["record"], sources=state["sources"])
        try:
            await self._call(
                "chat.update", channel=state["channel"], ts=state["ts"], text=text, blocks=blocks
            )
        except NotifyError as exc:
            if exc.permanent:
                raise
            # The reply is posted; a missed count on the parent is cosmetic and fixed by the next update.
        return json.dumps(state)

    async def send_digest(self, target: str, records: Sequence[Record], reason: str) -> None:
        text, blocks = build_digest(records, reason)
        await self._call(
            "chat.postMessage",
            channel=channel_of(target),
            text=text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            response = await self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            if self.metrics is not None and exc.response.status_code == 429:
                self.metrics.slack_rate_limited.labels(method).inc()
            error = str(exc.response.get("error", "unknown_error"))
            headers = exc.response.headers or {}
            retry_after = headers.get("Retry-After") or headers.get("retry-after")
            status = exc.response.status_code
            raise NotifyError(
                f"Slack {method} failed: {error}" + (f" (HTTP {status})" if status != 200 else ""),
                permanent=error in PERMANENT_ERRORS,
                retry_after=float(retry_after) if retry_after else None,
            ) from None
        except (TimeoutError, aiohttp.ClientError, SlackClientError) as exc:
            raise NotifyError(f"Slack is unreachable: {exc or type(exc).__name__}") from None
        finally:
            if self.metrics is not None:
                self.metrics.slack_seconds.labels(method).observe(time.perf_counter() - started)
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def close(self) -> None:
        session = getattr(self.client, "session", None)
        if session is not None and not session.closed:
            await session.close()
