"""Shared entities and article builders for the matching tests (articles written for these tests)."""

from __future__ import annotations

from newswatch.config import AliasSpec, EntityConfig, WatchConfig
from newswatch.match import Matcher, compile_watches
from newswatch.models import Item

ENTITIES: dict[str, EntityConfig] = {
    "us": EntityConfig(
        name="United States",
        aliases=["United States", "US", "U.S.", "Washington", "White House", "Trump administration"],
        exclude=["Washington Commanders", "Washington state", "Washington Post"],
    ),
    "hamas": EntityConfig(aliases=["Hamas"]),
    "qatar": EntityConfig(aliases=["Qatar", "Doha"]),
    "egypt": EntityConfig(aliases=["Egypt", "Cairo", "Egyptian"]),
    "boehler": EntityConfig(name="Adam Boehler", aliases=["Adam Boehler", "Boehler"], fuzzy=True),
    "un": EntityConfig(name="United Nations", aliases=["UN", "United Nations"]),
    "who": EntityConfig(
        name="World Health Organization", aliases=[AliasSpec(text="WHO", case_sensitive=True)]
    ),
    "apple": EntityConfig(aliases=[AliasSpec(text="apple", case_sensitive=True)]),
    "zurich": EntityConfig(aliases=["Zürich"]),
}


def article(title: str, body: str = "", summary: str = "") -> Item:
    return Item(title=title, url="https://example.org/a", source="test", summary=summary, content=body)


def matcher_for(*queries: str) -> Matcher:
    return compile_watches(ENTITIES, [WatchConfig(name=f"w{i}", query=q) for i, q in enumerate(queries)])


def matches(query: str, item: Item) -> bool:
    return bool(matcher_for(query).match(item))
