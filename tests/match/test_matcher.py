"""What a match carries (terms as written, snippet, hit spans), explanations, presearch and validation."""

from __future__ import annotations

import random

import pytest

from newswatch.config import EntityConfig, WatchConfig
from newswatch.match import QuerySyntaxError, compile_watches, validate_watches
from newswatch.match.explain import bold
from tests.match.helpers import ENTITIES, article, matcher_for

STORY = article(
    "U.S. confirms direct talks with Hamas",
    "The White House said on Thursday that U.S. envoy Adam Boehler held talks with Hamas in Doha. "
    "A Hamas official confirmed the talks and said more meetings with the US were planned.",
)


def test_terms_as_written_in_first_occurrence_order_without_repeats() -> None:
    [m] = matcher_for("@us AND @hamas AND talks").match(STORY)
    assert m.watch == "w0"
    assert m.terms == ("U.S.", "talks", "Hamas", "White House", "US")


def test_snippet_hits_point_at_the_terms() -> None:
    [m] = matcher_for("@boehler NEAR/5 Doha").match(STORY)
    assert {m.snippet[a:b] for a, b in m.snippet_hits} == {"Adam Boehler", "Doha"}
    assert len(m.snippet) <= 300
    assert "\n" not in m.snippet


def test_snippet_is_around_the_best_hit_in_a_long_article() -> None:
    filler = "Markets were calm and traders waited for data. " * 40
    item = article("Daily notes", filler + "Envoy Boehler arrived in Doha for talks. " + filler)
    [m] = matcher_for("@boehler AND @qatar").match(item)
    assert "Boehler" in m.snippet and "Doha" in m.snippet
    assert m.snippet.startswith("…") and m.snippet.endswith("…")
    assert [m.snippet[a:b] for a, b in m.snippet_hits] == ["Boehler", "Doha"]


def test_bold_marks_hits() -> None:
    [m] = matcher_for("@hamas").match(article("Hamas replies"))
    assert bold(m.snippet, m.snippet_hits) == "*Hamas* replies"


def test_match_all_has_no_terms_and_a_leading_snippet() -> None:
    [m] = matcher_for("*").match(article("Quiet day", "Nothing happened."))
    assert m.terms == () and m.snippet.startswith("Quiet day")


def test_only_matching_watches_in_watchlist_order() -> None:
    matcher = matcher_for("hamasaki", "@hamas", "*", "@egypt", "title:talks")
    assert [m.watch for m in matcher.match(STORY)] == ["w1", "w2", "w4"]


def test_explain_a_miss_names_the_failed_clause() -> None:
    trap = article("Hamas told us the talks would go on", "Mediators in Cairo hosted the meeting.")
    [e] = matcher_for("@us AND @hamas AND (talks OR negotiations)").explain(trap)
    assert not e.matched
    assert e.failed_clause == "@us"
    assert "no alias of @us" in (e.reason or "")
    assert [t.text for t in e.terms] == ["Hamas", "talks"]
    assert e.terms[0].field == "title" and e.terms[0].word == 0
    d = e.to_dict()
    assert d["matched"] is False and d["failed_clause"] == "@us" and d["terms"][1]["text"] == "talks"


def test_explain_near_too_far_and_not_and_scope() -> None:
    far = article(
        "Roundup", "The US spoke. " + "Then nothing else of note happened at all. " * 6 + "Hamas met."
    )
    matcher = matcher_for("@us NEAR/5 @hamas", "@hamas NOT @us", "title:@hamas")
    near, neg, scope = matcher.explain(far)
    assert not near.matched and "never within 5 words" in (near.reason or "")
    assert not neg.matched and neg.failed_clause == "NOT @us" and "@us" in (neg.reason or "")
    assert (
        not scope.matched and "in the title" in (scope.reason or "") and "elsewhere" in (scope.reason or "")
    )


def test_explain_a_match_lists_hits_with_positions() -> None:
    [e] = matcher_for("@us AND talks").explain(STORY)
    assert e.matched and e.failed_clause is None
    first = e.terms[0]
    assert (first.text, first.field, first.word, first.start) == ("U.S.", "title", 0, 0)
    assert "U.S." in e.format() and e.format().startswith("MATCH")


def test_excluded_context_is_explained() -> None:
    [e] = matcher_for("@us").explain(article("Washington Commanders sign a new coach"))
    assert not e.matched and "excluded" in (e.reason or "")


def test_unknown_entity_is_a_syntax_error_with_watch_name() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        compile_watches(ENTITIES, [WatchConfig(name="talks", query="@hamas AND @usa")])
    assert info.value.watch == "talks" and info.value.position == 11
    assert "@usa" in info.value.message and "did you mean @us" in info.value.message


def test_presearch_gives_the_same_answers_as_evaluating_every_watch() -> None:
    rng = random.Random(7)
    words = ["talks", "hostages", "Doha", "ceasefire", "envoy", "Cairo", "the", "us", "US", "Hamas", "Qatari"]
    atoms = ["talks", "@us", "@hamas", "@qatar", "@egypt", '"direct talks"', "hostag*", "*", "title:@hamas"]
    queries = []
    for _ in range(150):
        a, b = rng.choice(atoms), rng.choice(atoms)
        op = rng.choice(["AND", "OR", "NOT", "AND NOT", "NEAR/3", "OR NOT"])
        queries.append(f"{a} {op} {b}" if not (op.startswith("NEAR") and "*" in a + b) else a)
    matcher = matcher_for(*queries)
    for _ in range(60):
        item = article(" ".join(rng.choices(words, k=5)), " ".join(rng.choices(words, k=30)))
        fast = {m.watch for m in matcher.match(item)}
        full = {e.watch for e in matcher.explain(item) if e.matched}
        assert fast == full


def test_validate_reports_every_problem() -> None:
    entities = {**ENTITIES, "empty": EntityConfig(aliases=[]), "dashes": EntityConfig(aliases=["--"])}
    watches = [
        WatchConfig(name="ok", query="@us AND @hamas"),
        WatchConfig(name="syntax", query="@us AND (talks"),
        WatchConfig(name="unknown", query="@hamas AND @usa"),
        WatchConfig(name="never", query="NOT *"),
        WatchConfig(name="contradiction", query="talks AND NOT talks"),
        WatchConfig(name="empty entity", query="@empty OR @dashes"),
    ]
    problems = validate_watches(entities, watches)
    text = "\n".join(problems)
    assert "entity 'empty' has no aliases" in text
    assert "entity 'dashes'" in text
    assert "watch 'syntax'" in text and "^" in text
    assert "unknown entity @usa" in text
    assert "watch 'never': query can never match" in text
    assert "watch 'contradiction': query can never match" in text
    assert "watch 'empty entity': query can never match" in text
    assert not any("'ok'" in p for p in problems)
    assert len(problems) == 7


def test_validate_clean_config_is_empty() -> None:
    assert (
        validate_watches(
            ENTITIES, [WatchConfig(name="a", query="@us NEAR/5 @hamas"), WatchConfig(name="b", query="*")]
        )
        == []
    )
