"""The story decision's pure pieces, on articles written for the project (invented outlets and events):
profiles, the content floor and signals, records, the decision, its wording, and the weights file."""

from __future__ import annotations

import json
import math
import pickle
import re
import subprocess
import sys
from dataclasses import asdict, replace
from datetime import timedelta

import pytest

from newswatch.models import Item
from newswatch.stories import (
    SIGNALS,
    BatchStories,
    Candidate,
    Decision,
    DocFreq,
    ItemProfile,
    StoryModel,
    StoryParams,
    StoryRecord,
    StoryView,
    decide,
    default_model,
    details,
    reason,
    weigh,
)
from newswatch.stories.lexicon import plain_terms
from newswatch.stories.model import logit
from newswatch.stories.profile import weigh_in_watch
from newswatch.stories.record import Member
from newswatch.stories.signals import SIGNS, ItemSignals
from newswatch.stories.sketch import item_profile, sketch
from newswatch.stories.tokens import NAME, PLAIN, selection_terms
from tests.stories.items import CAIRO, COPY, DF, RELEASE, REWRITE, T0, TALKS, P, background, model


def signals_of(item: ItemProfile, story: StoryRecord) -> dict[str, float]:
    """Every signal of ``item`` against the story's first member (which must pass the content floor)."""
    values = ItemSignals(item, P)(story.members[0])
    assert values is not None, "below the content floor"
    return dict(zip(SIGNALS, values, strict=True))


def hits(a: ItemProfile, b: ItemProfile) -> int:
    return len(set(a.bands) & set(b.bands))


def text(title: str, content: str) -> Item:
    return Item(title=title, url="https://x.example/" + title[:10], source="X", content=content)


# --------------------------------------------------------------------------------------------- profiles


def test_profile_is_deterministic_and_picklable() -> None:
    df = background(TALKS, COPY, CAIRO)
    a, b = item_profile(TALKS, df, P), item_profile(TALKS, df, P)
    assert a == b
    assert pickle.loads(pickle.dumps(a)) == a
    assert math.isclose(sum(w * w for w in a.body_weights), 1.0, rel_tol=1e-3)
    assert a.published == T0.timestamp() and a.lang == "en"


def test_names_are_kept_whole_and_headline_capitals_are_not_names() -> None:
    item = Item(
        title="Port Workers Strike Over Pay In Coastal City",
        url="https://x.example/1",
        source="X",
        content="Dockers led by Amara Okonkwo walked out at Port Halden on Monday, the NDU union said.",
    )
    prof = item_profile(item, None, P)
    names = {n for n, _ in prof.names}
    assert {"amara", "okonkwo", "halden", "NDU"} <= names  # an acronym keeps its capitals
    # Title Case headline words are not names ("Workers", "Strike" are not people or places).
    assert not names & {"workers", "strike", "pay", "coastal"}
    assert "dockers" not in names  # capitalised only as the first word of a sentence


def test_a_capitalised_word_its_language_uses_commonly_is_not_a_name() -> None:
    sk = sketch(
        text("t", "The minister said the Government would publish the Budget in London next week."), P
    )
    kinds = dict(zip(sk.terms, sk.kinds, strict=True))
    (government,) = plain_terms(["government"], "en")  # a plain word is stemmed, a name is not
    assert kinds[government] == PLAIN  # as common as "government" is: a capitalised common noun
    assert kinds["budget"] == NAME  # rarer: still a name when capitalised mid-sentence


def test_german_capitals_are_no_names() -> None:
    sk = sketch(
        text(
            "Bundesregierung beschließt Haushalt",
            "Die Bundesregierung hat am Mittwoch den Haushalt für das kommende Jahr beschlossen. Der "
            "Finanzminister Karl Brenner sprach von einem soliden Plan für die Wirtschaft.",
        ),
        P,
    )
    assert sk.lang == "de"
    assert NAME not in sk.kinds  # every German noun is capitalised: a capital proves nothing there
    function = ["die", "der", "das", "für"]
    # The language's function words are no terms, in any form ("für" would be stemmed to "fur").
    assert {*function, *plain_terms(function, "de")}.isdisjoint(sk.terms)


