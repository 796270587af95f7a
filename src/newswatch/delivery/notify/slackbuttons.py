"""The buttons on a Slack alert: what they carry, what they say, and the notes a Slack action leaves on it.

Owns the button value, :class:`ActionRef`: the ids of the alert a button sits on (the outbox target, the
watch, the story id and the feed's :func:`~newswatch.store.base.feed_key`), never text from a feed, as
compact JSON within Slack's 2,000 characters (an alert whose ids would not fit gets no buttons).  Owns the
block an alert ends with: "Mute story", "Mute source", "Snooze 24h", each turned into its undo ("Unmute",
"Unmute source", "Unsnooze") with a line saying who did it while the effect is on, as remembered in the
story's message state (``notes``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from newswatch import constants as C

ACTIONS_BLOCK_ID = "newswatch.actions"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")  # Slack user ids: U… (W… on Enterprise Grid)
_KEYS = ("t", "w", "s", "f")


@dataclass(frozen=True)
class ActionRef:
    """What a button carries: the ids of its alert."""

    target: str  # the outbox queue the alert went to ("slack:#mideast")
    watch: str
    story: str
    feed: str = ""  # feed_key of the alert's feed; empty when the record names no feed

    def encode(self) -> str | None:
        """The button value, or None when it would pass Slack's limit (a very long watch name)."""
        value = json.dumps(dict(zip(_KEYS, (self.target, self.watch, self.story, self.feed), strict=True)),
                           ensure_ascii=False, separators=(",", ":"))  # fmt: skip
        return value if len(value.encode("utf-16-le")) // 2 <= C.SLACK_BUTTON_VALUE_MAX else None

    @classmethod
    def decode(cls, value: object) -> ActionRef:
        """A button value back into ids; ValueError when it is not one of ours."""
        if not isinstance(value, str) or len(value) > C.SLACK_BUTTON_VALUE_MAX:
            raise ValueError("the button value is missing or too long")
        try:
            data = json.loads(value)
        except ValueError:
            raise ValueError("the button value is not JSON") from None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in _KEYS):
            raise ValueError("the button value does not name a target, watch, story and feed")
        ref = cls(data["t"], data["w"], data["s"], data["f"])
        if not ref.target or not ref.watch or not ref.story:
            raise ValueError("the button value names no target, watch or story")
        return ref


def user_id(value: object) -> str | None:
    """A Slack user id as it may appear in ``<@…>``, or None for anything else."""
    return value if isinstance(value, str) and _USER_ID.fullmatch(value) else None


def action_blocks(ref: ActionRef | None, notes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The end of an alert: a line per effect in force (who set it) and the buttons; none without ``ref``."""
    value = ref.encode() if ref is not None else None
    if ref is None or value is None:
        return []
    notes = notes if isinstance(notes, Mapping) else {}
    lines: list[str] = []
    story_by = _by(notes.get("story"))
    if story_by:
        # A muted story shows only that, and its undo: nothing else of it reaches this channel.
        lines.append(f"Muted by {story_by}")
        buttons = [_button("Unmute", C.SLACK_ACTION_UNMUTE_STORY, value)]
    else:
        buttons = [_button("Mute story", C.SLACK_ACTION_MUTE_STORY, value)]
        source_by = _by(notes.get("source"))
        if source_by:
            lines.append(f"Source muted by {source_by}: its items no longer alert this watch here")
        if ref.feed:
            undo = bool(source_by)
            buttons.append(_button("Unmute source" if undo else "Mute source",
                                   C.SLACK_ACTION_UNMUTE_SOURCE if undo else C.SLACK_ACTION_MUTE_SOURCE, value))  # fmt: skip
        snooze = notes.get("snooze")
        snooze_by = _by(snooze[0]) if isinstance(snooze, list) and len(snooze) == 2 else None
        if snooze_by and isinstance(snooze, list):
            lines.append(f"Watch snoozed by {snooze_by} until {_until(snooze[1])}")
            buttons.append(_button("Unsnooze", C.SLACK_ACTION_UNSNOOZE_WATCH, value))
        else:
            buttons.append(_button("Snooze 24h", C.SLACK_ACTION_SNOOZE_WATCH, value))
    blocks: list[dict[str, Any]] = []
    if lines:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "\n".join(lines)}]})
    blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": buttons})
    return blocks


def _by(user: object) -> str:
    """``<@U123>`` for a well-formed user id; "someone" for anything else (never raw text in mrkdwn)."""
    if user is None or user == "":
        return ""
    uid = user_id(user)
    return f"<@{uid}>" if uid else "someone"


def _until(epoch: object) -> str:
    try:
        return datetime.fromtimestamp(float(epoch), UTC).strftime("%d %b %Y %H:%M UTC")  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return "later"


def _button(text: str, action_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
