"""What Slack refuses in a message, checked the way Slack checks it: the test side of the Slack stand-in.

Limits are Slack's documented ones (Block Kit reference at docs.slack.dev: blocks, section, header, context,
button; chat.postMessage: ``text``), written out here on purpose rather than imported from newswatch, so a
wrong constant in the code cannot make its own test pass. Lengths are counted in UTF-16 code units (Slack
does not say which "characters" it counts; this is the stricter reading). Refusals are worded as Slack words
them: ``must be less than 3001 characters [json-pointer:/blocks/0/text/text]``.

``strict`` adds checks Slack does not make but a test wants, because they catch a message that Slack would
accept and then show wrongly: broken ``<…>`` syntax, a link to anything but http(s) or longer than 3000,
a mention or special command (``<!channel>``, ``<@U123>``: newswatch writes only the mention of a user who
clicked one of its buttons, so only the ids in ``mentions`` pass), a bare ``&`` or a ``>`` that is neither a
quote marker nor escaped (escaping was skipped, or a cut went through an entity), and a button Slack would
take but that no click could tell apart from another (two with one ``action_id`` in a block).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_BLOCKS = 50
SECTION_TEXT = 3000
FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_URL = 3000
BUTTON_VALUE = 2000
IDENTIFIER = 255  # action_id, block_id
MESSAGE_TEXT = 40_000
LINK_URL = 3000

_ENTITY = re.compile(r"&(amp|lt|gt);")
_HTTP = re.compile(r"https?://[^/?#\s]", re.IGNORECASE)


@dataclass(frozen=True)
class Refusal:
    error: str  # Slack's error code: invalid_blocks, msg_too_long, …
    messages: tuple[str, ...] = ()  # the details Slack gives in response_metadata.messages

    def answer(self) -> dict[str, Any]:
        """Slack's JSON answer (HTTP 200, ``ok: false``)."""
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["errors"] = list(self.messages)
            body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return body


def units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def check_message(
    body: dict[str, Any],
    *,
    update: bool = False,
    strict: bool = True,
    blocks_text_max: int | None = None,
    mentions: frozenset[str] = frozenset(),
) -> Refusal | None:
    """None when Slack takes this chat.postMessage/chat.update (or webhook) body, else its refusal.

    ``blocks_text_max`` enables Slack's undocumented total (``msg_blocks_too_long``, reported near 12,000
    characters of text across a message's blocks in slackapi/bolt-js#2509): off unless a test asks.
    ``mentions`` are the user ids a strict check lets through as ``<@id>``.
    """
    text = body.get("text")
    blocks: Any = body.get("blocks")
    if isinstance(blocks, str):  # form-encoded calls send blocks as a JSON string
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return Refusal("invalid_blocks_format")
    if blocks is not None and not isinstance(blocks, list):
        return Refusal("invalid_blocks_format")
    if text is not None and not isinstance(text, str):
        return Refusal("invalid_arguments", ("must be a string [json-pointer:/text]",))
    if not text and not blocks and not (update and blocks == []):
        return Refusal("no_text")
    if text and units(text) > MESSAGE_TEXT:
        return Refusal("msg_too_long")
    problems: list[str] = []
    if blocks:
        if len(blocks) > MAX_BLOCKS:
            problems.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
        for i, block in enumerate(blocks):
            problems += _block(block, f"/blocks/{i}", strict, mentions=mentions)
    if problems:
        return Refusal("invalid_blocks", tuple(problems))
    if blocks and blocks_text_max is not None and _text_total(blocks) > blocks_text_max:
        return Refusal("msg_blocks_too_long")
    if strict and text and body.get("mrkdwn", True) is not False:
        text_problems = [f"{p} [json-pointer:/text]" for p in mrkdwn_problems(text, mentions)]
        if text_problems:
            return Refusal("invalid_arguments", tuple(text_problems))
    return None


def mrkdwn_problems(text: str, mentions: frozenset[str] = frozenset()) -> list[str]:
    """Why this mrkdwn would render wrongly (the strict checks); empty when it is sound.  A mention of a
    user in ``mentions`` (``<@U123>``) is sound."""
    problems: list[str] = []
    closers: set[int] = set()  # positions of the `>` that end a <…> sequence
    pos = 0
    while (start := text.find("<", pos)) >= 0:
        end = text.find(">", start)
        if end < 0:
            problems.append("(stub) '<' that is never closed")
            break
        closers.add(end)
        inner = text[start + 1 : end]
        pos = end + 1
        if "<" in inner or "\n" in inner:
            problems.append("(stub) broken link syntax")
        elif inner[:1] == "@" and inner[1:] in mentions:
            continue
        elif inner[:1] in ("!", "@", "#"):
            problems.append(f"(stub) a mention or special command: <{inner[:40]}>")
        else:
            url = inner.split("|", 1)[0]
            if not _HTTP.match(url):
                problems.append(f"(stub) a link to something other than http(s): <{url[:40]}…>")
            elif units(url) > LINK_URL:
                problems.append(f"(stub) a link whose URL is over {LINK_URL} characters")
    if text.count("&") != len(_ENTITY.findall(text)):
        problems.append("(stub) a bare '&' (unescaped, or an entity cut in half)")
    # A `>` opening a line is a quote marker; anywhere else, outside a link's end, it should be &gt;.
    for at in (i for i, ch in enumerate(text) if ch == ">"):
        if at not in closers and at > 0 and text[at - 1] != "\n":
            problems.append("(stub) an unescaped '>'")
            break
    return problems


