"""Plain data passed between pipeline stages: items, matches and alert records.

Stages exchange these frozen dataclasses and nothing else, so any stage can be tested with hand-built values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Item:
    """One feed entry after normalisation.

    ``keys`` are the identities under which the item is deduplicated: ``guid:<sha256>`` of the feed and the GUID
    when the feed gave one (a GUID is unique only within its feed) and ``url:<sha256>`` of the canonical URL.
    Two sightings sharing any key are the same item.
    """

    title: str
    url: str  # canonical http(s) URL (tracking parameters and fragment removed), or "" when there is none
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


def feed_key(feed_url: str) -> str:
    """The id a button carries for a feed (never the URL itself): short and stable."""
    return "f-" + hashlib.sha256(feed_url.encode()).hexdigest()[:16]