def test_each_language_loses_its_own_function_words() -> None:
    pt = text(
        "Governo aprova orçamento",
        "O Governo aprovou ontem o orçamento para o próximo ano, disse o ministro das Finanças em Lisboa. "
        "A oposição votou contra a proposta.",
    )
    sk = sketch(pt, P)
    assert sk.lang == "pt"
    function = ["o", "a", "para", "das", "em"]
    assert {*function, *plain_terms(function, "pt")}.isdisjoint(sk.terms)  # "para" would be stemmed to "par"
    assert {"orçament", "oposiçã", "vot"} <= set(sk.terms)  # Portuguese Snowball stems: "votou" -> "vot"
    # Every term has its prior in that language: common words are known from the first item.
    prior = dict(zip(sk.terms, sk.prior, strict=True))
    assert prior["govern"] > P.informative > prior["orçament"] > 0.0


def test_french_elided_function_words_are_no_content() -> None:
    prof = item_profile(
        text(
            "Motion de censure rejetée",
            "La motion de censure d'un groupe de l'opposition n'est pas passée à l'Assemblée nationale, "
            "qu'elle a rejetée mardi soir.",
        ),
        None,
        P,
    )
    assert prof.lang == "fr"
    assert not [t for t, _ in prof.evidence if "'" in t]


def test_matched_entities_join_the_names_under_their_id() -> None:
    prof = item_profile(TALKS, None, P, entities=["us", "hamas"])
    names = dict(prof.names)
    assert "entity:us" in names and "entity:hamas" in names
    assert "entity:us" in prof.terms  # so the caller counts their document frequency


def test_a_huge_item_is_profiled_from_its_first_characters_only() -> None:
    filler = " ".join(f"Word{i} paragraph text." for i in range(100_000))  # about 2.3 MB
    huge = replace(TALKS, content=TALKS.content + "\n" + filler)
    cut = replace(huge, content=huge.content[: P.max_chars])
    assert len(huge.content) > 50 * P.max_chars
    assert item_profile(huge, None, P) == item_profile(cut, None, P)


def test_years_and_numbers_are_kept_apart_and_are_never_content() -> None:
    prof = item_profile(text("t", "In 2013 the vote drew 288 candidates for 125 seats."), None, P)
    assert prof.years == ("2013",)
    assert {n for n, _ in prof.numbers} == {"288", "125"}
    assert {"2013", "288", "125"}.isdisjoint(t for t, _ in prof.evidence)


def test_evidence_is_informative_terms_words_counting_one_and_names_half() -> None:
    prof = item_profile(TALKS, None, P)
    credit = dict(prof.evidence)
    assert credit["boehler"] == 0.5 and credit["hamas"] == 0.5  # names
    assert credit["envoy"] == 1.0 and credit["captiv"] == 1.0  # words, stemmed ("captives" -> "captiv")
    # Common words are not informative, on a fresh store as on a seasoned one (in the form the item has them).
    common = plain_terms(["white", "house", "government", "official", "week"], "en")
    assert {"hous", "offici"} <= set(common) and set(common).isdisjoint(credit)


def test_a_weekday_is_no_content() -> None:
    days = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
    prof = item_profile(
        text("Ferry timetable", f"The ferry sails on {', '.join(days[:-1])} and {days[-1]} from the quay."),
        None,
        P,
    )
    weekdays = {d.lower() for d in days} | set(plain_terms([d.lower() for d in days], "en")) | set(days)
    assert not [t for t, _ in prof.evidence if t in weekdays]
    assert set(plain_terms(["ferry", "quay"], "en")) <= {t for t, _ in prof.evidence}  # the rest still counts


def test_a_fresh_store_weighs_with_the_prior_and_the_stream_takes_over() -> None:
    sk = sketch(TALKS, P)
    fresh = weigh(sk, None, P)
    assert fresh == weigh(sk, DocFreq(), P)  # nothing learned: the prior alone
    assert "boehler" in dict(fresh.evidence)
    # A week in which every report named Boehler: the stream has taught that the name tells nothing.
    seasoned = DF()
    seasoned.add(("boehler",), 5000)
    learned = weigh(sk, seasoned, P)
    assert "boehler" not in dict(learned.evidence)
    assert dict(learned.names)["boehler"] < dict(fresh.names)["boehler"]


