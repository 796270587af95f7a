"""Issue 11 point 2: an item repeating its terms thousands of times is matched exactly, and shown capped.

No timing here (benchmarks/bench_big_item.py measures): these tests pin what a huge item returns, and check the
linear algorithms (NEAR, exclusions, the snippet window) against straightforward definitions.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newswatch.config import EntityConfig, WatchConfig
from newswatch.constants import MAX_SHOWN_HITS, MAX_SHOWN_HITS_PER_CLAUSE
from newswatch.match import compile_watches
from newswatch.match.near import gap, merged, nearest_gaps, outermost
from newswatch.match.snippet import Found, _snap, make_snippet
from tests.match.helpers import article

SENTENCE = "Zarquon and Hamas held talks. "
BIG = article("Weekly digest", SENTENCE * 20000)  # 600 KB, 100,000 words


def test_big_item_matches_with_capped_terms_snippet_and_explanation() -> None:
    watches = [
        WatchConfig(name="talks", query="Zarquon AND (talks OR Hamas)"),
        WatchConfig(name="near", query="Zarquon NEAR/1 Hamas"),
        WatchConfig(name="too far", query="Zarquon NEAR/0 Hamas"),
        WatchConfig(name="excluded", query="Zarquon AND NOT Hamas"),
    ]
    matcher = compile_watches({}, watches)
    matches = {m.watch: m for m in matcher.match(BIG)}
    # Truth is computed over every occurrence: unchanged by the caps.
    assert set(matches) == {"talks", "near"}
    m = matches["talks"]
    assert m.terms == ("Zarquon", "Hamas", "talks")
    assert 0 < len(m.snippet_hits) <= MAX_SHOWN_HITS
    assert len(m.snippet) <= 300
    assert {m.snippet[a:b] for a, b in m.snippet_hits} == {"Zarquon", "Hamas", "talks"}

    explained = {e.watch: e for e in matcher.explain(BIG)}
    e = explained["talks"]
    assert e.matched
    by_clause: dict[str, int] = {}
    for t in e.terms:
        by_clause[t.clause] = by_clause.get(t.clause, 0) + 1
    # 20,000 occurrences of each clause; the first MAX_SHOWN_HITS_PER_CLAUSE of each are shown, in text order.
    assert by_clause == dict.fromkeys(("Zarquon", "talks", "Hamas"), MAX_SHOWN_HITS_PER_CLAUSE)
    assert [t.start for t in e.terms] == sorted(t.start for t in e.terms)
    assert e.terms[0].word == 0 and e.terms[-1].end <= len("Weekly digest\n") + 50 * len(SENTENCE)
    # A miss on the huge item is explained with the real closest distance, computed over every pair.
    assert not explained["too far"].matched
    assert "closest: 1 words apart" in (explained["too far"].reason or "")
    assert len(explained["excluded"].terms) <= MAX_SHOWN_HITS


def test_caps_count_clauses_not_just_terms() -> None:
    """Two clauses naming the same word are capped separately; the watch's total is capped too."""
    text = " ".join(f"alpha{i % 7} beta" for i in range(2000))
    item = article("t", text)
    query = "(alpha0 OR alpha1 OR alpha2 OR alpha3 OR alpha4 OR alpha5 OR alpha6) AND beta"
    [m] = compile_watches({}, [WatchConfig(name="w", query=query)]).match(item)
    assert m.terms == ("alpha0", "beta", "alpha1", "alpha2", "alpha3", "alpha4", "alpha5", "alpha6")
    [e] = compile_watches({}, [WatchConfig(name="w", query=query)]).explain(item)
    assert len(e.terms) == MAX_SHOWN_HITS
    assert sum(t.clause == "beta" for t in e.terms) == MAX_SHOWN_HITS_PER_CLAUSE


def test_many_excluded_contexts_veto_each_occurrence() -> None:
    entities = {"us": EntityConfig(aliases=["Washington"], exclude=["Washington Commanders"])}
    text = "Washington Commanders won. " * 3000
    watches = [WatchConfig(name="w", query="@us")]
    assert compile_watches(entities, watches).match(article("Sport", text)) == []
    [m] = compile_watches(entities, watches).match(article("Sport", text + "Washington replied."))
    assert m.terms == ("Washington",)
    [e] = compile_watches(entities, watches).explain(article("Sport", text))
    assert "3000 occurrence(s) were inside an excluded phrase" in (e.reason or "")


