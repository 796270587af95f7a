"""The fast path (presearch, compiled closures, lazy spans, per-hit positions) against reference evaluations.

Three views of the same watches must agree on generated items and queries: ``Matcher.match`` (the fast path),
``Matcher.explain`` (every watch through ``Evaluation``, the engine's reference semantics) and
``tests.match.reference`` (token lists and a recursive tree walk, no automaton at all).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from newswatch.config import WatchConfig
from newswatch.match import QuerySyntaxError, compile_watches
from newswatch.match import matcher as matcher_module
from newswatch.match.query import parse
from newswatch.match.snippet import unique_terms
from newswatch.models import Item
from tests.match.helpers import ENTITIES, article
from tests.match.reference import ReferenceItem

# Words chosen to hit every rule: aliases in several spellings and cases, excluded contexts, fuzzy spellings,
# possessives, compounds, acronyms with dots, look-alikes, diacritics, HTML entities, curly quotes, dashes,
# invisible characters, and filler.
VOCAB = [
    "talks", "Talks", "TALKS", "direct", "hostages", "hostage", "negotiators", "renegotiate", "envoy", "Doha",
    "Cairo", "Egyptian", "the", "us", "US", "U.S.", "U.S", "US-Hamas", "U.S.–backed", "Hamas", "Hamas's",
    "Hamas’", "Hamasaki", "Qatar", "Qatari", "Washington", "Commanders", "state", "Boehler", "Bohler",
    "Boehlers", "Adam", "United", "States", "Nations", "UN", "un", "WHO", "who", "apple", "Apple", "Zürich",
    "zurich", "Trump", "administration", "&amp;", "&nbsp;", "—", "–", "“direct", "talks”", ",", ".", ";",
    "\u00a0", "Ha\u00admas", "\u200bHamas", "x\u200b", "O'Brien", "don't", "it's", "x", "said", "and",
]  # fmt: skip
LEAVES = [
    "talks", "direct", "hostages", "envoy", "Doha", "us", "x", '"direct talks"', '"United States"',
    '"talks direct"', "hostag*", "negotiat*", "US-Ha*", "@us", "@hamas", "@qatar", "@egypt", "@boehler", "@un",
    "@who", "@apple", "@zurich",
]  # fmt: skip
FIELD_NAMES = ["title", "summary", "content"]

words = st.lists(st.sampled_from(VOCAB), max_size=25).map(" ".join)
items = st.builds(
    lambda t, s, c: Item(title=t, url="u", source="s", summary=s, content=c), words, words, words
)


def _query(draw: st.DrawFn, depth: int, positional: bool) -> str:
    """A query string; ``positional`` restricts it to what NEAR accepts on a side."""
    choices = ["leaf", "or", "near"] if positional else ["leaf", "all", "and", "or", "not", "near", "scope"]
    kind = draw(st.sampled_from(choices)) if depth > 0 else "leaf"
    if kind == "leaf":
        return draw(st.sampled_from(LEAVES))
    if kind == "all":
        return "*"
    if kind == "not":
        return f"(NOT {_query(draw, depth - 1, False)})"
    if kind == "scope":
        return f"{draw(st.sampled_from(FIELD_NAMES))}:({_query(draw, depth - 1, False)})"
    if kind == "near":
        n = draw(st.integers(0, 6))
        return f"({_query(draw, depth - 1, True)} NEAR/{n} {_query(draw, depth - 1, True)})"
    op = " AND " if kind == "and" else " OR "
    parts = [_query(draw, depth - 1, positional) for _ in range(draw(st.integers(2, 3)))]
    return "(" + op.join(parts) + ")"


@st.composite
def queries(draw: st.DrawFn) -> str:
    return _query(draw, draw(st.integers(0, 3)), False)


def _match_names(queries_: list[str], item_list: list[Item]) -> None:
    watches = [WatchConfig(name=f"w{i}", query=q) for i, q in enumerate(queries_)]
    matcher = compile_watches(ENTITIES, watches)
    for item in item_list:
        fast = matcher.match(item)
        explained = matcher.explain(item)
        reference = ReferenceItem(item, ENTITIES)
        expected = [w.name for w in watches if reference.truth(parse(w.query))]
        assert [m.watch for m in fast] == expected, (item, queries_)
        # Same watches, terms, snippet and hit spans as the slow path that evaluates every watch.
        slow = [
            (e.watch, unique_terms(list(e.terms)), e.snippet, e.snippet_hits) for e in explained if e.matched
        ]
        assert [(m.watch, m.terms, m.snippet, m.snippet_hits) for m in fast] == slow


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries(), min_size=1, max_size=6), st.lists(items, min_size=1, max_size=4))
def test_fast_path_agrees_with_reference_evaluations(query_list: list[str], item_list: list[Item]) -> None:
    try:
        for q in query_list:
            parse(q)
    except QuerySyntaxError:
        assume(False)
    _match_names(query_list, item_list)


@pytest.mark.parametrize("seed", [1, 2])
def test_agreement_survives_replanning(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Triggers re-chosen from observed frequencies (every few items here) never change the answers."""
    monkeypatch.setattr(matcher_module, "FIRST_REPLAN", 3)
    monkeypatch.setattr(matcher_module, "REPLAN_GROWTH", 2)
    rng = random.Random(seed)
    query_list: list[str] = []
    while len(query_list) < 40:
        a, b = rng.choice(LEAVES), rng.choice(LEAVES)
        op = rng.choice(["AND", "OR", "AND NOT", "NEAR/3", ""])
        q = f"{a} {op} {b}"
        try:
            parse(q)
        except QuerySyntaxError:
            continue
        query_list.append(q)
    item_list = [
        article(" ".join(rng.choices(VOCAB, k=6)), " ".join(rng.choices(VOCAB, k=40))) for _ in range(80)
    ]
    _match_names(query_list, item_list)


def test_positions_of_hits_in_long_and_tricky_text() -> None:
    """Per-hit positions (found by counting letters, not by listing words) land on the words as written."""
    filler = "Markets, again — “calm”;  traders waited.  " * 30
    item = article(
        "U.S.  envoy\u00a0meets Ha\u00admas",
        filler + "Then U.S. envoy Adam Boehler's team met \u200bHamas’ leaders in Zürich.",
        summary="Nothing \u200b here; x\u200b y.",
    )
    [m] = compile_watches(
        ENTITIES, [WatchConfig(name="w", query="@us AND @hamas AND @boehler AND @zurich")]
    ).match(item)
    assert m.terms == ("U.S.", "Ha\u00admas", "Adam Boehler", "\u200bHamas", "Zürich")
    assert {m.snippet[a:b] for a, b in m.snippet_hits} >= {"U.S.", "Adam Boehler", "\u200bHamas", "Zürich"}
