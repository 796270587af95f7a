"""Slack actions: a click on an alert's button, from the request to its effect in the store and on the alert.

Owns reading an interactivity payload (``block_actions``; :func:`parse_request` for the HTTP form body,
:func:`parse_payload` for the JSON both transports carry), the HTTP endpoint ``POST /slack/actions``
(:class:`ActionsEndpoint`: Slack's v0 signature checked with slack-sdk's ``SignatureVerifier``, a request more
than 5 minutes old or new refused with 401, a malformed one with 400, neither changing anything; a good one
answered 200 at once) and the work done after the answer (:class:`ActionHandler`, in a tracked task): the mute
or snooze set or lifted in the store (shared by every worker, with its expiry), one log line and a count of
who did what, and the alert edited to say so.  Socket Mode (socketmode.py) feeds the same handler.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_sdk.signature import Clock, SignatureVerifier

from newswatch import constants as C
from newswatch.delivery.notify.base import NotifyError
from newswatch.delivery.notify.slackbuttons import ActionRef, user_id
from newswatch.service.metrics import Metrics
from newswatch.store.base import Mute, Store, StoreError, mute_id, thread_key

log = logging.getLogger("newswatch.slack.actions")

# action_id -> (the kind of mute it concerns, whether it sets it)
EFFECTS: dict[str, tuple[str, bool]] = {
    C.SLACK_ACTION_MUTE_STORY: ("story", True),
    C.SLACK_ACTION_UNMUTE_STORY: ("story", False),
    C.SLACK_ACTION_MUTE_SOURCE: ("source", True),
    C.SLACK_ACTION_UNMUTE_SOURCE: ("source", False),
    C.SLACK_ACTION_SNOOZE_WATCH: ("snooze", True),
    C.SLACK_ACTION_UNSNOOZE_WATCH: ("snooze", False),
}
_TTL = {"story": C.MUTE_STORY_TTL_S, "source": C.MUTE_SOURCE_TTL_S, "snooze": C.SNOOZE_S}

Spawn = Callable[[str, Coroutine[Any, Any, None]], object]
Redraw = Callable[[dict[str, Any]], Awaitable[None]]


class BadAction(ValueError):
    """An interactivity payload newswatch cannot read; the message says why (for the log, never Slack)."""


@dataclasses.dataclass(frozen=True)
class Clicked:
    """One button click: which action, on which alert (the ids its button carries), by whom."""

    action: str  # one of EFFECTS
    ref: ActionRef
    user: str  # Slack user id

    @property
    def name(self) -> str:
        return self.action.removeprefix("newswatch.")  # mute_story, …: the metric label and log value


def parse_request(body: bytes) -> list[Clicked]:
    """The clicks in an HTTP interactivity request (``payload=<JSON>``, form-encoded)."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise BadAction("the body is not a form-encoded payload") from None
    payloads = form.get("payload", [])
    if len(payloads) != 1:
        raise BadAction("the body holds no single payload field")
    try:
        payload = json.loads(payloads[0])
    except ValueError:
        raise BadAction("the payload is not JSON") from None
    return parse_payload(payload)


def parse_payload(payload: object) -> list[Clicked]:
    """The clicks on newswatch's buttons in an interaction payload; other interactions and other apps'
    buttons are none of ours (an empty list); BadAction for a payload that is not what Slack sends."""
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise BadAction("the payload is not an object with a type")
    if payload["type"] != "block_actions":
        return []
    user = payload.get("user")
    uid = user_id(user.get("id")) if isinstance(user, dict) else None
    actions = payload.get("actions")
    if uid is None or not isinstance(actions, list):
        raise BadAction("the payload names no user or no actions")
    clicked = []
    for action in actions[: C.SLACK_ACTIONS_PER_REQUEST]:
        if not isinstance(action, dict):
            raise BadAction("an action is not an object")
        if action.get("action_id") not in EFFECTS:
            continue
        try:
            ref = ActionRef.decode(action.get("value"))
        except ValueError as exc:
            raise BadAction(str(exc)) from None
        if not ref.target.startswith("slack:"):
            raise BadAction("the button value names no Slack channel")
        clicked.append(Clicked(action["action_id"], ref, uid))
    return clicked