def test_a_name_in_most_reports_weighs_little() -> None:
    """A head of state mentioned by most reports: the shared name is worth little information and is no evidence
    of one event; a rare name is both (learned from document frequency, not a boost)."""
    flood = text(
        "Floods hit the north", "President Varga visited Brennmoor, where the river Oste broke its banks."
    )
    common, rare = DF(), DF()
    for df, n_varga in ((common, 900), (rare, 1)):
        df.add(("varga",), n_varga)
        df.add(("brennmoor", "oste"), 1)
        df.n_docs = 1000
    on_common, on_rare = item_profile(flood, common, P), item_profile(flood, rare, P)
    assert dict(on_common.names)["varga"] < 0.5 * dict(on_rare.names)["varga"]
    assert "varga" not in dict(on_common.evidence) and "varga" in dict(on_rare.evidence)


# --------------------------------------------------------------------------------------------- signals


def test_syndicated_copy_scores_as_near_duplicate() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, copy = item_profile(TALKS, df, P), item_profile(COPY, df, P)
    story = StoryRecord.new("talks", talks, T0.timestamp(), P)
    s = signals_of(copy, story)
    assert s["dup"] >= 0.5
    assert s["body"] > 0.8 and s["name_share"] > 0.8


def test_hamas_cairo_trap_is_below_the_content_floor() -> None:
    """The same group, the word "talks", Gaza: but no informative word in common with the Doha talks."""
    df = background(TALKS, COPY, CAIRO)
    talks, cairo = item_profile(TALKS, df, P), item_profile(CAIRO, df, P)
    story = StoryRecord.new("talks", talks, T0.timestamp(), P)
    assert ItemSignals(cairo, P).content(story.members[0]) is None
    assert ItemSignals(item_profile(COPY, df, P), P).content(story.members[0]) is not None


def test_a_rewrite_shares_content_and_names_but_no_bands() -> None:
    talks, rewrite = item_profile(TALKS, None, P), item_profile(REWRITE, None, P)
    s = signals_of(rewrite, StoryRecord.new("talks", talks, T0.timestamp(), P))
    assert s["dup"] == 0.0 and s["name_share"] > 0.5 and s["shared"] >= math.log1p(P.min_shared)
    assert s["name_clash"] == 0.0 and s["lead_clash"] == 0.0


def test_year_clash_and_number_clash() -> None:
    def vote(year: str, seats: str) -> ItemProfile:
        return item_profile(
            text(
                "Parliamentary election in Turkmenistan",
                f"Turkmenistan held a parliamentary election in {year}, with candidates standing for {seats} "
                "seats in the Mejlis. Observers from the OSCE criticised the campaign.",
            ),
            None,
            P,
        )

    story = StoryRecord.new("a", vote("2008", "125"), 0.0, P)
    other = signals_of(vote("2013", "150"), story)
    assert other["year_clash"] == 1.0 and other["number_clash"] == 1.0 and other["number_share"] == 0.0
    same = signals_of(vote("2008", "125"), story)
    assert same["year_clash"] == 0.0 and same["number_clash"] == 0.0 and same["number_share"] == 1.0


def test_close_in_time_is_the_only_time_signal_and_unknown_time_is_no_evidence() -> None:
    talks, copy = item_profile(TALKS, None, P), item_profile(COPY, None, P)  # two hours apart
    story = StoryRecord.new("talks", talks, T0.timestamp(), P)
    assert signals_of(copy, story)["close"] == pytest.approx(1.0 - 2.0 / 24.0)
    assert signals_of(replace(copy, published=talks.published), story)["close"] == 1.0
    a_day_later = (T0 + timedelta(hours=30)).timestamp()
    assert signals_of(replace(copy, published=a_day_later), story)["close"] == 0.0
    assert signals_of(replace(copy, published=None), story)["close"] == 0.0  # an undated feed


def test_every_signal_has_a_sign_and_clashes_only_take_away() -> None:
    assert len(SIGNS) == len(SIGNALS)
    signs = dict(zip(SIGNALS, SIGNS, strict=True))
    assert all(signs[name] == -1 for name in SIGNALS if name.endswith("_clash"))
    assert all(signs[name] == 1 for name in SIGNALS if not name.endswith("_clash"))


# --------------------------------------------------------------------------------------------- records


