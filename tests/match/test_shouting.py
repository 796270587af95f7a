"""Issue 11 point 11: in all-caps text the case of an acronym alias is no evidence (match/shouting.py)."""

from __future__ import annotations

import pytest

from newswatch.config import AliasSpec, EntityConfig, WatchConfig
from newswatch.match import compile_watches
from newswatch.match.shouting import shouting_runs
from newswatch.match.text import fold
from newswatch.models import Item
from tests.match.helpers import ENTITIES, article, matches

CASES: list[tuple[str, str, Item, bool]] = [
    ("all-caps headline", "@us", article("HAMAS TOLD US TO WAIT"), False),
    ("the same headline names Hamas", "@hamas", article("HAMAS TOLD US TO WAIT"), True),
    ("the run ends at a colon", "@us", article("'HAMAS TOLD US TO WAIT': Gaza traders lose patience"), False),
    ("dotted acronym still counts", "@us", article("HAMAS TOLD U.S. ENVOY TO WAIT"), True),
    ("normal case unchanged", "@us", article("Hamas told the US envoy to wait"), True),
    ("pronoun in normal case unchanged", "@us", article("Hamas told us to wait"), False),
    ("a list of acronyms is not shouting", "@us", article("US, UK, EU and NATO agree on aid"), True),
    ("three acronyms, one long word", "@us", article("NATO AND US sign"), True),
    ("a spaced dash ends a dateline", "@us", article("Talks", "KUALA LUMPUR — US officials said"), True),
    (
        "a line break ends a heading",
        "@us",
        article("Talks", "BREAKING NEWS TONIGHT\nUS officials said"),
        True,
    ),
    (
        "a sentence end ends the run",
        "@us",
        article("Talks", "THE MARKETS FELL SHARPLY. US officials said"),
        True,
    ),
    (
        "shouting in the body too",
        "@us",
        article("Statement", "THE TALKS WITH US ARE OVER, HAMAS SAID"),
        False,
    ),
    (
        "the body counts when the title shouts",
        "@us",
        article("HAMAS TOLD US TO WAIT", "The US envoy left."),
        True,
    ),
    ("fields never run together", "@us", article("HAMAS AND FATAH MEET", "US envoy attends"), True),
    ("case-insensitive alias still matches", "@us", article("HAMAS TOLD UNITED STATES TO WAIT"), True),
    ("WHO in an all-caps headline", "@who", article("WHO WARNS OF FAMINE IN GAZA"), False),
    ("WHO in a normal headline", "@who", article("WHO warns of famine in Gaza"), True),
]


@pytest.mark.parametrize(("query", "item", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_shouting(query: str, item: Item, expected: bool) -> None:
    assert matches(query, item) is expected


def test_case_insensitive_by_config_matches_in_shouting() -> None:
    entities = {"us": EntityConfig(aliases=[AliasSpec(text="US", case_sensitive=False)])}
    matcher = compile_watches(entities, [WatchConfig(name="w", query="@us")])
    assert matcher.match(article("HAMAS TOLD US TO WAIT"))


def test_a_miss_in_shouting_is_explained() -> None:
    [e] = compile_watches(ENTITIES, [WatchConfig(name="w", query="@us AND @hamas")]).explain(
        article("HAMAS TOLD US TO WAIT")
    )
    assert not e.matched and e.failed_clause == "@us"
    assert [t.text for t in e.terms] == ["HAMAS"]


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("HAMAS TOLD US TO WAIT", ["HAMAS TOLD US TO WAIT"]),
        ("'HAMAS TOLD US': traders", ["HAMAS TOLD US"]),
        ("HAMAS TOLD U.S. ENVOY", ["HAMAS TOLD U.S. ENVOY"]),
        ("IN 2025, HAMAS TOLD US", ["IN 2025, HAMAS TOLD US"]),
        ("US-HAMAS TALKS RESUME", ["US-HAMAS TALKS RESUME"]),
        ("McDONALD AND HAMAS TOLD", ["AND HAMAS TOLD"]),
        ("US UK EU", []),
        ("The US and the UN", []),
        ("ПЕРЕГОВОРЫ ЛИДЕРОВ С ХАМАС", ["ПЕРЕГОВОРЫ ЛИДЕРОВ С ХАМАС"]),
        ("ΣΥΝΟΜΙΛΙΕΣ ΣΤΗΝ ΑΘΗΝΑ", ["ΣΥΝΟΜΙΛΙΕΣ ΣΤΗΝ ΑΘΗΝΑ"]),
        ("GAZA CITY — US ENVOY", []),
    ],
)
def test_shouting_runs(text: str, runs: list[str]) -> None:
    folded = fold(text)
    assert [folded[a:b] for a, b in shouting_runs(folded)] == [fold(r) for r in runs]
