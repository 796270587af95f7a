"""From word-stream hits back to the item's text: terms as written, their positions, and the snippet.

Owns the display side of a match.  Hits are mapped to the cleaned text of their field (title, summary,
content), then to the item's combined text (the fields joined by newlines, as in ``Item.text``), and the
snippet is the window of about :data:`SNIPPET_CHARS` characters holding the most distinct hits.  Every step is
linear in the hits up to a sort; the matcher caps the hits it passes here (``MAX_SHOWN_HITS``).
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass

from newswatch.constants import SNIPPET_CHARS
from newswatch.match.engine import Span
from newswatch.match.text import FIELDS, Prepared

ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Found:
    """One occurrence of a query term, as written in the item."""

    text: str  # as written ("U.S.", "Hamas")
    clause: str  # the query term it satisfies ("@us", "talks")
    field: str  # title, summary or content
    start: int  # character offset in the item's combined text (title, summary, content joined by "\n")
    end: int
    word: int  # word index within the field, from 0

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "clause": self.clause,
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "word": self.word,
        }


class Display:
    """The item's combined text and the mapping of stream spans into it."""

    def __init__(self, prep: Prepared) -> None:
        self.prep = prep
        self.bases: list[int] = []
        parts: list[str] = []
        offset = 0
        for text in prep.texts:
            self.bases.append(offset)
            if text:
                parts.append(text)
                offset += len(text) + 1
        self.text = "\n".join(parts)

    def locate(self, span: Span, clause: str) -> Found:
        prep = self.prep
        f, a, b, word = prep.locate_word(span[0])
        last = prep.lower.rfind(" ", span[0], span[1])  # the space before a phrase's last word, if any
        if last >= 0:
            f_end, _, b, _ = prep.locate_word(last + 1)
            if f_end != f:  # cannot happen for a single term (the field separator breaks phrases); be safe
                b = len(prep.texts[f])
        base = self.bases[f]
        return Found(prep.texts[f][a:b], clause, FIELDS[f], base + a, base + b, word)


def unique_terms(found: list[Found]) -> tuple[str, ...]:
    """Terms as written, in first-occurrence order, without repeats."""
    if len(found) == 1:
        return (found[0].text,)
    return tuple(dict.fromkeys(f.text for f in sorted(found, key=lambda f: f.start)))


def make_snippet(
    text: str, hits: list[Found], width: int = SNIPPET_CHARS
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """About ``width`` characters of ``text`` around the densest group of hits, and the hits' spans in it."""
    if not text:
        return "", ()
    ordered = sorted(hits, key=lambda h: (h.start, h.end)) if len(hits) > 1 else hits
    if not ordered:
        start, end = 0, min(len(text), width)
    elif len(ordered) == 1:  # the common case, without the search below (its result for one hit)
        lead, group_end = ordered[0].start, ordered[0].end
        start = max(0, lead - max(0, width - (group_end - lead)) // 3)
        end = min(len(text), max(start + width, group_end))
    else:
        best, best_score = _densest(ordered, width)
        lead = ordered[best].start
        group_end = max(o.end for o in ordered[best:] if o.end <= lead + width) if best_score > 0 else lead
        group_end = max(group_end, ordered[best].end)
        start = max(0, lead - max(0, width - (group_end - lead)) // 3)
        end = min(len(text), max(start + width, group_end))
    start, end = _snap(text, start, end, ordered)
    body = text[start:end]
    for ch in "\n\r\t":
        body = body.replace(ch, " ")
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(text) else ""
    shift = len(prefix) - start
    spans = tuple((h.start + shift, h.end + shift) for h in ordered if h.start >= start and h.end <= end)
    return prefix + body + suffix, spans


def _densest(ordered: list[Found], width: int) -> tuple[int, int]:
    """(index, score) of the first hit ``i`` whose window holds the most distinct terms: the hits from ``i`` on
    that end within ``width`` characters of its start, counted by their lower-cased text.

    One sweep: as ``i`` moves right its window's limit only grows, so each hit enters the window once (when
    the limit reaches its end; a heap orders the hits already started by their ends) and leaves it once.
    """
    words = [h.text.lower() for h in ordered]
    counts: Counter[str] = Counter()
    inside = [False] * len(ordered)
    pending: list[tuple[int, int]] = []  # (end, index) of hits started within the limit, not yet inside
    nxt = 0  # next hit to consider by start
    best, best_score = 0, -1
    for i, h in enumerate(ordered):
        if i and inside[i - 1]:
            counts[words[i - 1]] -= 1
            if not counts[words[i - 1]]:
                del counts[words[i - 1]]
        limit = h.start + width
        while nxt < len(ordered) and ordered[nxt].start <= limit:  # a hit ends after it starts
            heapq.heappush(pending, (ordered[nxt].end, nxt))
            nxt += 1
        while pending and pending[0][0] <= limit:
            _, j = heapq.heappop(pending)
            if j >= i:  # a hit left behind never counts again
                inside[j] = True
                counts[words[j]] += 1
        if len(counts) > best_score:
            best, best_score = i, len(counts)
    return best, best_score


def _snap(text: str, start: int, end: int, hits: list[Found]) -> tuple[int, int]:
    """Move the window edges to word boundaries without cutting a hit."""
    first_hit = min((h.start for h in hits if h.start >= start), default=end)
    if start > 0 and not text[start - 1].isspace():
        space = text.find(" ", start, first_hit)
        if space >= 0:
            start = space + 1
    last_hit = max((h.end for h in hits if h.end <= end), default=start)
    if end < len(text) and not text[end].isspace():
        space = text.rfind(" ", max(start, last_hit), end)
        if space > start:
            end = space
    return start, end