def test_record_round_trips_through_json_and_absorb_is_pure() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, copy = item_profile(TALKS, df, P), item_profile(COPY, df, P)
    rec = StoryRecord.new("talks", talks, 100.0, P, title=TALKS.title, url=TALKS.url)
    before = rec.to_json()
    grown = rec.absorb(copy, 200.0, P)
    assert rec.to_json() == before
    assert (grown.size, grown.first, grown.latest) == (2, 100.0, 200.0)
    assert (grown.title, grown.url) == (TALKS.title, TALKS.url)  # of the report that opened it
    back = StoryRecord.from_json(grown.to_json())
    assert back == grown
    assert back.pub_first == T0.timestamp() and back.pub_latest == COPY.published.timestamp()  # type: ignore[union-attr]
    assert len(grown.to_json()) < 8192


def test_a_record_keeps_its_first_member_and_its_latest_ones() -> None:
    small = replace(P, members=3)
    reports = [TALKS, COPY, REWRITE, CAIRO, RELEASE]
    profiles = [item_profile(it, None, small) for it in reports]
    rec = StoryRecord.new("s", profiles[0], 0.0, small)
    for i, prof in enumerate(profiles[1:], start=1):
        rec = rec.absorb(prof, float(i), small)
        assert len(rec.members) == min(i + 1, small.members)
    assert rec.size == len(reports)
    first, *latest = rec.members
    assert first == Member.of(profiles[0], small)
    assert latest == [Member.of(profiles[3], small), Member.of(profiles[4], small)]  # CAIRO, then RELEASE
    assert all(len(m.body) <= small.member_terms for m in rec.members)
    index = rec.index_terms(5)
    assert len(index) == 5 and all(any(t in m.body for m in rec.members) for t in index)


def test_a_foreign_blob_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a story record of this format"):
        StoryRecord.from_json(json.dumps({"id": "x"}))


# --------------------------------------------------------------------------------------------- decision


def test_syndicated_copy_joins_the_story_it_copies() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, copy = item_profile(TALKS, df, P), item_profile(COPY, df, P)
    story = StoryRecord.new("talks", talks, T0.timestamp(), P)
    joined = decide(copy, [Candidate(story, hits(talks, copy))], copy.published or 0.0)
    assert joined.story_id == "talks" and joined.p_join >= joined.threshold and joined.related is None


BRIDGE = Item(
    title="Harbour council approves river bridge budget",
    url="https://wire-a.example/bridge",
    source="Wire A",
    published=T0,
    content=(
        "The harbour council voted on Tuesday to approve the budget for a new bridge over the river, ending two "
        "years of argument about the cost. Councillors agreed to fund the crossing from the port levy and a "
        "regional grant, and work on the foundations should start in the spring, the mayor said."
    ),
)
BRIDGE_AGAIN = Item(
    title="River crossing gets the go-ahead as harbour councillors back the bridge budget",
    url="https://wire-b.example/bridge-vote",
    source="Wire B",
    published=T0 + timedelta(hours=2),
    content=(
        "Harbour councillors have backed the budget for the river bridge after two years of rows over its "
        "cost. The crossing will be paid for from the port levy and a regional grant; the mayor expects the "
        "foundations to be laid in the spring."
    ),
)
FESTIVAL = Item(
    title="Harbour festival moves to the rail yard",
    url="https://wire-a.example/festival",
    source="Wire A",
    published=T0 + timedelta(hours=3),
    content=(
        "Organisers of the harbour festival said the event will move to the old rail yard this summer after "
        "complaints about noise near the marina. The new site holds twice as many visitors and has room for "
        "a second stage, and shuttle buses will run from the station every ten minutes."
    ),
)


def test_the_words_a_watch_matched_are_every_form_of_them() -> None:
    terms = selection_terms(["Hamas", "truce talks", "U.S."])
    assert {"hamas", "truce", "talk", "us"} <= terms
    # Whatever form the item's text gave them (a name mid-sentence, a stemmed word at a sentence start).
    talks = sketch(TALKS, P)
    assert {"hamas", "talk"} <= set(talks.terms) & terms
    # Given the item's language, also as its plain words are stemmed there; an acronym keeps its capitals.
    assert {"captiv", "US"} <= set(talks.terms) & selection_terms(["captives", "U.S."], talks.lang)


