"""The parser: syntax errors point at the right place, and arbitrary input never crashes it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newswatch.match import QuerySyntaxError
from newswatch.match.query import And, EntityRef, Near, Not, Or, Scope, Term, parse

ERRORS: list[tuple[str, int, str]] = [
    ("@us AND (talks OR", 17, "expected a term after OR"),
    ("@us AND (talks OR deal", 8, "missing ')'"),
    ("talks)", 5, "unbalanced ')'"),
    ('"direct talks', 0, "unterminated phrase"),
    ('talks ""', 6, "empty phrase"),
    ("", 0, "empty query"),
    ("   ", 0, "empty query"),
    ("()", 0, "empty parentheses"),
    ("@", 1, "entity name"),
    ("AND talks", 0, "expected a term before AND"),
    ("talks AND", 9, "expected a term after AND"),
    ("NOT", 3, "expected a term after NOT"),
    ("neg*tiate", 3, "can only end a word"),
    ("a*", 1, "at least 2 letters"),
    ("talks NEAR/x @us", 6, "NEAR/5"),
    ("(a AND b) NEAR/3 c", 0, "NEAR needs"),
    ("a NEAR/3 NOT b", 9, "NOT cannot stand here"),
    ("headline:talks", 0, "unknown field 'headline'"),
    ("(" * 100 + "a" + ")" * 100, 64, "nested"),
]


@pytest.mark.parametrize(("query", "position", "message"), ERRORS, ids=[e[0] or "blank" for e in ERRORS])
def test_syntax_errors_have_position_and_message(query: str, position: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse(query)
    err = info.value
    assert message in err.message
    assert err.position == position
    assert err.query == query


def test_render_puts_caret_under_position() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse("@us AND (talks OR deal")
    lines = info.value.render().splitlines()
    assert len(lines) == 3
    query_line, caret_line = lines[1], lines[2]
    assert query_line.endswith("@us AND (talks OR deal")
    col = caret_line.index("^")
    assert query_line[col] == "("


PARSES: list[tuple[str, object]] = [
    ("talks", Term("word", "talks")),
    ('"direct talks"', Term("phrase", "direct talks")),
    ("negotiat*", Term("prefix", "negotiat")),
    ("@us", EntityRef("us")),
    ("a b", And((Term("word", "a"), Term("word", "b")))),
    ("a OR b c", Or((Term("word", "a"), And((Term("word", "b"), Term("word", "c")))))),
    ("NOT a b", And((Not(Term("word", "a")), Term("word", "b")))),
    ("a NEAR/3 b", Near(Term("word", "a"), Term("word", "b"), 3)),
    ("title:(a OR b)", Scope("title", Or((Term("word", "a"), Term("word", "b"))))),
    ("title: @us", Scope("title", EntityRef("us"))),
    ("and or", And((Term("word", "and"), Term("word", "or")))),  # operators are upper case only
    ("NEARBY", Term("word", "NEARBY")),
    ("10:30", Term("word", "10:30")),
]


@pytest.mark.parametrize(("query", "tree"), PARSES, ids=[p[0] for p in PARSES])
def test_parse_tree(query: str, tree: object) -> None:
    assert parse(query) == tree


_alphabet = st.sampled_from([*"abcUS @*\"“()/:-_.'\n\t", "AND", "OR", "NOT", "NEAR", "NEAR/3", "title:"])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(_alphabet, max_size=30).map(" ".join)))
def test_parser_never_crashes(query: str) -> None:
    try:
        parse(query)
    except QuerySyntaxError as err:
        assert err.message
        assert 0 <= err.position <= len(query)
        assert "^" in err.render()
