"""Slack mrkdwn that stays valid when cut: escaping, lengths as Slack counts them, safe truncation, links.

Owns the rules every piece of text from a feed obeys on its way into a Slack message:

- ``&``, ``<`` and ``>`` are escaped (Slack's three control characters), so a feed can never ping
  ``<!channel>``, mention a user or forge a link;
- lengths are counted in UTF-16 code units, the stricter reading of Slack's "characters";
- text is cut only between whole characters of the *source* text, so never inside an ``&amp;`` entity,
  never between a character and the combining mark or joiner that follows it, and never inside a
  ``<url|label>`` link (a link is whole or absent); "…" marks every cut;
- only ``http://`` and ``https://`` URLs become links; a URL that is anything else (``javascript:``,
  ``file:``, ``data:``, relative), that holds characters which break link syntax, or that is too long to be
  a link is shown as plain escaped text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from newswatch.constants import SLACK_LINK_URL_MAX

ELLIPSIS = "…"
_ESCAPED = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s+")
_LINE_BREAKS = re.compile("[\r\n\t\v\f\x1c-\x1e\x85\u2028\u2029]")
# Whitespace and control characters end a link early or split it; < and > would end it.
_LINK_BREAKERS = re.compile(r"[\s\x00-\x1f\x7f-\x9f<>]")
_LINK_SCHEME = re.compile(r"https?://[^/?#]", re.IGNORECASE)
_JOINERS = frozenset("\u200d\ufe0e\ufe0f")  # zero-width joiner, text/emoji variation selectors
_WORD_BACKOFF = 20  # a cut moves back to a space at most this many characters earlier
_MIN_LABEL = 8  # a link keeps at least this much of its label, or is shown as text
_TEXT_URL_MAX = 500  # an address shown as text is cut here: it cannot be followed anyway, only recognised


def units(text: str) -> int:
    """Length as Slack may count it: UTF-16 code units (a character outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean(value: object) -> str:
    """Any record field as text; lone surrogates (which no encoder accepts) become U+FFFD."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return _LONE_SURROGATE.sub("\ufffd", text)


def one_line(value: object) -> str:
    """A field shown on one line (title, source, watch): runs of whitespace become one space."""
    return _WHITESPACE.sub(" ", clean(value)).strip()


def flat(value: object) -> str:
    """Line breaks and tabs as spaces, one for one, so character offsets into the text still hold."""
    return _LINE_BREAKS.sub(" ", clean(value))


def escape(text: str) -> str:
    """Slack's three control characters, as its docs require for any text we did not write."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, budget: int, marks: Iterable[Sequence[int]] = (), mark: str = "*") -> str:
    """``text`` escaped, in at most ``budget`` units: whole when it fits, else cut at a safe point with "…".

    ``marks`` are spans of ``text`` to wrap in ``mark`` (the bold hits of a snippet); a span the cut goes
    through is closed at the cut, a span after it is dropped.
    """
    text = clean(text)
    spans = _spans(marks, len(text))
    whole = _render(text, spans, len(text), mark)
    if units(whole) <= budget:
        return whole
    if budget < units(ELLIPSIS):
        return ""
    room = budget - units(ELLIPSIS)
    cost, k, s = 0, 0, 0
    while k < len(text):
        ch = text[k]
        step = len(_ESCAPED.get(ch, ch)) + (ord(ch) > 0xFFFF)
        if s < len(spans) and spans[s][0] == k:
            step += 2 * len(mark)  # the span opens here; its closing mark is paid for now too
        if cost + step > room:
            break
        cost += step
        k += 1
        if s < len(spans) and k >= spans[s][1]:
            s += 1
    # Moving the cut earlier only lowers the cost, so the result still fits.
    while k > 0 and (_binds_left(text[k]) or text[k - 1] == "\u200d"):
        k -= 1
    space = text.rfind(" ", max(0, k - _WORD_BACKOFF), k + 1)
    if space > 0:
        k = space
    while k > 0 and text[k - 1].isspace():
        k -= 1
    return _render(text, spans, k, mark) + ELLIPSIS


def link_url(url: str) -> str | None:
    """``url`` as it goes inside ``<…|label>``, or None when it cannot be a link: not http(s), holding
    characters that break link syntax, or longer than ``SLACK_LINK_URL_MAX`` once escaped."""
    url = clean(url).strip()
    if not _LINK_SCHEME.match(url) or _LINK_BREAKERS.search(url):
        return None
    # `|` would end the URL part of the link; in a URL it is just an unusual character, so encode it.
    safe = escape(url).replace("|", "%7C")
    return safe if units(safe) <= SLACK_LINK_URL_MAX else None


def link(url: str, label: str, budget: int, label_max: int) -> str | None:
    """``<url|label>`` in at most ``budget`` units with the label cut to fit (and to ``label_max``); None
    when the URL cannot be a link or leaves no room for a readable label."""
    safe = link_url(url)
    if safe is None:
        return None
    room = min(budget - units(safe) - len("<|>"), label_max)
    shown = clip(one_line(label) or clean(url), room)
    if room < _MIN_LABEL or not shown:
        return None
    return f"<{safe}|{shown}>"


def link_or_text(url: str, label: str, budget: int, label_max: int) -> str:
    """A link when the URL can be one within ``budget``; otherwise the label and the address as plain
    escaped text (cut to fit), so the reader still sees what it was and where."""
    linked = link(url, label, budget, label_max)
    if linked is not None:
        return linked
    label, url = one_line(label), one_line(url)
    shown = clip(label or url, min(budget, label_max))
    if not url or url == label:
        return shown
    rest = min(budget - units(shown) - len(" · "), _TEXT_URL_MAX)
    return f"{shown} · {clip(url, rest)}" if rest > _MIN_LABEL else shown


def _binds_left(ch: str) -> bool:
    """A character that belongs to the one before it: a combining mark or a joiner."""
    return ch in _JOINERS or unicodedata.combining(ch) != 0


def _spans(marks: Iterable[Sequence[int]], size: int) -> list[tuple[int, int]]:
    """Sorted, non-overlapping, non-empty spans within ``[0, size)``; malformed ones are dropped."""
    clean_spans: list[tuple[int, int]] = []
    for span in marks:
        try:
            start, end = max(0, int(span[0])), min(size, int(span[1]))
        except (TypeError, ValueError, IndexError):
            continue
        if end > start:
            clean_spans.append((start, end))
    out: list[tuple[int, int]] = []
    for start, end in sorted(clean_spans):
        if not out or start >= out[-1][1]:
            out.append((start, end))
    return out


def _render(text: str, spans: Sequence[tuple[int, int]], end: int, mark: str) -> str:
    """``text[:end]`` escaped, with each span (cut at ``end``) wrapped in ``mark``."""
    out: list[str] = []
    pos = 0
    for start, stop in spans:
        if start >= end:
            break
        stop = min(stop, end)
        out.append(escape(text[pos:start]))
        out.append(f"{mark}{escape(text[start:stop])}{mark}")
        pos = stop
    out.append(escape(text[pos:end]))
    return "".join(out)
