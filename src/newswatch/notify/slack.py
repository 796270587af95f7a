"""The Slack sink: Block Kit messages through slack-sdk's AsyncWebClient (``chat.postMessage``).

Owns the message layout and Slack escaping.  Everything that came from a feed passes through :func:`escape`
before it is put into mrkdwn, so a feed can never ping ``<!channel>``, mention a user or forge a link.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from newswatch.models import Alert
from newswatch.notify.base import NotifyError

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
    }
)
_MAX_TITLE = 300


def escape(text: str) -> str:
    """Slack's three control characters, as its docs require for any text we did not write."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    # `|` ends the URL part of a link and `>` the link itself; a URL has no business containing either.
    safe_url = escape(url).replace("|", "%7C")
    return f"<{safe_url}|{escape(label)}>"


def _bold_hits(snippet: str, hits: tuple[tuple[int, int], ...]) -> str:
    out: list[str] = []
    pos = 0
    for start, end in sorted(hits):
        if start < pos or end <= start:
            continue
        out.append(escape(snippet[pos:start]))
        out.append(f"*{escape(snippet[start:end])}*")
        pos = end
    out.append(escape(snippet[pos:]))
    return "".join(out)


def build_message(alert: Alert) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for one alert record."""
    item = alert.item
    title = item.title if len(item.title) <= _MAX_TITLE else item.title[: _MAX_TITLE - 1] + "…"
    when = item.published.strftime("%d %b %Y %H:%M UTC") if item.published else "date unknown"
    context = f"{escape(item.source)} · {when} · watch: *{escape(alert.watch)}*"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_link(item.url, title)}*"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]
    if alert.match.snippet:
        snippet = _bold_hits(alert.match.snippet, alert.match.snippet_hits)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f">{snippet}"}})
    text = f"{escape(title)} — {escape(item.source)} ({escape(alert.watch)})"
    return text, blocks


class SlackNotifier:
    """Posts alerts with a bot token.  ``channel`` is the default; a watch's own channel wins."""

    name = "slack"

    def __init__(self, token: str, channel: str | None, base_url: str, *, timeout: int = 30):
        self.default_channel = channel
        self.client = AsyncWebClient(token=token, base_url=base_url, timeout=timeout)
        # slack-sdk does not retry 429s or dropped connections unless told to.
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        self.client.retry_handlers.append(AsyncConnectionErrorRetryHandler(max_retry_count=1))

    def __repr__(self) -> str:  # the client holds the token; never show it
        return f"SlackNotifier(channel={self.default_channel!r})"

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

    async def send(self, alert: Alert) -> None:
        channel = alert.channel or self.default_channel
        if not channel:
            raise NotifyError(
                f"watch {alert.watch!r} has no Slack channel and notify.slack.channel is unset",
                permanent=True,
            )
        text, blocks = build_message(alert)
        try:
            await self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
            retry_after = exc.response.headers.get("Retry-After") if exc.response.headers else None
            raise NotifyError(
                f"Slack chat.postMessage to {channel} failed: {error}",
                permanent=error in PERMANENT_ERRORS,
                retry_after=float(retry_after) if retry_after else None,
            ) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise NotifyError(f"Slack is unreachable: {exc or type(exc).__name__}") from None

    async def close(self) -> None:
        session = getattr(self.client, "session", None)
        if session is not None and not session.closed:
            await session.close()
