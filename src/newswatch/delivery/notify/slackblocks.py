"""The Slack messages newswatch builds (an alert, a thread reply, a digest) and their plain-text fallbacks.

Owns the layouts and their sizes: every message respects Slack's documented Block Kit limits after escaping
(see ``SLACK_*`` in :mod:`newswatch.constants`), and stays under the lower figures real Slack enforces.
Every builder is total: any record, however long or odd its fields, gives messages Slack accepts; text is
escaped and cut by :mod:`newswatch.delivery.notify.mrkdwn`. Each digest line is built and cut on its own, so one
hostile line cannot spoil the others, and a digest too long for one message is split over several.
An alert ends with its buttons (:mod:`newswatch.delivery.notify.slackbuttons`); replies and digests have none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from newswatch.constants import (
    SLACK_DIGEST_LINE_MAX,
    SLACK_DIGEST_MAX_LINES,
    SLACK_LABEL_CHARS,
    SLACK_MAX_BLOCKS,
    SLACK_MESSAGE_BLOCKS_BUDGET,
    SLACK_SECTION_TEXT_MAX,
    SLACK_TEXT_BUDGET,
    SLACK_TITLE_CHARS,
)
from newswatch.delivery.notify.base import Record
from newswatch.delivery.notify.mrkdwn import clip, flat, link_or_text, one_line, units
from newswatch.delivery.notify.slackbuttons import ActionRef, action_blocks

_PLAIN_URL_CHARS = 1000  # the address in a plain-text fallback (Slack links it itself when it can)
_HEAD_RESERVE = 500  # room kept in each digest message for its heading section
_BOLD_MAX = 3  # words in bold in an alert's snippet


@dataclass(frozen=True)
class SlackMessage:
    """One chat message: ``text`` is the notification (and what clients without blocks show); ``plain``
    is what is sent instead, as one or more text-only messages, when Slack refuses the blocks."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    plain: tuple[str, ...] = ()


def build_message(
    record: Record, sources: int = 1, *, ref: ActionRef | None = None, notes: Mapping[str, Any] | None = None
) -> SlackMessage:
    """A story's alert; ``sources`` counts the reports gathered under it.  With ``ref`` it ends with the
    buttons that act on it, and a line for each action in force (``notes``)."""
    title, source, watch = _title(record), _label(record.get("source")), _label(record.get("watch"))
    url = one_line(record.get("url"))
    # `*…*` around the link: two units of the section's budget.
    head = link_or_text(url, title, SLACK_SECTION_TEXT_MAX - 2, SLACK_TITLE_CHARS)
    context = f"{source} · {_when(record)} · watch: *{watch}*"
    if sources > 1:
        context += f" · *{sources} sources* (see thread)"
    blocks: list[dict[str, Any]] = [_section(f"*{head}*"), _context(context)]
    related = record.get("related")
    if isinstance(related, Mapping) and (related.get("title") or related.get("url")):
        # A new event close to an earlier story: said here rather than hidden in that story's thread.
        lead = "Possibly related to an earlier story: "
        earlier = link_or_text(
            one_line(related.get("url")), one_line(related.get("title")) or "(untitled)",
            SLACK_SECTION_TEXT_MAX - units(lead), SLACK_TITLE_CHARS,
        )  # fmt: skip
        blocks.append(_context(lead + earlier))
    snippet, hits = _snippet(record, one_line(record.get("title")))
    if snippet.strip():
        # `>` quotes the snippet: one unit of the section's budget.
        blocks.append(_section(">" + clip(snippet, SLACK_SECTION_TEXT_MAX - 1, hits)))
    blocks += action_blocks(ref, notes)
    text = f"{clip(title, SLACK_TITLE_CHARS)} — {source} ({watch})"
    return SlackMessage(text, blocks, (_plain(record, f"{text} · {_when(record)}"),))


def build_update(record: Record) -> SlackMessage:
    """The thread reply for a later report of a story (text only: a reply needs no blocks)."""
    source, when = _label(record.get("source")), _when(record)
    lead = f"Also reported by *{source}* — "
    budget = SLACK_TEXT_BUDGET - units(lead) - units(when) - len(" · ")
    shown = link_or_text(one_line(record.get("url")), _title(record), budget, SLACK_TITLE_CHARS)
    plain = f"Also reported by {source} — {clip(_title(record), SLACK_TITLE_CHARS)} · {when}"
    return SlackMessage(f"{lead}{shown} · {when}", [], (_plain(record, plain),))


