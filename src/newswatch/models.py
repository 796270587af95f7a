"""Plain data passed between pipeline stages: items, matches and alert records.

Stages exchange these frozen dataclasses and nothing else, so any stage can be tested with hand-built values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Item:
    """One feed entry after normalisation.

    ``keys`` are the identities under which the item is deduplicated: ``guid:<sha256>`` when the feed gave a
    GUID and ``url:<sha256>`` of the canonical URL.  Two sightings sharing any key are the same item.
    """

    title: str
    url: str  # canonical URL (tracking parameters and fragment removed)
    source: str
    summary: str = ""  # plain text
    content: str = ""  # plain text
    guid: str | None = None
    published: datetime | None = None  # UTC; None when the feed gave no usable date
    link: str = ""  # the link exactly as the feed gave it
    feed_url: str = ""
    keys: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """All the text a watch is matched on, in a stable order."""
        return "\n".join(part for part in (self.title, self.summary, self.content) if part)


@dataclass(frozen=True, slots=True)
class Match:
    """One watch that matched one item, with what made it match."""

    watch: str
    terms: tuple[str, ...]  # the matched terms as written in the item, first occurrence order, no repeats
    snippet: str = ""  # plain text around the best hit
    # (start, end) character spans inside ``snippet`` of the hits, for bolding in Slack
    snippet_hits: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Alert:
    """A record for notifiers: one watch, one item, one story.

    ``event`` is ``"alert"`` for the first item of a story and ``"update"`` for later reports of it.
    ``to_record`` gives the JSONL contract: event, watch, story, title, url, source, published, matched, at.
    """

    event: str
    watch: str
    story: str
    item: Item
    match: Match
    at: datetime
    channel: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "event": self.event,
            "watch": self.watch,
            "story": self.story,
            "title": self.item.title,
            "url": self.item.url,
            "source": self.item.source,
            "published": self.item.published.isoformat() if self.item.published else None,
            "matched": list(self.match.terms),
            "at": self.at.isoformat(),
        }
        if self.match.snippet:
            record["snippet"] = self.match.snippet
        record.update(self.extra)
        return record
