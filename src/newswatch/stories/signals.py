"""Pair signals: the evidence that one item tells the same event as one member of a candidate story.

This module owns the definition of every signal the model weighs (:data:`SIGNALS`, in order, with the sign
its weight is constrained to: :data:`SIGNS`) and the **content floor** (:meth:`ItemSignals.content`): a report
is compared with a member only if it shares real content with it: informative terms worth ``params.min_shared``
(a word counts 1, a name half, numbers and years nothing), one of them a word, and a text or title cosine of
``params.min_cosine``.
Names, numbers, years, time and near-duplicate bands only refine a comparison that passed the floor: none of
them can carry a join alone, whatever the weights.

It runs for every member of every candidate of every item, so each signal is a C-level ``map``/``sum`` over the
item's few terms against the member's dicts; item-side totals are computed once per item.
"""

from __future__ import annotations

import math
from itertools import compress, repeat
from operator import mul

from newswatch.stories.params import StoryParams
from newswatch.stories.profile import ItemProfile
from newswatch.stories.record import Member, band_digests

__all__ = ["SIGNALS", "SIGNS", "ItemSignals"]

SIGNALS: tuple[str, ...] = (
    "body",  # cosine of the item's TF-IDF vector and the member's
    "title",  # cosine of the item's title and the member's
    "shared",  # log(1 + informative terms shared with the member, names counting half): how much content
    "rare_share",  # share of the item's rarest informative terms the member has too: the same specifics
    "name_share",  # share of the item's name information the member mentions too (0 unless both name someone)
    "name_clash",  # both name someone and share no name: look-alike events of other people
    "lead_clash",  # each one's most telling name is missing from the other: the same kind of event, someone else
    "number_share",  # share of the item's number information the member mentions (both mention numbers)
    "number_clash",  # both mention numbers and share none
    "year_clash",  # both mention years and share none: look-alike events of different years
    "close",  # 1 - hours between the two publication times / 24, down to 0; 0 when either time is unknown
    "dup",  # share of the item's LSH bands the member has too: a syndicated or retitled copy of it
)
# The sign each weight is constrained to when fitted: evidence can only add, clashes and distance only take
# away.  So more shared content never lowers the probability of a join, whatever the training data was.
SIGNS: tuple[int, ...] = (1, 1, 1, 1, 1, -1, -1, 1, -1, -1, 1, 1)


RARE = 6  # the item's rarest informative terms that ``rare_share`` looks for
CLOSE_S = 24 * 3600.0  # reports further apart than this are not "close" at all


def _dot(terms: tuple[str, ...], weights: tuple[float, ...], other: dict[str, float]) -> float:
    total: float = sum(map(mul, weights, map(other.get, terms, repeat(0.0))))
    return total


class ItemSignals:
    """Signals of one item against any number of story members (item-side sums computed once)."""

    __slots__ = (
        "band_digests",
        "bands",
        "evidence",
        "item",
        "min_cosine",
        "min_shared",
        "name_keys",
        "name_set",
        "name_total",
        "name_weights",
        "number_keys",
        "number_total",
        "number_weights",
        "years",
    )

    def __init__(self, item: ItemProfile, params: StoryParams) -> None:
        self.item = item
        self.bands = float(params.bands)
        self.band_digests = band_digests(item.bands)
        self.min_shared = params.min_shared
        self.min_cosine = params.min_cosine
        self.evidence = item.evidence
        self.name_keys = tuple(n for n, _ in item.names)
        self.name_weights = tuple(w for _, w in item.names)
        self.name_total = math.fsum(self.name_weights)
        self.name_set = frozenset(self.name_keys)
        self.number_keys = tuple(n for n, _ in item.numbers)
        self.number_weights = tuple(w for _, w in item.numbers)
        self.number_total = math.fsum(self.number_weights)
        self.years = frozenset(item.years)

    def content(self, member: Member) -> tuple[float, float, float, float] | None:
        """(body cosine, title cosine, shared informative terms, share of the rarest shared) with ``member``,
        or None below the content floor (never joined, not scored)."""
        shared = 0.0
        words = rare = 0
        body, title = member.body, member.title
        for n, (term, credit) in enumerate(self.evidence):
            if term in body or term in title:
                shared += credit
                words += credit == 1.0
                rare += n < RARE
        if shared < self.min_shared or not words:
            return None
        it = self.item
        b = _dot(it.body_terms, it.body_weights, body)
        t = _dot(it.title_terms, it.title_weights, title) if title else 0.0
        if b < self.min_cosine and t < self.min_cosine:
            return None
        return b, t, shared, rare / min(RARE, len(self.evidence))

    def __call__(self, member: Member) -> list[float] | None:
        """The values of :data:`SIGNALS`, in order, for this item against ``member``; None below the content
        floor."""
        content = self.content(member)
        if content is None:
            return None
        body, title, shared, rare = content
        name_share = name_clash = lead_clash = 0.0
        names = member.names
        if self.name_total > 0.0 and names:
            hit = sum(compress(self.name_weights, map(names.__contains__, self.name_keys)))
            name_share = hit / self.name_total
            name_clash = float(hit == 0.0)
            # Members keep names heaviest first: the first is the member's most telling one.
            lead_clash = float(self.name_keys[0] not in names and next(iter(names)) not in self.name_set)
        number_share = number_clash = 0.0
        numbers = member.numbers
        if self.number_total > 0.0 and numbers:
            hit = sum(compress(self.number_weights, map(numbers.__contains__, self.number_keys)))
            number_share = hit / self.number_total
            number_clash = float(hit == 0.0)
        year_clash = float(bool(self.years and member.years) and self.years.isdisjoint(member.years))
        # Time can only add evidence: reports hours apart are likelier one event than a day apart, and an unknown
        # time (an undated feed) is no evidence either way.
        close = 0.0
        pub = self.item.published
        if pub is not None and member.published is not None:
            close = max(0.0, 1.0 - abs(pub - member.published) / CLOSE_S)
        return [
            body,
            title,
            math.log1p(shared),
            rare,
            name_share,
            name_clash,
            lead_clash,
            number_share,
            number_clash,
            year_clash,
            close,
            sum(map(str.__eq__, self.band_digests, member.bands)) / self.bands,
        ]

    def shared_with(self, member: Member) -> tuple[list[str], list[str]]:
        """The informative words and the names this item shares with ``member`` (for explanations)."""
        words = [t for t, c in self.evidence if c >= 1.0 and (t in member.body or t in member.title)]
        names = [n for n in self.name_keys if n in member.names]
        return words, names