def _text_total(value: Any) -> int:
    """Units of every ``text`` string anywhere in the blocks."""
    if isinstance(value, list):
        return sum(_text_total(v) for v in value)
    if isinstance(value, dict):
        return sum(
            units(v) if k == "text" and isinstance(v, str) else _text_total(v) for k, v in value.items()
        )
    return 0


def _block(block: Any, at: str, strict: bool, mentions: frozenset[str] = frozenset()) -> list[str]:
    if not isinstance(block, dict):
        return [f"expected an object [json-pointer:{at}]"]
    kind = block.get("type")
    problems = _length(block.get("block_id"), IDENTIFIER, f"{at}/block_id")
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return [*problems, f"must define either `text` or `fields` [json-pointer:{at}]"]
        if "text" in block:
            problems += _text(block["text"], SECTION_TEXT, f"{at}/text", strict, mentions=mentions)
        fields = block.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > FIELDS:
                problems.append(f"no more than {FIELDS} items allowed [json-pointer:{at}/fields]")
            else:
                for j, f in enumerate(fields):
                    problems += _text(f, FIELD_TEXT, f"{at}/fields/{j}", strict, mentions=mentions)
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "button":
            problems += _button(accessory, f"{at}/accessory")
    elif kind == "header":
        problems += _text(block.get("text"), HEADER_TEXT, f"{at}/text", strict, plain_only=True)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements or len(elements) > CONTEXT_ELEMENTS:
            problems.append(f"must have 1 to {CONTEXT_ELEMENTS} items [json-pointer:{at}/elements]")
        else:
            for j, e in enumerate(elements):
                if not (isinstance(e, dict) and e.get("type") == "image"):
                    problems += _text(e, SECTION_TEXT, f"{at}/elements/{j}", strict, mentions=mentions)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements or len(elements) > ACTIONS_ELEMENTS:
            problems.append(f"must have 1 to {ACTIONS_ELEMENTS} items [json-pointer:{at}/elements]")
        else:
            action_ids = [e.get("action_id") for e in elements if isinstance(e, dict) and e.get("action_id")]
            if strict and len(action_ids) != len(set(action_ids)):
                problems.append(f"(stub) two elements with one action_id [json-pointer:{at}/elements]")
            for j, e in enumerate(elements):
                if isinstance(e, dict) and e.get("type") == "button":
                    problems += _button(e, f"{at}/elements/{j}")
                else:
                    problems.append(
                        f"(stub) unsupported element (newswatch sends buttons) [json-pointer:{at}/elements/{j}]"
                    )
    elif kind != "divider":
        problems.append(f"unsupported type: {kind} [json-pointer:{at}/type]")
    return problems


def _button(button: dict[str, Any], at: str) -> list[str]:
    problems = _text(button.get("text"), BUTTON_TEXT, f"{at}/text", False, plain_only=True)
    problems += _length(button.get("url"), BUTTON_URL, f"{at}/url")
    problems += _length(button.get("value"), BUTTON_VALUE, f"{at}/value")
    problems += _length(button.get("action_id"), IDENTIFIER, f"{at}/action_id")
    if button.get("style") not in (None, "primary", "danger"):
        problems.append(f"must be one of primary, danger [json-pointer:{at}/style]")
    return problems


def _text(
    obj: Any,
    limit: int,
    at: str,
    strict: bool,
    plain_only: bool = False,
    mentions: frozenset[str] = frozenset(),
) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"must be a text object [json-pointer:{at}]"]
    if plain_only and obj["type"] != "plain_text":
        return [f"must be plain_text [json-pointer:{at}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    problems = _length(text, limit, f"{at}/text")
    if strict and obj["type"] == "mrkdwn":
        problems += [f"{p} [json-pointer:{at}/text]" for p in mrkdwn_problems(text, mentions)]
    return problems


def _length(value: Any, limit: int, at: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [f"must be a string [json-pointer:{at}]"]
    if units(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{at}]"]
    return []