def build_digest(records: Sequence[Record], reason: str) -> list[SlackMessage]:
    """Several alerts as one message, or as several when one would break a limit.

    At most ``SLACK_DIGEST_MAX_LINES`` alerts are listed, the rest counted. Each line is at most
    ``SLACK_DIGEST_LINE_MAX`` units; lines are packed into sections of at most ``SLACK_SECTION_TEXT_MAX``
    and sections into messages of at most ``SLACK_MAX_BLOCKS`` blocks and ``SLACK_MESSAGE_BLOCKS_BUDGET``
    units. A line whose link cannot be a link shows its title and address as plain text.
    """
    shown = list(records[:SLACK_DIGEST_MAX_LINES])
    lines = [_digest_line(r) for r in shown]
    plain = [_plain_line(r) for r in shown]
    if len(records) > len(shown):
        more = f"… and {len(records) - len(shown)} more"
        lines.append(more)
        plain.append(more)
    groups = _pack(lines)
    reason = clip(one_line(reason), SLACK_LABEL_CHARS)
    messages = []
    for n, group in enumerate(groups, 1):
        part = f" (part {n} of {len(groups)})" if len(groups) > 1 else ""
        head = f"{len(records)} alerts — {reason}{part}"
        blocks = [_section(f"*{len(records)} alerts* — {reason}{part}")]
        blocks += [_section("\n".join(lines[i] for i in section)) for section in group]
        texts = _chunks(head, [plain[i] for section in group for i in section])
        messages.append(SlackMessage(head, blocks, texts))
    return messages


# ---------------------------------------------------------------------------------------------- pieces


def _title(record: Record) -> str:
    return one_line(record.get("title")) or one_line(record.get("url")) or "(untitled)"


def _label(value: object) -> str:
    """A source or watch name, escaped and cut for display."""
    return clip(one_line(value), SLACK_LABEL_CHARS) or "?"


def _when(record: Record) -> str:
    published = record.get("published")
    if not published:
        return "date unknown"
    try:
        when = datetime.fromisoformat(str(published))
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        return when.strftime("%d %b %Y %H:%M UTC")
    except (ValueError, TypeError, OverflowError):
        return "date unknown"


def _snippet(record: Record, title: str) -> tuple[str, list[tuple[int, int]]]:
    """The snippet as the alert shows it: without the title the line above already shows, and with only the
    first hit of each matched word in bold, at most ``_BOLD_MAX`` (bolding every hit made most of it bold)."""
    snippet = flat(record.get("snippet"))
    raw = record.get("_snippet_hits") or ()
    ok = _seq(raw) and all(len(h) == 2 and all(isinstance(n, int) for n in h) for h in raw)
    hits = sorted((a, b) for a, b in raw) if ok else []
    lead = len(snippet) - len(snippet.lstrip())
    if title and snippet[lead:].casefold().startswith(title.casefold()):
        cut = lead + len(title)
        cut += len(snippet[cut:]) - len(snippet[cut:].lstrip(" .:—–-\n"))
        snippet = snippet[cut:]
        hits = [(a - cut, b - cut) for a, b in hits if a >= cut]
    shown: list[tuple[int, int]] = []
    words: set[str] = set()
    for a, b in hits:
        word = snippet[a:b].casefold()
        if word not in words and len(shown) < _BOLD_MAX:
            words.add(word)
            shown.append((a, b))
    return snippet, shown


def _seq(hits: object) -> bool:
    return isinstance(hits, list | tuple) and all(isinstance(h, list | tuple) for h in hits)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _plain(record: Record, first: str) -> str:
    """A text-only message: the given first line (already escaped and cut), then the address unlinked and
    cut; well under ``SLACK_TEXT_BUDGET`` by construction."""
    url = clip(one_line(record.get("url")), _PLAIN_URL_CHARS)
    return f"{first}\n{url}" if url else first


def _digest_line(record: Record) -> str:
    tail = f" — {_label(record.get('source'))} ({_label(record.get('watch'))})"
    budget = SLACK_DIGEST_LINE_MAX - units(tail) - len("• ")
    shown = link_or_text(one_line(record.get("url")), _title(record), budget, SLACK_TITLE_CHARS)
    return f"• {shown}{tail}"


def _plain_line(record: Record) -> str:
    line = f"• {clip(_title(record), SLACK_TITLE_CHARS)} — {_label(record.get('source'))} ({_label(record.get('watch'))})"
    url = clip(one_line(record.get("url")), _PLAIN_URL_CHARS)
    return f"{line} {url}" if url else line


def _pack(lines: Sequence[str]) -> list[list[list[int]]]:
    """Line indexes grouped into sections, sections into messages, within every limit."""
    messages: list[list[list[int]]] = [[]]
    section: list[int] = []
    section_units = message_units = 0
    room = SLACK_MESSAGE_BLOCKS_BUDGET - _HEAD_RESERVE
    for i, line in enumerate(lines):
        size = units(line) + 1  # with its newline
        if section and section_units + size > SLACK_SECTION_TEXT_MAX:
            messages[-1].append(section)
            section, section_units = [], 0
        blocks = 1 + len(messages[-1]) + 1  # heading, closed sections, the open one
        if (section or messages[-1]) and (message_units + size > room or blocks > SLACK_MAX_BLOCKS):
            if section:
                messages[-1].append(section)
            messages.append([])
            section, section_units, message_units = [], 0, 0
        section.append(i)
        section_units += size
        message_units += size
    if section:
        messages[-1].append(section)
    return [m for m in messages if m]


def _chunks(head: str, lines: Sequence[str]) -> tuple[str, ...]:
    """The heading and lines as text-only messages of at most ``SLACK_TEXT_BUDGET`` units each."""
    out: list[str] = []
    current = head
    for line in lines:
        if units(current) + 1 + units(line) > SLACK_TEXT_BUDGET:
            out.append(current)
            current = f"{head} (continued)"
        current += "\n" + line
    out.append(current)
    return tuple(out)
