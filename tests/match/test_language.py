"""Table-driven cases for every construct of the watch language, on short articles written for the tests."""

from __future__ import annotations

import pytest

from newswatch.models import Item
from tests.match.helpers import article, matches

TALKS = article(
    "US envoy held direct talks with Hamas in Doha",
    "The White House confirmed on Wednesday that envoy Adam Boehler met Hamas officials in Qatar to discuss "
    "the release of American hostages held in Gaza. Negotiators described the meeting as constructive.",
)
PRONOUN = article(
    "Hamas told us the ceasefire would hold",
    "Speaking to us by phone, a Hamas official said talks with the mediators were continuing.",
)
CAIRO = article(
    "Hamas delegation in Cairo for ceasefire talks",
    "Egyptian mediators hosted Hamas negotiators on Sunday; no other country took part in the talks.",
)
HAMASAKI = article(
    "Ayumi Hamasaki announces a new tour", "The singer Hamasaki will play twelve dates next spring."
)
FILLER = " ".join(["the", "harvest", "festival", "drew", "large", "crowds", "again"] * 6)  # 42 words
FAR = article(
    "Regional roundup", f"The US announced new tariffs. {FILLER} Separately, Hamas leaders met in Gaza."
)
CLOSE = article("Regional roundup", "Officials in the US said that Hamas had replied to the proposal.")
QATARI = article("Qatari airline expands routes", "The Qatari carrier adds four flights to Asia.")
COMMANDERS = article("Washington Commanders win in overtime", "The Washington Commanders beat Dallas 27-24.")
STATE = article("Wildfires in Washington state", "Crews in Washington state contained two fires.")
POSSESSIVE = article("Hamas's spokesman responds", "Hamas’ leaders and Boehler's team exchanged notes.")
COMPOUND = article("US-Hamas contacts confirmed", "A U.S.–backed plan was discussed.")
ZURICH = article("Banks in Zürich report profits", "Analysts in Zurich expected less.")
ENTITIES_HTML = article("Talks resume", "Hamas &amp; the US&nbsp;negotiators met.")
CURLY = article("“Direct talks” confirmed", "Officials called them “direct talks”.")
SUMMARY_ONLY = Item(title="Markets rally", url="u", source="s", summary="Qatar announced a fund.", content="")
NEGOTIATE = article("Negotiators return", "The sides will renegotiate the terms.")


