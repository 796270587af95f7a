"""Issue 15, matching half: every script is normalised and matched as documented in docs/query-language.md.

The sentences are invented for these tests (short, news-like, in each script).  Property tests check that the
normalisation is idempotent, that Latin-script text is cut into the same words at the same places as by the
tokeniser before this issue (``legacy_text``), and that the fast path agrees with the reference evaluation on
text mixing the scripts.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from newswatch.cli.match import run_match
from newswatch.config import EntityConfig, WatchConfig
from newswatch.match import QuerySyntaxError, compile_watches
from newswatch.match.query import parse
from newswatch.match.snippet import unique_terms
from newswatch.match.text import clean, fold, key_of, prepare, tokenize
from newswatch.models import Item
from tests.match import legacy_text
from tests.match.helpers import article
from tests.match.reference import ReferenceItem

ENTITIES: dict[str, EntityConfig] = {
    "hamas": EntityConfig(
        aliases=["Hamas", "哈马斯", "ハマス", "حماس", "ХАМАС", "ฮามาส", "חמאס"],
        exclude=["哈马斯基金会", "ハマスタ"],
    ),
    "us": EntityConfig(
        name="United States",
        aliases=["US", "U.S.", "United States", "美国", "米国", "الولايات المتحدة", "США"],
    ),
    "athens": EntityConfig(aliases=["Αθήνα"]),
}


def matches(query: str, item: Item) -> bool:
    return bool(compile_watches(ENTITIES, [WatchConfig(name="w", query=query)]).match(item))


CASES: list[tuple[str, str, str, bool]] = [
    # Chinese: aliases inside runs of characters, no word boundary
    ("zh alias in a run", "@hamas", "美国官员与哈马斯在多哈举行直接会谈", True),
    ("zh two entities", "@us AND @hamas", "美国官员与哈马斯在多哈举行直接会谈", True),
    ("zh query word", "会谈", "美国官员与哈马斯在多哈举行直接会谈", True),
    ("zh excluded context", "@hamas", "哈马斯基金会发表年度报告", False),
    ("zh mention beside an excluded one", "@hamas", "哈马斯基金会称哈马斯代表已抵达", True),
    ("zh NEAR counts characters", "美国 NEAR/3 @hamas", "美国官员与哈马斯会谈", True),
    ("zh NEAR too far", "美国 NEAR/2 @hamas", "美国官员与哈马斯会谈", False),
    # Japanese
    ("ja katakana alias among kanji and kana", "@hamas", "米国とハマスが直接協議", True),
    ("ja two entities", "@us AND @hamas", "米国とハマスが直接協議", True),
    ("ja excluded katakana word", "@hamas", "横浜のハマスタで試合", False),
    ("ja voiced kana are letters of their own", "ガス", "カスの問題", False),
    # Thai
    ("th alias in a run", "@hamas", "สหรัฐเจรจากับฮามาสที่โดฮา", True),
    # Arabic
    ("ar harakat removed", "@hamas", "محادثات مباشرة مع حَمَاس", True),
    ("ar conjunction attached", "@hamas", "مع قادة وحماس", True),
    ("ar article and preposition", "@hamas", "بيان للحماس", True),
    ("ar conjunction and article", "@hamas", "والحماس", True),
    ("ar tatweel removed", "@hamas", "وفد حـــماس", True),
    ("ar alef variants", "أحمد", "التقى احمد بالوفد", True),
    ("ar teh marbuta and heh", "مدينة", "زار مدينه غزة", True),
    ("ar alef maksura and yeh", "مستشفى", "قرب مستشفي", True),
    ("ar multi-word alias with a clitic", "@us", "رسالة للولايات المتحدة", True),
    ("ar whole words only", "@hamas", "حماسة الجمهور", False),
    # Hebrew
    ("he points removed", "@hamas", "שיחות עם חֲמָאס", True),
    # Cyrillic: like Latin for case and word boundaries
    ("ru capitals alias", "@hamas", "…переговоры с ХАМАС", True),
    ("ru capitals alias needs capitals", "@hamas", "переговоры с хамас", False),
    ("ru acronym США", "@us", "Посланник США прибыл", True),
    ("ru capitals are no evidence in shouting", "@hamas", "ПЕРЕГОВОРЫ ЛИДЕРОВ С ХАМАС", False),
    ("ru whole words", "переговор", "переговоры идут", False),
    ("ru й is its own letter", "мой", "мои слова", False),
    ("ru ё is е", "ещё", "еще раз", True),
    # Greek: case, accents and final sigma
    ("el capitals and accents", "@athens", "ΣΥΝΟΜΙΛΙΕΣ ΣΤΗΝ ΑΘΗΝΑ", True),
    ("el final sigma", "Αθήνας", "ΔΡΟΜΟΙ ΤΗΣ ΑΘΗΝΑΣ", True),
    # German: ß is ss, both ways
    ("de ß in query finds ss", "Hauptstraße", "Sperrung der Hauptstrasse", True),
    ("de ss in query finds ß", "Hauptstrasse", "Sperrung der Hauptstraße", True),
    ("de capitals", "Hauptstraße", "SPERRUNG DER HAUPTSTRASSE", True),
    ("de capital sharp s", "Hauptstraße", "SPERRUNG DER HAUPTSTRAẞE", True),
    ("de whole words", "Hauptstraße", "Das Hauptstraßenfest", False),
    # Latin traps are unchanged
    ("Hamasaki is not Hamas", "@hamas", "Ayumi Hamasaki announces a tour", False),
]


@pytest.mark.parametrize(("query", "title", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_scripts(query: str, title: str, expected: bool) -> None:
    assert matches(query, article(title)) is expected


@pytest.mark.parametrize(
    ("title", "written"),
    [
        ("محادثات مباشرة مع حَمَاس", "حَمَاس"),
        ("مع قادة وحماس", "وحماس"),
        ("美国官员与哈马斯在多哈举行直接会谈", "哈马斯"),
        ("米国とハマスが直接協議", "ハマス"),
        ("…переговоры с ХАМАС", "ХАМАС"),
        ("שיחות עם חֲמָאס היום", "חֲמָאס"),
        ("Straßensperre: Hamas und die Hauptstraße", "Hamas"),
    ],
)
def test_explained_as_written_with_offsets_into_the_original(title: str, written: str) -> None:
    item = article(title, "Second paragraph.")
    matcher = compile_watches(ENTITIES, [WatchConfig(name="w", query="@hamas")])
    [e] = matcher.explain(item)
    assert e.matched
    [found] = e.terms
    assert found.text == written and found.field == "title"
    # Offsets are into the item's display text (fields cleaned: entities decoded, NFKC, joined by newlines).
    assert f"{clean(title)}\nSecond paragraph."[found.start : found.end] == written
    assert [e.snippet[a:b] for a, b in e.snippet_hits] == [written]
    assert f"**{written}**" in e.format()
    [m] = matcher.match(item)
    assert m.terms == (written,) and m.snippet == e.snippet and m.snippet_hits == e.snippet_hits


def test_offsets_after_a_folded_sharp_s() -> None:
    """ß is two letters in the word stream; positions shown are still those of the text as written."""
    item = article("Die Straße und die Hauptstraße: Umleitung über die Großstraße")
    [m] = compile_watches({}, [WatchConfig(name="w", query="Hauptstrasse OR Grossstrasse")]).match(item)
    assert m.terms == ("Hauptstraße", "Großstraße")
    assert [m.snippet[a:b] for a, b in m.snippet_hits] == ["Hauptstraße", "Großstraße"]


def test_chinese_words_are_characters_for_near_and_positions() -> None:
    [e] = compile_watches(ENTITIES, [WatchConfig(name="w", query="美国 NEAR/1 @hamas")]).explain(
        article("美国官员与哈马斯会谈")
    )
    assert not e.matched
    assert "closest: 3 words apart" in (e.reason or "")
    assert [(t.text, t.word) for t in e.terms] == [("美国", 0), ("哈马斯", 5)]


def test_latin_words_next_to_chinese_are_words() -> None:
    assert matches("iPhone", article("苹果发布iPhone新品"))
    assert matches("@us", article("US官员表示"))


# -- properties ----------------------------------------------------------------------------------------------

MIXED = (
    "abcXYZ ÉéüßẞÆøı İ 0129 .,;:!?-'\"’“—&<>\u00ad\u200b\u00a0"
    "哈马斯美国会谈米国とハマスが协议ฮามาสที่โดฮาحَمَاسوحماسالولاياتـةىإХАМАСхамасйёΑθήναςΣשָׁלוֹםनमस्ते\u0301\u064e"
)
mixed_text = st.text(alphabet=MIXED, max_size=60)


@settings(max_examples=400, deadline=None)
@given(st.one_of(mixed_text, st.text(max_size=40)))
def test_normalisation_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)
    key = key_of(tokenize(text))
    assert key_of(tokenize(key)) == key
    words = tokenize(text, case_evidence=False)
    assert tokenize(" ".join(words), case_evidence=False) == words


# Latin-script news text: ASCII, Latin-1 and Latin Extended-A letters (but ß, the one deliberate change),
# typography, HTML entities and invisible characters.  No stray combining marks: those used to split a word
# and now vanish inside it (a second deliberate change).
LATIN = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789      .,;:!?-'\"()/&"
    "ÀÉÎÕÜàéîõüçñøåæœŒŁłŠšŽžİı’‘“”«»—–\u00a0\u00ad\u200b"
)
latin_words = st.lists(
    st.one_of(
        st.text(alphabet=LATIN, min_size=1, max_size=8),
        st.sampled_from(["U.S.", "Hamas's", "&amp;", "&nbsp;", "O'Brien", "don't", "Ha\u00admas", "HAMAS"]),
    ),
    max_size=12,
).map(" ".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(latin_words, latin_words, latin_words)
def test_latin_text_is_cut_as_before(title: str, summary: str, content: str) -> None:
    for text in (title, summary, content):
        assert tokenize(text, case_evidence=False) == legacy_text.tokenize(text)
    new, old = prepare(title, summary, content), legacy_text.prepare(title, summary, content)
    assert (new.stream, new.lower, new.bounds) == (old.cased, old.lower, old.bounds)
    offset = new.lower.find(" ") + 1
    while 0 < offset < len(new.lower):
        if new.lower[offset] != "\x1f":
            got, before = new.locate_word(offset), old.locate_word(offset)
            fld, start, end, _ = got
            # One deliberate fix: a final "." is shown only after a word with an acronym dot (U.S.), no longer
            # after any word holding an invisible character (Ha&shy;mas.).
            shown_dot_before = before[2] == end + 1 and "." not in new.texts[fld][start:end]
            assert got == before or (shown_dot_before and before[:2] == got[:2])
        offset = new.lower.find(" ", offset) + 1


VOCAB = [
    "哈马斯", "哈马斯基金会", "美国", "会谈", "ハマス", "ハマスタ", "米国", "と", "が", "ฮามาส", "ที่", "حماس", "حَمَاس",
    "وحماس", "الولايات", "المتحدة", "للولايات", "ХАМАС", "Хамас", "США", "переговоры", "ПЕРЕГОВОРЫ", "ЛИДЕРОВ",
    "חֲמָאס", "Hamas", "US", "talks", "TALKS", "HAMAS", "Hauptstraße", "Hauptstrasse", ",", ".", "—",
]  # fmt: skip
LEAVES = [
    "@hamas",
    "@us",
    "会谈",
    "美国",
    "talks",
    "Hauptstraße",
    "переговоры",
    '"美国 会谈"',
    "哈马*",
    "@athens",
]


def _join(words: list[str]) -> str:
    """Words of scripts written without spaces run together; the others are spaced."""
    return "".join(w if "\u0e00" <= w[0] <= "\u0e7f" or w[0] >= "\u3000" else f" {w} " for w in words)


vocab_text = st.lists(st.sampled_from(VOCAB), max_size=12).map(_join)


@st.composite
def queries(draw: st.DrawFn) -> str:
    a, b = draw(st.sampled_from(LEAVES)), draw(st.sampled_from(LEAVES))
    op = draw(st.sampled_from(["AND", "OR", "AND NOT", "NEAR/0", "NEAR/3", ""]))
    return f"{a} {op} {b}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries(), min_size=1, max_size=5), st.lists(st.tuples(vocab_text, vocab_text), max_size=3))
def test_fast_path_agrees_with_reference_in_every_script(
    query_list: list[str], texts: list[tuple[str, str]]
) -> None:
    try:
        for q in query_list:
            parse(q)
    except QuerySyntaxError:
        assume(False)
    watches = [WatchConfig(name=f"w{i}", query=q) for i, q in enumerate(query_list)]
    matcher = compile_watches(ENTITIES, watches)
    for title, body in texts:
        item = article(title, body)
        reference = ReferenceItem(item, ENTITIES)
        expected = [w.name for w in watches if reference.truth(parse(w.query))]
        fast = matcher.match(item)
        assert [m.watch for m in fast] == expected
        slow = [
            (e.watch, unique_terms(list(e.terms)), e.snippet, e.snippet_hits)
            for e in matcher.explain(item)
            if e.matched
        ]
        assert [(m.watch, m.terms, m.snippet, m.snippet_hits) for m in fast] == slow


def test_newswatch_match_explains_other_scripts(tmp_path: Path) -> None:
    config = tmp_path / "watch.yaml"
    config.write_text(
        'entities:\n  hamas: {aliases: ["Hamas", "哈马斯", "حماس"], exclude: ["哈马斯基金会"]}\n'
        "watches:\n  - {name: Hamas, query: '@hamas AND (会谈 OR محادثات OR talks)'}\n",
        encoding="utf-8",
    )
    zh, ar, trap = tmp_path / "zh.txt", tmp_path / "ar.txt", tmp_path / "trap.txt"
    zh.write_text("美国官员与哈马斯在多哈举行直接会谈\n双方讨论了人质问题。\n", encoding="utf-8")
    ar.write_text("محادثات مباشرة مع حَمَاس\nقال مسؤولون إن المحادثات جرت في الدوحة.\n", encoding="utf-8")
    trap.write_text("哈马斯基金会举行会谈\n基金会资助学校。\n", encoding="utf-8")
    out = io.StringIO()
    assert run_match(str(config), [str(zh), str(ar), str(trap)], False, out=out) == 0
    text = out.getvalue()
    assert "snippet: 美国官员与**哈马斯**在多哈举行直接**会谈**" in text
    assert "'حَمَاس' (@hamas) at title word 3" in text
    assert "failed: @hamas" in text and "1 occurrence(s) were inside an excluded phrase" in text
    out = io.StringIO()
    assert run_match(str(config), [str(zh)], True, out=out) == 0
    [report] = json.loads(out.getvalue())
    [verdict] = report["watches"]
    assert [t["text"] for t in verdict["terms"]] == ["哈马斯", "会谈"]
    assert [verdict["snippet"][a:b] for a, b in verdict["snippet_hits"]] == ["哈马斯", "会谈"]