def test_a_sketch_without_terms_drops_them_everywhere_but_the_fingerprint() -> None:
    sk = sketch(BRIDGE, P)
    drop = frozenset(plain_terms(["harbour", "bridge"], "en"))  # as the sketch spells them: "bridg"
    less = sk.without(drop)
    assert drop <= set(sk.terms) and drop <= set(sk.title)
    assert not drop & set(less.terms + less.title)
    assert len(less.terms) == len(less.counts) == len(less.kinds) == len(less.prior) == len(sk.terms) - 2
    assert (
        dict(zip(less.terms, less.prior, strict=True)).items()
        <= dict(zip(sk.terms, sk.prior, strict=True)).items()
    )
    assert less.bands == sk.bands
    assert sk.without(frozenset({"absent"})) is sk


def test_the_words_a_watch_matched_do_not_make_two_events_one_story() -> None:
    """A "harbour" watch: every item says "harbour".  Weighed for that watch, "harbour" is no evidence (not in
    the item's evidence or names), so a festival report that shares only that word with the bridge story stays
    below the content floor, while a reworded report of the bridge vote still joins it.  The word stays in the
    text's vectors: it is part of what the item says."""
    at = T0.timestamp()

    def in_watch(item: Item, matched: list[str]) -> ItemProfile:
        return weigh_in_watch(sketch(item, P), matched, None, P)

    bridge = StoryRecord.new("bridge", in_watch(BRIDGE, ["Harbour", "harbour"]), at, P)
    festival = in_watch(FESTIVAL, ["Harbour", "harbour"])
    # No evidence...
    assert "harbour" not in dict(festival.evidence) and "harbour" not in dict(festival.names)
    assert "harbour" not in dict(in_watch(BRIDGE, ["Harbour"]).evidence)
    # ...but still in the text's vectors, on both sides.
    assert "harbour" in festival.body_terms and "harbour" in festival.title_terms
    assert "harbour" in bridge.members[0].body and "harbour" in bridge.members[0].title
    # "harbour" is all the festival and the bridge vote have in common: below the floor, never scored.
    assert ItemSignals(festival, P).content(bridge.members[0]) is None
    assert decide(festival, [Candidate(bridge)], at).story_id is None
    again = in_watch(BRIDGE_AGAIN, ["Harbour"])
    assert decide(again, [Candidate(bridge)], at).story_id == "bridge"
    # The same festival report in a catch-all watch (no words matched) keeps "harbour" as evidence.
    assert "harbour" in dict(in_watch(FESTIVAL, []).evidence)


def test_two_events_that_share_only_the_words_their_watch_matched_stay_below_the_floor() -> None:
    """A "harbour AND mayor" watch: the mayor opening a festival shares exactly the two matched words with the
    bridge vote.  In a catch-all watch the two words pass the content floor; in the watch they are no evidence."""
    at = T0.timestamp()
    fair = Item(
        title="Harbour mayor opens the summer festival at the marina",
        url="https://wire-a.example/fair",
        source="Wire A",
        published=T0 + timedelta(hours=4),
        content=(
            "The mayor opened the harbour festival at the marina on Saturday, with three stages, food stalls and "
            "fireworks over the water. Organisers expect forty thousand visitors over the weekend."
        ),
    )

    def signals(matched: list[str]) -> tuple[float, float, float, float] | None:
        bridge = StoryRecord.new("bridge", weigh_in_watch(sketch(BRIDGE, P), matched, None, P), at, P)
        return ItemSignals(weigh_in_watch(sketch(fair, P), matched, None, P), P).content(bridge.members[0])

    catch_all = signals([])
    assert catch_all is not None and catch_all[2] == 2.0  # "harbour" and "mayor": two shared key words
    assert signals(["Harbour", "mayor"]) is None


def test_no_candidate_opens_a_new_story() -> None:
    d = decide(item_profile(TALKS, None, P), [], 0.0)
    assert d.story_id is None and d.related is None and d.best is None and d.scored == () and d.p_join == 0.0