CASES: list[tuple[str, str, Item, bool]] = [
    # bare words: whole word, case-insensitive
    ("word", "hostages", TALKS, True),
    ("word case-insensitive", "HOSTAGES", TALKS, True),
    ("word whole-word only", "host", TALKS, False),
    ("word Hamasaki is not Hamas", "hamas", HAMASAKI, False),
    ("word finds Hamasaki itself", "hamasaki", HAMASAKI, True),
    # phrases
    ("phrase", '"direct talks"', TALKS, True),
    ("phrase order matters", '"talks direct"', TALKS, False),
    ("phrase with curly quotes in query and text", "“direct talks”", CURLY, True),
    ("phrase across words only", '"held direct"', TALKS, True),
    # prefix
    ("prefix from word start", "negotiat*", NEGOTIATE, True),
    ("prefix not inside a word", "negotiat*", article("They will renegotiate"), False),
    ("prefix at end of phrase", "US-Ha*", COMPOUND, True),
    # entities and case rules
    ("entity", "@hamas", TALKS, True),
    ("entity capitalised alias", "@us", TALKS, True),
    ("pronoun us is not the US", "@us", PRONOUN, False),
    ("lower-case alias matches any case", "@us", article("united states sends aid"), True),
    ("capitalised alias written with dots", "@us", article("The U.S. responded"), True),
    ("UN acronym needs capitals", "@un", article("It was un-American to say so"), False),
    ("UN acronym in capitals", "@un", article("The UN agency warned"), True),
    ("case override keeps WHO exact", "@who", article("Who said that?"), False),
    ("case override WHO in capitals", "@who", article("The WHO declared an emergency"), True),
    ("case override lower-case alias", "@apple", article("Apple shares fell"), False),
    ("Qatari is not Qatar", "@qatar", QATARI, False),
    ("Qatar alias Doha", "@qatar", TALKS, True),
    ("Washington Commanders excluded", "@us", COMMANDERS, False),
    ("Washington state excluded", "@us", STATE, False),
    (
        "Washington outside exclude counts",
        "@us",
        article("Washington warned Hamas", "Washington state was calm"),
        True,
    ),
    ("fuzzy finds Bohler", "@boehler", article("Envoy Bohler speaks"), True),
    ("fuzzy finds Adam Bohler phrase", "@boehler", article("Adam Boehlr spoke"), True),
    ("fuzzy not two edits", "@boehler", article("Envoy Bhler speaks"), False),
    ("no fuzzy without opt-in", "@hamas", article("Hamaz statement"), False),
    ("diacritic-insensitive entity", "@zurich", ZURICH, True),
    ("diacritic-insensitive word", "zurich", article("Banks in Zürich"), True),
    ("diacritic in query", "zürich", article("Banks in Zurich"), True),
    # boolean operators
    ("AND", "@us AND @hamas", TALKS, True),
    ("AND needs both", "@us AND @hamas", CAIRO, False),
    ("adjacency is AND", "@us @hamas talks", TALKS, True),
    ("adjacency is AND (miss)", "@us @hamas talks", PRONOUN, False),
    ("OR", "@egypt OR @qatar", CAIRO, True),
    ("OR neither", "@egypt OR @qatar", HAMASAKI, False),
    ("NOT", "@hamas NOT @egypt", TALKS, True),
    ("NOT excludes", "@hamas AND NOT @egypt", CAIRO, False),
    ("parentheses", "@us AND @hamas AND (talks OR negotiations)", TALKS, True),
    ("parentheses miss", "@us AND @hamas AND (talks OR negotiations)", CAIRO, False),
    ("precedence: AND before OR", "hamasaki OR @us AND @hamas", CAIRO, False),
    ("precedence: OR alternative", "hamasaki OR @us AND @hamas", HAMASAKI, True),
    ("the guide's watch on the pronoun trap", "@us AND @hamas AND (talks OR negotiations)", PRONOUN, False),
    # NEAR
    ("NEAR within", "@us NEAR/5 @hamas", CLOSE, True),
    ("NEAR either order", "@hamas NEAR/5 @us", CLOSE, True),
    ("NEAR 40 words away", "@us NEAR/10 @hamas", FAR, False),
    ("NEAR large distance", "@us NEAR/60 @hamas", FAR, True),
    ("NEAR exact distance boundary", "officials NEAR/2 said", CLOSE, False),
    ("NEAR distance counts words between", "officials NEAR/4 said", CLOSE, True),
    ("NEAR with phrase", '"White House" NEAR/3 confirmed', TALKS, True),
    ("NEAR with OR group", "(talks OR negotiations) NEAR/3 @hamas", TALKS, True),
    ("bare NEAR is NEAR/10", "@us NEAR @hamas", FAR, False),
    # field scopes
    ("title scope", "title:@hamas", TALKS, True),
    ("title scope miss", "title:hostages", TALKS, False),
    ("content scope", "content:hostages", TALKS, True),
    ("summary scope", "summary:@qatar", SUMMARY_ONLY, True),
    ("title scope group", "title:(envoy AND talks)", TALKS, True),
    ("title scope group miss", "title:(envoy AND hostages)", TALKS, False),
    ("phrase does not run from title into body", '"Doha the"', TALKS, False),
    # match-all
    ("star", "*", HAMASAKI, True),
    ("star with NOT", "* NOT @hamas", HAMASAKI, True),
    ("star with NOT excludes", "* NOT @hamas", TALKS, False),
    # tokenisation of news text
    ("possessive 's", '"Hamas spokesman"', POSSESSIVE, True),
    ("possessive curly apostrophe", '"Hamas leaders"', POSSESSIVE, True),
    ("possessive on fuzzy entity", "@boehler", POSSESSIVE, True),
    ("hyphen compound", "@us NEAR/0 @hamas", COMPOUND, True),
    ("dash compound with dotted acronym", '"U.S. backed"', COMPOUND, True),
    ("hyphenated query word", "US-Hamas", COMPOUND, True),
    ("HTML entities and nbsp", '"US negotiators"', ENTITIES_HTML, True),
]


@pytest.mark.parametrize(("query", "item", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_query_against_article(query: str, item: Item, expected: bool) -> None:
    assert matches(query, item) is expected
