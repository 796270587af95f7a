"""Watch filters: which items a watch considers at all, before its query is asked (``languages``, ``sources``,
``exclude_sources``).

Owns compiling a watch's filter keys once (:func:`compile_filter`) and testing an item against them
(:meth:`WatchFilter.refuse`), with the one-line reason ``match`` and ``why`` show.  A source is a feed's name
(the item's ``source``, compared without case) or a domain (the item's link on that domain or a subdomain of
it, ``www.`` ignored).  The language is the item's detected language (:func:`detect_language`, fastText), asked
for at most once per item and only when a watch with ``languages`` would otherwise match it: it costs ~30 µs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from newswatch.config import WatchConfig
from newswatch.models import Item
from newswatch.shared.language import detect_language

__all__ = ["NO_FILTER", "ItemFacts", "WatchFilter", "compile_filter"]


@dataclass(frozen=True, slots=True)
class WatchFilter:
    languages: frozenset[str] = frozenset()
    sources: tuple[str, ...] = ()  # casefolded
    exclude: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.languages or self.sources or self.exclude)

    def refuse(self, facts: ItemFacts) -> str | None:
        """None when the item passes; else why it is kept out, in one line (for ``match`` and ``why``)."""
        if self.exclude and (hit := _source_hit(self.exclude, facts)):
            return f"exclude_sources: the item is from {hit}"
        if self.sources and not _source_hit(self.sources, facts):
            return f"sources: {facts.describe_source()} is not among {', '.join(self.sources)}"
        if self.languages:
            lang = facts.language()
            if lang not in self.languages:
                what = f"in {lang!r}" if lang else "in no language the detector is sure of"
                return f"languages: the item is {what}, not {', '.join(sorted(self.languages))}"
        return None

    def describe(self) -> str:
        """The filter as written, for a miss's "failed" column."""
        parts = []
        if self.languages:
            parts.append(f"languages: [{', '.join(sorted(self.languages))}]")
        if self.sources:
            parts.append(f"sources: [{', '.join(self.sources)}]")
        if self.exclude:
            parts.append(f"exclude_sources: [{', '.join(self.exclude)}]")
        return "; ".join(parts)


NO_FILTER = WatchFilter()


def compile_filter(watch: WatchConfig) -> WatchFilter:
    return WatchFilter(
        frozenset(watch.languages),
        tuple(_norm(s) for s in watch.sources),
        tuple(_norm(s) for s in watch.exclude_sources),
    )


class ItemFacts:
    """What filters read of one item, each worked out once and only when asked (the language above all)."""

    __slots__ = ("_detect", "_lang", "domain", "item", "source")

    def __init__(self, item: Item, detect: Callable[[str], str] = detect_language) -> None:
        self.item = item
        self.source = _norm(item.source)
        self.domain = _domain(item.url or item.link)
        self._detect = detect
        self._lang: str | None = None

    def language(self) -> str:
        if self._lang is None:
            self._lang = self._detect(self.item.text)
        return self._lang

    def describe_source(self) -> str:
        where = f" on {self.domain}" if self.domain else ""
        return f"feed {self.item.source!r}{where}"


def _source_hit(sources: Sequence[str], facts: ItemFacts) -> str | None:
    """The item's feed name or link domain among ``sources``, said as it is; None when neither is."""
    for s in sources:
        if s == facts.source:
            return f"feed {facts.item.source!r}"
        if facts.domain and (facts.domain == s or facts.domain.endswith("." + s)):
            return f"a link on {facts.domain}"
    return None


def _norm(source: str) -> str:
    s = " ".join(source.split()).casefold()
    return s.removeprefix("www.")


def _domain(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")