def test_a_story_outside_the_window_is_never_joined() -> None:
    talks = item_profile(TALKS, None, P)
    story = StoryRecord.new("talks", talks, T0.timestamp(), P)
    late = replace(talks, published=(T0 + timedelta(days=5)).timestamp())
    always = model(intercept=10.0, threshold=0.5)  # joins anything it scores
    d = decide(late, [Candidate(story, P.bands)], late.published or 0.0, always)
    assert d.story_id is None and d.related is None and d.scored[0].in_window is False
    assert decide(talks, [Candidate(story, P.bands)], T0.timestamp(), always).story_id == "talks"


def test_best_candidate_wins_among_several() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, copy, cairo = (item_profile(it, df, P) for it in (TALKS, COPY, CAIRO))
    at = T0.timestamp()
    cands = [
        Candidate(StoryRecord.new("cairo", cairo, at, P)),
        Candidate(StoryRecord.new("talks", talks, at, P), hits(talks, copy)),
    ]
    d = decide(copy, cands, at)
    assert d.best is not None and d.best.story_id == "talks" and d.story_id == "talks"
    assert d.best_scored == d.scored[1] and d.scored[1].score > d.scored[0].score


def test_the_best_member_of_a_story_decides_its_score() -> None:
    """A story whose first report is unrelated still takes a copy of its latest one: members, not a summary."""
    at = T0.timestamp()
    cairo, talks, copy = (item_profile(it, None, P) for it in (CAIRO, TALKS, COPY))
    story = StoryRecord.new("s", cairo, at, P).absorb(talks, at, P)
    d = decide(copy, [Candidate(story, hits(talks, copy))], at, model({"body": 10.0}, intercept=-5.0))
    assert d.story_id == "s" and d.scored[0].member == 1


def test_thresholds_join_relate_or_open() -> None:
    """p = 0.5 for any member above the content floor (no weights): joined at threshold 0.5, "possibly related"
    between related and threshold, a plain new story below related."""
    at = T0.timestamp()
    story = StoryRecord.new("talks", item_profile(TALKS, None, P), at, P)
    copy = item_profile(COPY, None, P)
    cases = {(0.5, 0.5): ("talks", None), (0.6, 0.4): (None, "talks"), (0.6, 0.5): (None, "talks"),
             (0.8, 0.6): (None, None)}  # fmt: skip
    for (threshold, related), expected in cases.items():
        d = decide(copy, [Candidate(story)], at, model(threshold=threshold, related=related))
        assert d.p_join == 0.5
        assert (d.story_id, d.related) == expected, (threshold, related)


def test_place_opens_or_grows_a_story() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, copy = item_profile(TALKS, df, P), item_profile(COPY, df, P)
    stories = BatchStories({}, default_model())
    opened = stories.place(
        "w", "item-1", talks, 0.0, empty_view(talks), 0.0, title=TALKS.title, url=TALKS.url
    )
    assert opened.is_new and opened.story_id == "item-1" and opened.record.size == 1
    assert opened.bands == talks.bands and len(opened.post) == P.index_terms and opened.unpost == ()
    assert opened.related is None and opened.reason == reason(decide(talks, [], 0.0))
    # The next item of the batch sees the story the first one opened (the store read nothing yet).
    grown = stories.place("w", "item-2", copy, 10.0, empty_view(copy), 10.0)
    assert not grown.is_new and grown.story_id == "item-1" and grown.record.size == 2
    assert grown.reason.startswith("joined story item-1: ")
    assert set(grown.post) == set(grown.record.index_terms(P.index_terms))
    assert not set(grown.unpost) & set(grown.post) and set(grown.unpost) <= set(opened.post)
    # The store reads the record as JSON: the same decision either way.
    read = StoryView(tuple(opened.record.story_id for _ in copy.bands), (opened.record.to_json(),))
    again = BatchStories({}, default_model()).place("w", "item-2", copy, 10.0, read, 10.0)
    assert again.record == grown.record


def test_place_names_the_possibly_related_story() -> None:
    talks, copy = item_profile(TALKS, None, P), item_profile(COPY, None, P)
    stories = BatchStories({}, model(threshold=0.6, related=0.4))
    first = stories.place("w", "item-1", talks, 0.0, empty_view(talks), 0.0, title=TALKS.title, url=TALKS.url)
    second = stories.place("w", "item-2", copy, 10.0, empty_view(copy), 10.0)
    assert second.is_new and second.story_id == "item-2"
    assert second.related == first.record and (second.related.title, second.related.url) == (
        TALKS.title,
        TALKS.url,
    )
    assert second.reason.startswith("new story, possibly related to story item-1: ")