def test_nested_near_on_a_long_item() -> None:
    body = "alpha gamma beta filler filler filler " * 3000 + "delta alpha beta"
    watches = [
        WatchConfig(name="nested", query="(alpha NEAR/1 beta) NEAR/0 delta"),
        WatchConfig(name="nested miss", query="(alpha NEAR/0 gamma) NEAR/0 delta"),
    ]
    matcher = compile_watches({}, watches)
    assert [m.watch for m in matcher.match(article("t", body))] == ["nested"]
    assert [e.watch for e in matcher.explain(article("t", body)) if e.matched] == ["nested"]


# -- the linear algorithms against their definitions ----------------------------------------------------------

spans = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 3)).map(lambda t: (t[0], t[0] + t[1])), max_size=8
)


@settings(max_examples=300, deadline=None)
@given(spans, spans, st.integers(0, 6))
def test_near_agrees_with_testing_every_pair(
    left: list[tuple[int, int]], right: list[tuple[int, int]], d: int
) -> None:
    every = {(min(a[0], b[0]), max(a[1], b[1])) for a in left for b in right if gap(a, b) <= d}
    assert merged(left, right, d) == outermost(sorted(every))
    for subject, nearest in zip(left, nearest_gaps(left, right), strict=True):
        assert nearest == min((gap(subject, b) for b in right), default=None)


def snippet_by_definition(
    text: str, hits: list[Found], width: int
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """make_snippet as first written (quadratic): for each hit, count the distinct terms of the hits from it on
    that end within ``width`` characters of its start; the first best hit leads the window."""
    ordered = sorted(hits, key=lambda h: (h.start, h.end))
    best, best_score = 0, -1
    for i, h in enumerate(ordered):
        inside = {o.text.lower() for o in ordered[i:] if o.end <= h.start + width}
        if len(inside) > best_score:
            best, best_score = i, len(inside)
    lead = ordered[best].start
    group_end = max(o.end for o in ordered[best:] if o.end <= lead + width) if best_score > 0 else lead
    group_end = max(group_end, ordered[best].end)
    start = max(0, lead - max(0, width - (group_end - lead)) // 3)
    end = min(len(text), max(start + width, group_end))
    start, end = _snap(text, start, end, ordered)
    body = text[start:end].replace("\n", " ")
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - start
    shown = tuple((h.start + shift, h.end + shift) for h in ordered if h.start >= start and h.end <= end)
    return prefix + body + suffix, shown


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab cd\n", min_size=1, max_size=300),
    st.lists(st.tuples(st.integers(0, 299), st.integers(1, 25)), min_size=2, max_size=12),
    st.sampled_from([5, 20, 60, 280]),
)
def test_snippet_window_is_the_densest_by_definition(
    text: str, raw: list[tuple[int, int]], width: int
) -> None:
    hits = []
    for start, length in raw:
        start = min(start, len(text) - 1)
        end = min(len(text), start + length)
        hits.append(Found(text[start:end], "c", "content", start, end, 0))
    assert make_snippet(text, hits, width) == snippet_by_definition(text, hits, width)


def test_big_all_caps_item() -> None:
    """600 KB of shouting: US is no evidence there, U.S. with its dots is, on every one of 25,000 lines."""
    entities = {"us": EntityConfig(aliases=["US", "U.S."])}
    watches = [WatchConfig(name="w", query="@us NEAR/2 zarquon")]
    assert compile_watches(entities, watches).match(article("Wire", "ZARQUON HAMAS TOLD US " * 27000)) == []
    [m] = compile_watches(entities, watches).match(article("Wire", "ZARQUON HAMAS TOLD U.S. " * 25000))
    assert m.terms == ("ZARQUON", "U.S.")
    assert 0 < len(m.snippet_hits) <= MAX_SHOWN_HITS
