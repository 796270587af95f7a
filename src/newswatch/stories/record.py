"""Story records: what a store keeps of one story, and how a story takes in an item.

This module owns :class:`StoryRecord`, its JSON form and the pure update rules.  A story is compared with its
**members**, not with a summary of everything it took in: it keeps its first report and its latest ones (at most
``params.members``, each a bounded profile), so a story that grew large pulls no harder than a small one (a
union of hundreds of reports would share something with anything), and a story that moved on is found by its
latest reports.  A record is a few KB of plain data, read several times per item, so it decodes with one
``json.loads``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from newswatch import constants as C
from newswatch.stories.params import StoryParams
from newswatch.stories.profile import ItemProfile

__all__ = ["FORMAT", "Member", "StoryRecord", "band_digests", "decoded"]

FORMAT = "m2"  # the first field of a record's JSON: records of another format are no candidates


@dataclass(frozen=True, slots=True)
class Member:
    """One report of a story, as later reports are compared with it.

    ``body``/``title``: its heaviest TF-IDF terms with their normalised weights (as weighed when it was placed);
    ``names``/``numbers``: key -> information; ``years``; ``published``: epoch seconds or None; ``bands``: a
    short digest of each of its LSH bands, in band order (a near-duplicate of this member shares many).
    """

    body: dict[str, float]
    title: dict[str, float]
    names: dict[str, float]
    numbers: dict[str, float]
    years: tuple[str, ...]
    published: float | None
    bands: tuple[str, ...] = ()

    @classmethod
    def of(cls, item: ItemProfile, params: StoryParams) -> Member:
        k = params.member_terms
        return cls(
            body=dict(zip(item.body_terms[:k], item.body_weights[:k], strict=True)),
            title=dict(zip(item.title_terms, item.title_weights, strict=True)),
            names=dict(item.names),
            numbers=dict(item.numbers),
            years=item.years,
            published=item.published,
            bands=band_digests(item.bands),
        )

    def to_list(self) -> list[Any]:
        return [
            self.body,
            self.title,
            self.names,
            self.numbers,
            list(self.years),
            self.published,
            list(self.bands),
        ]

    @classmethod
    def from_list(cls, raw: list[Any]) -> Member:
        body, title, names, numbers, years, published, bands = raw
        return cls(body, title, names, numbers, tuple(years), published, tuple(bands))


def band_digests(bands: tuple[str, ...]) -> tuple[str, ...]:
    """Short digests of band keys (``"<band>:<hex>"``), in band order: 32 bits of each band are plenty to tell
    whether two items share it, and keep a member small."""
    return tuple(key.partition(":")[2][:8] for key in bands)


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """One story of one watch.

    ``first``/``latest``: the span of its members' times (publication time, else the time they were placed);
    ``pub_first``/``pub_latest``: the span of the publication times alone (None when no member had a date);
    ``size``: reports taken in; ``members``: the first report, then the latest ones, oldest first; ``title`` and
    ``url``: of the report that opened it (what a "possibly related" alert points at).
    """

    story_id: str
    first: float
    latest: float
    pub_first: float | None
    pub_latest: float | None
    size: int
    members: tuple[Member, ...]
    title: str = ""
    url: str = ""

    def in_window(self, at: float, window_s: float) -> bool:
        return self.first - window_s <= at <= self.latest + window_s

    def index_terms(self, k: int) -> list[str]:
        """The terms the store posts the story under: its members' heaviest body terms (weights summed over
        members, ties alphabetical).  Retrieval only: a candidate is judged by its members."""
        total: dict[str, float] = {}
        for m in self.members:
            for t, w in m.body.items():
                if not t[
                    0
                ].isdigit():  # numbers and years find too many stories (see ItemProfile.query_terms)
                    total[t] = total.get(t, 0.0) + w
        return [t for t, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]

    @classmethod
    def new(
        cls,
        story_id: str,
        item: ItemProfile,
        at: float,
        params: StoryParams,
        *,
        title: str = "",
        url: str = "",
    ) -> StoryRecord:
        """A story opened by ``item`` at time ``at`` (``title``/``url``: the report's, for later mentions)."""
        pub = item.published
        return cls(story_id, at, at, pub, pub, 1, (Member.of(item, params),), title[:300], url[:2000])

    def absorb(self, item: ItemProfile, at: float, params: StoryParams) -> StoryRecord:
        """This story after ``item`` joined it at time ``at``; pure.  The first member stays; the latest
        ``params.members - 1`` others are kept."""
        keep = params.members - 1
        latest = (*self.members[1:], Member.of(item, params))[-keep:] if keep else ()
        pub = item.published
        return StoryRecord(
            story_id=self.story_id,
            first=min(self.first, at),
            latest=max(self.latest, at),
            pub_first=pub if self.pub_first is None else self.pub_first if pub is None else min(self.pub_first, pub),
            pub_latest=pub if self.pub_latest is None else self.pub_latest if pub is None else max(self.pub_latest, pub),
            size=self.size + 1,
            members=(self.members[0], *latest),
            title=self.title,
            url=self.url,
        )  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(
            [FORMAT, self.story_id, self.first, self.latest, self.pub_first, self.pub_latest, self.size,
             self.title, self.url, [m.to_list() for m in self.members]],
            separators=(",", ":"), ensure_ascii=False,
        )  # fmt: skip

    @classmethod
    def from_json(cls, raw: str | bytes) -> StoryRecord:
        fields = json.loads(raw)
        if not isinstance(fields, list) or len(fields) != 10 or fields[0] != FORMAT:
            raise ValueError("not a story record of this format")
        _, sid, first, latest, pub_first, pub_latest, size, title, url, members = fields
        return cls(
            sid, first, latest, pub_first, pub_latest, size, tuple(map(Member.from_list, members)), title, url
        )


@functools.lru_cache(maxsize=C.STORY_RECORD_CACHE)
def decoded(raw: str) -> StoryRecord:
    """:meth:`StoryRecord.from_json`, remembered for the most recently read records.

    Decoding is a large part of placing an item (several records of a few KB per item), and a busy watch's
    stories are read again by item after item until one of them joins: an unchanged record is then decoded once.
    Records are never changed in place (:meth:`StoryRecord.absorb` builds a new one), so sharing them is safe.
    """
    return StoryRecord.from_json(raw)