def empty_view(prof: ItemProfile) -> StoryView:
    return StoryView((None,) * len(prof.bands), ())


def test_a_record_of_an_earlier_format_is_no_candidate() -> None:
    talks = item_profile(TALKS, None, P)
    old = json.dumps({"id": "s-old", "first": 0.0, "latest": 0.0, "size": 1, "centroid": {"hamas": 1.0},
                      "norm": 1.0, "posted": ["hamas"]})  # fmt: skip
    view = StoryView(tuple("s-old" for _ in talks.bands), (old, "{not json"))
    placed = BatchStories({}, default_model()).place("w", "item-1", talks, 0.0, view, 0.0)
    assert placed.is_new and placed.story_id == "item-1"


def test_explanations_are_kept_for_the_batch_as_applied() -> None:
    talks = item_profile(TALKS, None, P)
    first = BatchStories({}, default_model(), explain=True)
    first.place("w", "item-1", talks, 0.0, empty_view(talks), 0.0)
    assert set(first.decisions) == {("w", "item-1")}
    retry = first.fresh()  # a store that decides a batch again starts over, and so do its explanations
    assert first.decisions == {} and retry.decisions is first.decisions
    retry.place("w", "item-2", talks, 0.0, empty_view(talks), 0.0)
    assert set(first.decisions) == {("w", "item-2")}
    quiet = BatchStories({}, default_model())
    quiet.place("w", "item-1", talks, 0.0, empty_view(talks), 0.0)
    assert quiet.decisions == {}


def test_seed_story_one_story_with_its_later_reports_and_the_trap_apart() -> None:
    """The guide's scenario through sketch -> weigh -> BatchStories, one batch (the store read nothing)."""
    stream = [("talks", TALKS), ("copy", COPY), ("cairo", CAIRO), ("rewrite", REWRITE), ("release", RELEASE)]
    df = background(*(it for _, it in stream))
    stories = BatchStories({}, default_model())
    placed = {}
    for item_id, it in stream:
        prof = item_profile(it, df, P)
        at = prof.published or 0.0
        placed[item_id] = stories.place("w", item_id, prof, at, empty_view(prof), at).story_id
    assert placed == {
        "talks": "talks",
        "copy": "talks",
        "cairo": "cairo",
        "rewrite": "talks",
        "release": "release",
    }


# --------------------------------------------------------------------------------------------- wording

SURE = r"\d{1,3}% sure"


def decision(threshold: float, related: float | None = None, *, entities: tuple[str, ...] = ()) -> Decision:
    """COPY against the TALKS story with p = 0.5 exactly (no weights)."""
    at = T0.timestamp()
    story = StoryRecord.new("talks", item_profile(TALKS, None, P, entities), at, P)
    copy = item_profile(COPY, None, P, entities)
    return decide(copy, [Candidate(story)], at, model(threshold=threshold, related=related))


def test_reason_of_a_join_names_the_story_the_names_and_the_key_words() -> None:
    d = decision(0.5)
    line = reason(d)
    names = r"[A-Z][\w-]*(, [A-Z][\w-]*){0,2}( and \d+ more)?"
    words = r"\d+ key words? \([^()]+\)"
    assert re.fullmatch(rf"joined story talks: same names? {names} and {words}; 50% sure", line), line
    assert "Boehler" in line


def test_reason_of_a_possibly_related_story_says_how_sure_and_from_where_it_joins() -> None:
    line = reason(decision(0.6, 0.4))
    assert line.startswith("new story, possibly related to story talks: same names "), line
    assert line.endswith("; 50% sure it is the same event (joins from 60%)"), line


def test_reason_of_a_new_story_names_the_closest_one() -> None:
    line = reason(decision(0.6))
    assert re.fullmatch(
        r"new story: closest is story talks, 50% sure \(same names .+ key words? \(.+\); joins from 60%\)",
        line,
    ), line
    assert reason(decide(item_profile(TALKS, None, P), [], 0.0)) == (
        "new story: no earlier story in the window shares enough content"
    )


