"""The Slack sink: Block Kit messages through slack-sdk's AsyncWebClient.

Owns the conversation with Slack: a story's alert is a top-level message; each update is a reply in its
thread ("Also reported by …") and the parent is edited (``chat.update``) to show how many sources reported
the story. The messages themselves are built by :mod:`newswatch.delivery.notify.slackblocks` within Slack's limits,
with everything from a feed escaped. If Slack still refuses a message's content (``invalid_blocks``,
``msg_too_long``, …), it is sent once more as plain text before the error is reported as permanent.
With ``buttons`` (a Slack app that receives their clicks), an alert carries the buttons of Slack actions;
:meth:`SlackNotifier.redraw` edits it after one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from newswatch.delivery.notify.base import NotifyError, Record
from newswatch.delivery.notify.slackblocks import SlackMessage, build_digest, build_message, build_update
from newswatch.delivery.notify.slackbuttons import ActionRef
from newswatch.models import feed_key
from newswatch.service.metrics import Metrics
from newswatch.shared.http import retry_after

log = logging.getLogger("newswatch.notify.slack")

# Slack's answers to a message whose content it will not take; a plainer message may pass.
CONTENT_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "invalid_arguments",
        "no_text",
    }
)
# Slack errors that retrying cannot fix: the token or the channel is wrong, or the content is refused.
PERMANENT_ERRORS = CONTENT_ERRORS | frozenset(
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
    }
)
SLACK_PACE_S = 1.0  # Slack allows about one message per second per channel


class ContentRefused(NotifyError):
    """Slack refused what a message contains (one of :data:`CONTENT_ERRORS`); permanent as it stands."""

    def __init__(self, message: str) -> None:
        super().__init__(message, content=True)


def channel_of(target: str) -> str:
    """``slack:#mideast`` → ``#mideast``."""
    return target.split(":", 1)[1] if ":" in target else ""


def _channel(target: str, record: Record) -> str:
    channel = channel_of(target)
    if not channel:
        raise NotifyError(
            f"watch {record.get('watch')!r} has no Slack channel and notify.slack.channel is unset",
            permanent=True,
        )
    return channel


def _ref(target: str, record: Record) -> ActionRef | None:
    """The ids the buttons of an alert carry; None for anything but a story's alert (an ops record)."""
    watch, story, feed = record.get("watch"), record.get("story"), record.get("feed")
    if (
        record.get("event") != "alert"
        or not isinstance(watch, str)
        or not isinstance(story, str)
        or not story
    ):
        return None
    return ActionRef(target, watch, story, feed_key(feed) if isinstance(feed, str) and feed else "")


def _details(metadata: object) -> str:
    """Slack's own words on a refusal (``response_metadata.messages``), the first two, for the log."""
    messages = metadata.get("messages") if isinstance(metadata, Mapping) else None
    if not isinstance(messages, list) or not messages:
        return ""
    return " — " + "; ".join(str(m)[:200] for m in messages[:2])


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
        buttons: bool = False,
    ):
        self.pace = pace
        self.metrics = metrics
        # Alerts carry the buttons of Slack actions only when the app can receive their clicks: a button that
        # leads nowhere would show its user an error.
        self.buttons = buttons
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
        channel = _channel(target, record)
        if record.get("event") == "update":
            return await self._update(channel, record, thread)
        ref = _ref(target, record) if self.buttons else None
        response, plain = await self._post(channel, build_message(record, ref=ref))
        state = {
            "ts": response.get("ts"),
            "channel": response.get("channel", channel),
            "sources": 1,
            "record": dict(record),
            "target": target,  # the alert's buttons name it, so every later edit draws them again
        }
        if plain:
            state["plain"] = True  # the parent is text only: later edits keep it so
        return json.dumps(state)

    async def _update(self, channel: str, record: Record, thread: str | None) -> str | None:
        if thread is None:
            # The story's alert has no message of its own (it went out in a digest, or was parked): a reply
            # has no parent, and a top-level message would read as a new story.  Skip it.
            return None
        state = json.loads(thread)
        await self._post(state.get("channel", channel), build_update(record), thread_ts=state["ts"])
        state["sources"] = int(state.get("sources", 1)) + 1
        try:
            await self._edit_parent(state)
        except ContentRefused as exc:
            # The reply is posted; the parent keeps its old count, which is cosmetic.
            log.warning("Slack refused an edit of a story's alert", extra={"error": str(exc)})
        except NotifyError as exc:
            if exc.permanent:
                raise
            # The reply is posted; a missed count on the parent is cosmetic and fixed by the next update.
        return json.dumps(state)

    async def redraw(self, state: dict[str, Any]) -> None:
        """Edit a story's alert to show ``state`` (a Slack action changed its ``notes``); NotifyError when
        Slack refuses even the plain-text edit."""
        await self._edit_parent(state)

    async def _edit_parent(self, state: dict[str, Any]) -> None:
        record, target = state["record"], state.get("target")
        ref = _ref(target, record) if isinstance(target, str) and self.buttons else None
        message = build_message(
            record, sources=int(state.get("sources", 1)), ref=ref, notes=state.get("notes")
        )
        where = {"channel": state["channel"], "ts": state["ts"]}
        if not state.get("plain"):
            try:
                await self._call("chat.update", **where, text=message.text, blocks=message.blocks)
                return
            except ContentRefused as exc:
                log.warning(
                    "Slack refused an edit of a story's alert, editing it as plain text",
                    extra={"error": str(exc)},
                )
                state["plain"] = True
        # An empty `blocks` clears the parent's old blocks, which would otherwise stay and hide the text.
        await self._call("chat.update", **where, text=message.plain[0], blocks=[])

    async def send_digest(self, target: str, records: Sequence[Record], reason: str) -> None:
        channel = _channel(target, records[0] if records else {})
        # A digest too long for one message goes out in parts; a failed part makes the outbox retry the
        # whole digest, so the parts before it may be posted twice (at least once, as everywhere).
        for message in build_digest(records, reason):
            await self._post(channel, message)

    async def _post(self, channel: str, message: SlackMessage, **extra: Any) -> tuple[dict[str, Any], bool]:
        """chat.postMessage; if Slack refuses the content, once more as plain text. Returns Slack's answer
        (the first plain message's, after a fallback) and whether the fallback was used."""
        common = {"channel": channel, "unfurl_links": False, "unfurl_media": False, **extra}
        if message.blocks:
            common["blocks"] = message.blocks
        try:
            return await self._call("chat.postMessage", **common, text=message.text), False
        except ContentRefused as refused:
            if not message.plain:
                raise
            log.warning("Slack refused a message, sending it as plain text", extra={"error": str(refused)})
            first: dict[str, Any] | None = None
            common.pop("blocks", None)
            for text in message.plain:
                try:
                    answer = await self._call("chat.postMessage", **common, text=text)
                except ContentRefused as again:
                    raise ContentRefused(f"{refused}; as plain text too: {again}") from None
                first = answer if first is None else first
            return first or {}, True

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            response = await self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            if self.metrics is not None and status == 429:
                self.metrics.slack_rate_limited.labels(method).inc()
            error = str(exc.response.get("error", "unknown_error"))
            what = f"Slack {method} failed: {error}" + (f" (HTTP {status})" if status != 200 else "")
            if error in CONTENT_ERRORS:
                raise ContentRefused(what + _details(exc.response.get("response_metadata"))) from None
            headers = exc.response.headers or {}
            raise NotifyError(
                what,
                permanent=error in PERMANENT_ERRORS,
                retry_after=retry_after(headers.get("Retry-After") or headers.get("retry-after")),
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