class ActionHandler:
    """Does what clicks ask, one at a time per process (two clicks on one alert edit it in turn)."""

    def __init__(
        self,
        store: Store,
        redraw: Redraw,
        spawn: Spawn,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        users: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.redraw = redraw
        self.spawn = spawn
        self.metrics = metrics
        self.clock = clock
        self.users = frozenset(users)  # who may click (notify.slack.actions_users); empty: anyone
        self._lock = asyncio.Lock()

    def accept(self, clicks: Sequence[Clicked]) -> None:
        """Take clicks to handle after the answer to Slack (a tracked task: cancelled at shutdown)."""
        if clicks:
            self.spawn("slack action", self.handle_all(clicks))

    async def handle_all(self, clicks: Sequence[Clicked]) -> None:
        for click in clicks:
            await self.handle(click)

    async def handle(self, click: Clicked) -> None:
        """Set or lift the mute, log and count it, and edit the alert; a failure is logged, never raised."""
        async with self._lock:
            fields = {"user": click.user, "action": click.name, "target": click.ref.target,
                      "watch": click.ref.watch, "story": click.ref.story}  # fmt: skip
            try:
                result = await self._apply(click, fields)
            except StoreError as exc:
                log.error("slack action failed", extra={**fields, "error": str(exc)})
                result = "failed"
            if self.metrics is not None:
                self.metrics.slack_actions.labels(click.name, result).inc()

    async def _apply(self, click: Clicked, fields: dict[str, Any]) -> str:
        if self.users and click.user not in self.users:
            log.warning("slack action refused", extra={**fields, "error": "the user is not in actions_users"})
            return "refused"
        kind, on = EFFECTS[click.action]
        ref, now = click.ref, self.clock()
        subject = {"story": ref.story, "source": ref.feed, "snooze": ""}[kind]
        if kind == "source" and not subject:
            log.warning("slack action refused", extra={**fields, "error": "the alert names no feed"})
            return "refused"
        key = thread_key(ref.target, ref.watch, ref.story)
        state = _state(await self.store.get_thread(key))
        for _ in range(C.SLACK_ACTION_STATE_RETRIES if state is None else 0):
            await asyncio.sleep(C.SLACK_ACTION_STATE_WAIT_S)  # delivery may be writing it down right now
            if (state := _state(await self.store.get_thread(key))) is not None:
                break
        record = state.get("record", {}) if state else {}
        mute = Mute(kind, ref.target, ref.watch, subject, click.user, now, now + _TTL[kind])
        if on:
            live = await self.store.mutes()
            if len(live) >= C.MUTES_MAX and all(m.id != mute.id for m in live):
                log.warning(
                    "slack action refused", extra={**fields, "error": f"{C.MUTES_MAX} mutes in force"}
                )
                return "refused"
            label = {"story": record.get("title"), "source": record.get("source"), "snooze": ref.watch}[kind]
            label = str(label or "")[: C.MUTE_LABEL_CHARS]
            await self.store.add_mute(dataclasses.replace(mute, label=label))
        else:
            await self.store.clear_mutes([mute_id(kind, ref.target, ref.watch, subject)])
        until = datetime.fromtimestamp(mute.expires, UTC).isoformat(timespec="seconds") if on else None
        log.info("slack action", extra={**fields, "mute": mute.id, "until": until})
        if state is None:
            log.warning("alert not edited: its message is no longer known", extra=fields)
            return "ok"
        notes = dict(state.get("notes") or {})
        if on:
            notes[kind] = [click.user, mute.expires] if kind == "snooze" else click.user
        else:
            notes.pop(kind, None)
        state["notes"] = notes
        await self.store.set_thread(key, json.dumps(state))
        try:
            await self.redraw(state)
        except NotifyError as exc:  # the mute holds; only its note on the alert is missing
            log.warning("alert not edited", extra={**fields, "error": str(exc)})
        return "ok"


def _state(raw: str | None) -> dict[str, Any] | None:
    """A story's Slack message state, when it names a message newswatch can rebuild."""
    try:
        state = json.loads(raw) if raw else None
    except ValueError:
        return None
    ok = isinstance(state, dict) and isinstance(state.get("record"), dict) and state.get("ts")
    return state if ok else None


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class ActionsEndpoint:
    """``POST /slack/actions``: verify, read, answer, and leave the work to the handler."""

    def __init__(
        self,
        signing_secret: str,
        handler: ActionHandler,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # SignatureVerifier refuses a timestamp more than 5 minutes from now (SLACK_SIGNATURE_MAX_AGE_S).
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self.handler = handler
        self.metrics = metrics

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if len(body) > C.SLACK_ACTION_MAX_BYTES:
            return self._refuse(413, "malformed", "the request is larger than an action can be")
        headers = request.headers
        if not self._signed(body, headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature")):
            return self._refuse(401, "signature", "the signature is missing, wrong or stale")
        try:
            clicks = parse_request(body)
        except BadAction as exc:
            return self._refuse(400, "malformed", str(exc))
        # A signed request is good for 5 minutes: a copy of it must not act again (issue 21 point 16).  Its
        # signature names it; the first to have it remembered acts, in any worker, on either store.  Not a
        # lease: a lease's grant counter outlives it (fencing), one per request would never expire.
        signature = headers.get("X-Slack-Signature", "")
        try:
            first = await self.handler.store.remember_once(
                C.SLACK_REPLAY_KEY + signature, 2 * C.SLACK_SIGNATURE_MAX_AGE_S
            )
        except StoreError as exc:
            log.error("slack action request not handled", extra={"error": str(exc)})
            return web.json_response({"ok": False, "error": "try again"}, status=503)
        if not first:
            self._refuse(200, "replay", "a copy of a request already handled")
            return web.Response(status=200)  # Slack's own retry needs no error; nothing is done again
        self.handler.accept(clicks)
        return web.Response(status=200)

    def _signed(self, body: bytes, timestamp: str | None, signature: str | None) -> bool:
        try:
            return self._verifier.is_valid(body, timestamp, signature)
        except (ValueError, TypeError, OverflowError):  # a timestamp that is no number, a body not UTF-8
            return False

    def _refuse(self, status: int, cause: str, why: str) -> web.Response:
        log.warning("slack action request refused", extra={"status": status, "cause": cause, "error": why})
        if self.metrics is not None:
            self.metrics.slack_requests_refused.labels(cause).inc()
        return web.json_response({"ok": False, "error": why}, status=status)