def test_reason_shows_matched_entities_by_their_id_and_at_most_three_names() -> None:
    d = decision(0.5, entities=("hamas", "us"))
    line = reason(d)
    assert "entity:" not in line
    assert len(d.names) > 3 and f"and {len(d.names) - 3} more" in line
    shown = re.search(r"same names (.+?) and \d+ more", line)
    assert shown is not None and len(shown[1].split(", ")) == 3


def test_details_label_each_decision_and_list_every_candidate() -> None:
    for d, label in ((decision(0.5), "join"), (decision(0.6, 0.4), "related"), (decision(0.6), "new story")):
        out = details(d)
        json.dumps(out)  # plain data
        assert out["decision"] == label and out["reason"] == reason(d)
        assert out["best_candidate"] == "talks" and out["p_join"] == 0.5
        (row,) = out["candidates"]
        assert row["comparable"] and set(row["signals"]) == set(SIGNALS) and row["p_same"] == 0.5
    at = T0.timestamp()
    story = StoryRecord.new("talks", item_profile(TALKS, None, P), at, P)
    out = details(decide(item_profile(CAIRO, None, P), [Candidate(story)], at))
    assert out["decision"] == "new story" and out["best_candidate"] is None
    assert out["candidates"] == [
        {"story": "talks", "in_window": True, "comparable": False, "score": None, "p_same": None, "member": -1,
         "signals": {}}
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------- weights


def test_shipped_weights_load_and_match_the_code() -> None:
    m = default_model()
    assert len(m.coef) == len(SIGNALS)
    assert all(c * s >= 0 for c, s in zip(m.coef, SIGNS, strict=True))  # every weight has its evidence's sign
    assert 0.0 < m.related <= m.threshold < 1.0
    assert m.params == StoryParams(**asdict(m.params))
    assert StoryModel.from_dict(json.loads(json.dumps(m.to_dict()))) == m


def test_weights_for_other_signals_are_refused() -> None:
    d = default_model().to_dict()
    d["signals"] = ["body"]
    with pytest.raises(ValueError, match="signals"):
        StoryModel.from_dict(d)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"coef": [-1.0] + [0.0] * (len(SIGNALS) - 1)}, "weight of body must be >= 0"),
        ({"coef": [0.0] * (len(SIGNALS) - 1)}, "weights for"),
        ({"threshold": 0.3, "related": 0.5}, "must not exceed threshold"),
        ({"threshold": 0.0}, "threshold must be in"),
        ({"params": {"members": 0}}, "members must be at least 1"),
        ({"params": {"informative": 1.5}}, "informative must be in"),
    ],
)
def test_unusable_weights_are_refused_with_the_reason(change: dict[str, object], message: str) -> None:
    d = {**default_model().to_dict(), **change}
    with pytest.raises(ValueError, match=message):
        StoryModel.from_dict(d)


def test_a_weight_against_its_evidence_is_refused() -> None:
    clash = SIGNALS.index("name_clash")
    coef = [0.0] * len(SIGNALS)
    coef[clash] = 1.0  # a clash that would add to "same event"
    with pytest.raises(ValueError, match="name_clash must be <= 0"):
        model(dict(zip(SIGNALS, coef, strict=True)))


def test_tuned_keeps_the_band_width_in_logits_or_drops_the_band() -> None:
    m = model(threshold=0.5, related=0.3)
    moved = m.tuned(threshold=0.2, window_s=3600.0)
    assert moved.threshold == 0.2 and moved.params.window_s == 3600.0
    assert logit(moved.threshold) - logit(moved.related) == pytest.approx(logit(0.5) - logit(0.3))
    off = m.tuned(threshold=0.2, related=False)
    assert off.related == off.threshold == 0.2
    same = m.tuned()
    assert same.threshold == m.threshold and same.related == pytest.approx(m.related) and same.coef == m.coef


def test_run_time_does_not_import_scikit_learn() -> None:
    code = (
        "import sys; from newswatch.stories import default_model, decide, StoryParams; "
        "from newswatch.stories.sketch import item_profile; from newswatch.models import Item; "
        "decide(item_profile(Item(title='a', url='u', source='s'), None, StoryParams()), [], 0.0, default_model()); "
        "print('sklearn' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
