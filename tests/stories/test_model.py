"""The learned story decision's pure pieces, on articles written for the project (invented outlets and events)."""

from __future__ import annotations

import json
import math
import pickle
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
    ItemProfile,
    StoryModel,
    StoryParams,
    StoryRecord,
    StoryView,
    decide,
    default_model,
    explain,
)
from newswatch.stories.model import NEW_INPUTS
from newswatch.stories.profile import weigh_in_watch
from newswatch.stories.signals import ItemSignals
from newswatch.stories.sketch import item_profile, sketch
from newswatch.stories.tokens import selection_terms
from tests.stories.items import CAIRO, COPY, DF, RELEASE, REWRITE, T0, TALKS, P, background


def signals_of(item: ItemProfile, story: StoryRecord, band_hits: int = 0) -> dict[str, float]:
    """Every signal, whatever the comparability floor."""
    values = ItemSignals(item, replace(P, min_body=0.0))(story, band_hits)
    assert values is not None
    return dict(zip(SIGNALS, values, strict=True))


def hits(a: ItemProfile, b: ItemProfile) -> int:
    return len(set(a.bands) & set(b.bands))


# --------------------------------------------------------------------------------------------- profiles


def test_profile_is_deterministic_and_picklable() -> None:
    df = background(TALKS, COPY, CAIRO)
    a, b = item_profile(TALKS, df, P), item_profile(TALKS, df, P)
    assert a == b
    assert pickle.loads(pickle.dumps(a)) == a
    assert math.isclose(sum(w * w for w in a.body_weights), 1.0, rel_tol=1e-3)
    assert a.published == T0.timestamp()


def test_names_are_kept_whole_and_headline_capitals_are_not_names() -> None:
    item = Item(
        title="Port Workers Strike Over Pay In Coastal City",
        url="https://x.example/1",
        source="X",
        content="Dockers led by Amara Okonkwo walked out at Port Halden on Monday, the NDU union said.",
    )
    prof = item_profile(item, None, P)
    names = {n for n, _ in prof.names}
    assert {"amara", "okonkwo", "halden", "ndu"} <= names
    # Title Case headline words are not names ("Workers", "Strike" are not people or places).
    assert not names & {"workers", "strike", "pay", "coastal"}
    assert "dockers" not in names  # capitalised only as the first word of a sentence


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


def test_years_and_numbers_are_kept_apart() -> None:
    item = Item(title="t", url="u", source="s", content="In 2013 the vote drew 288 candidates for 125 seats.")
    prof = item_profile(item, None, P)
    assert prof.years == ("2013",)
    assert {n for n, _ in prof.numbers} == {"288", "125"}


# --------------------------------------------------------------------------------------------- signals


def test_syndicated_copy_scores_as_near_duplicate() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, copy = item_profile(TALKS, df, P), item_profile(COPY, df, P)
    story = StoryRecord.new("talks", talks, T0.timestamp(), P)
    s = signals_of(copy, story, hits(talks, copy))
    assert s["dup"] >= 0.5
    assert s["body"] > 0.8


def test_hamas_cairo_trap_scores_low() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, cairo = item_profile(TALKS, df, P), item_profile(CAIRO, df, P)
    story = StoryRecord.new("talks", talks, T0.timestamp(), P)
    trap = signals_of(cairo, story, hits(talks, cairo))
    copy = signals_of(item_profile(COPY, df, P), story, hits(talks, item_profile(COPY, df, P)))
    assert trap["dup"] == 0.0
    assert trap["body"] < 0.3 < copy["body"]
    assert trap["name_item"] < copy["name_item"]


def test_a_name_in_most_stories_weighs_little() -> None:
    """A head of state mentioned by two different events: the shared name carries little when most items
    mention it, and much when it is rare (learned from document frequency, not a boost)."""
    budget = Item(
        title="President Varga signs the budget",
        url="https://x.example/budget",
        source="X",
        content="President Varga signed the budget in Halden on Monday after the Assembly passed it.",
    )
    flood = Item(
        title="Floods hit the north",
        url="https://x.example/flood",
        source="X",
        content="President Varga visited Brennmoor, where the river Oste broke its banks overnight.",
    )
    common, rare = DF(), DF()
    for df, n_varga in ((common, 90), (rare, 1)):
        df.add(("varga",), n_varga)
        df.add(("halden", "brennmoor", "oste", "assembly"), 1)
        df.n_docs = 100
    scores = {}
    for name, df in (("common", common), ("rare", rare)):
        story = StoryRecord.new("budget", item_profile(budget, df, P), 0.0, P)
        item = item_profile(flood, df, P)
        scores[name] = (
            signals_of(item, story)["name_item"],
            default_model().join(ItemSignals(item, P)(story, 0)),
        )
    assert scores["common"][0] < 0.5 * scores["rare"][0]
    assert scores["common"][1] < scores["rare"][1]


def test_time_gap_is_evidence_only_when_both_sides_are_dated() -> None:
    talks = item_profile(TALKS, None, P)
    story = StoryRecord.new("talks", talks, T0.timestamp(), P)
    later = item_profile(replace(COPY, published=T0 + timedelta(days=3)), None, P)
    s = signals_of(later, story)
    assert s["time_known"] == 1.0 and s["gap_log_h"] == pytest.approx(math.log1p(72.0))
    undated = item_profile(replace(COPY, published=None), None, P)
    s = signals_of(undated, story)
    assert s["time_known"] == 0.0 and s["gap_log_h"] == 0.0


def test_year_clash_and_match() -> None:
    a = item_profile(Item(title="t", url="u", source="s", content="The 2008 vote in Turkmenistan."), None, P)
    b = item_profile(Item(title="t", url="v", source="s", content="The 2013 vote in Turkmenistan."), None, P)
    story = StoryRecord.new("a", a, 0.0, P)
    assert signals_of(b, story)["year_clash"] == 1.0
    assert signals_of(a, story)["year_match"] == 1.0


# --------------------------------------------------------------------------------------------- records


def test_record_round_trips_through_json_and_absorb_is_pure() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, copy = item_profile(TALKS, df, P), item_profile(COPY, df, P)
    rec = StoryRecord.new("talks", talks, 100.0, P)
    before = rec.to_json()
    grown = rec.absorb(copy, 200.0, P)
    assert rec.to_json() == before
    assert (grown.size, grown.first, grown.latest) == (2, 100.0, 200.0)
    back = StoryRecord.from_json(grown.to_json())
    assert back.to_json() == grown.to_json()
    assert back.size == 2 and back.pub_first == T0.timestamp()
    assert len(grown.to_json()) < 4096


def test_record_summaries_stay_bounded() -> None:
    small = StoryParams(centroid_terms=8, title_centroid_terms=4, story_names=3)
    rec = StoryRecord.new("s", item_profile(TALKS, None, small), 0.0, small)
    for it in (COPY, CAIRO):
        rec = rec.absorb(item_profile(it, None, small), 0.0, small)
    assert len(rec.body) <= 8 and len(rec.title) <= 4 and len(rec.names) <= 3
    assert rec.index_terms(5) == sorted(rec.body, key=lambda t: (-rec.body[t], t))[:5]


def test_a_foreign_blob_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not a story-model record"):
        StoryRecord.from_json(json.dumps({"id": "x"}))


# --------------------------------------------------------------------------------------------- decision


def test_syndicated_copy_joins_the_story_it_copies() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, copy = item_profile(TALKS, df, P), item_profile(COPY, df, P)
    story = StoryRecord.new("talks", talks, T0.timestamp(), P)
    joined = decide(copy, [Candidate(story, hits(talks, copy))], copy.published or 0.0)
    assert joined.story_id == "talks" and joined.p_join >= joined.threshold


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
    assert {"hamas", "us", "talk"} <= set(talks.terms) & terms


def test_a_sketch_without_terms_drops_them_everywhere_but_the_fingerprint() -> None:
    sk = sketch(BRIDGE, P)
    less = sk.without(frozenset({"harbour", "bridge"}))
    assert "harbour" in sk.terms and "harbour" in sk.title
    assert not {"harbour", "bridge"} & set(less.terms + less.title)
    assert len(less.terms) == len(less.counts) == len(less.kinds) == len(sk.terms) - 2
    assert (
        dict(zip(less.terms, less.counts, strict=True)).items()
        <= dict(zip(sk.terms, sk.counts, strict=True)).items()
    )
    assert less.bands == sk.bands
    assert sk.without(frozenset({"absent"})) is sk


def test_the_words_a_watch_matched_do_not_make_two_events_one_story() -> None:
    """A "harbour" watch: every item says "harbour".  Weighed for that watch, a festival report is not
    comparable with the bridge story, and a reworded report of the bridge vote still joins it."""
    at = T0.timestamp()

    def in_watch(item: Item, matched: list[str]) -> ItemProfile:
        return weigh_in_watch(sketch(item, P), matched, None, P)  # a cold start: every term alike

    bridge = StoryRecord.new("bridge", in_watch(BRIDGE, ["Harbour", "harbour"]), at, P)
    festival = in_watch(FESTIVAL, ["Harbour", "harbour"])
    assert "harbour" not in festival.body_terms + festival.title_terms
    assert decide(festival, [Candidate(bridge)], at).story_id is None
    again = in_watch(BRIDGE_AGAIN, ["Harbour"])
    assert decide(again, [Candidate(bridge)], at).story_id == "bridge"
    # The same festival report in a catch-all watch (no words matched) keeps every term.
    assert "harbour" in in_watch(FESTIVAL, []).body_terms


def test_no_candidate_opens_a_new_story() -> None:
    d = decide(item_profile(TALKS, None, P), [], 0.0)
    assert d.story_id is None and d.best is None and d.scored == ()


def test_a_story_outside_the_window_is_never_joined() -> None:
    talks = item_profile(TALKS, None, P)
    story = StoryRecord.new("talks", talks, T0.timestamp(), P)
    late = replace(talks, published=(T0 + timedelta(days=5)).timestamp())
    d = decide(late, [Candidate(story, P.bands)], late.published or 0.0)
    assert d.story_id is None and d.scored[0].in_window is False


def test_best_candidate_wins_among_several() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, copy, cairo = (item_profile(it, df, P) for it in (TALKS, COPY, CAIRO))
    at = T0.timestamp()
    cands = [
        Candidate(StoryRecord.new("cairo", cairo, at, P)),
        Candidate(StoryRecord.new("talks", talks, at, P)),
    ]
    d = decide(copy, cands, at)
    assert d.best == "talks" and d.story_id == "talks"
    assert d.scored[1].score > d.scored[0].score


def test_a_story_under_the_floor_is_not_scored_unless_it_shares_a_band() -> None:
    m = default_model()
    floored = replace(
        m, params=replace(m.params, min_body=0.99), threshold=0.0
    )  # 0.0: join whatever is scored
    talks, copy = item_profile(TALKS, None, P), item_profile(COPY, None, P)
    story = StoryRecord.new("talks", talks, 0.0, P)
    unscored = decide(copy, [Candidate(story, 0)], 0.0, floored)
    assert unscored.story_id is None and unscored.scored[0].signals == () and unscored.scored[0].in_window
    banded = decide(copy, [Candidate(story, 1)], 0.0, floored)
    assert banded.story_id == "talks" and len(banded.scored[0].signals) == len(SIGNALS)


def test_explain_shows_signals_scores_and_decision() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, copy, cairo = (item_profile(it, df, P) for it in (TALKS, COPY, CAIRO))
    at = T0.timestamp()
    cands = [
        Candidate(StoryRecord.new("talks", talks, at, P), hits(talks, copy)),
        Candidate(StoryRecord.new("cairo", cairo, at, P), hits(cairo, copy)),
    ]
    out = explain(decide(copy, cands, at))
    json.dumps(out)  # plain data
    assert out["decision"] == "join" and out["story"] == "talks" and out["best_candidate"] == "talks"
    best, other = out["candidates"]  # best first
    assert best["story"] == "talks" and set(best["signals"]) == set(SIGNALS)
    assert best["comparable"] and best["signals"]["dup"] > 0.0
    # The Cairo story shares too little with the copy to be scored at all, or scores lower.
    assert not other["comparable"] or other["score"] < best["score"]
    assert out["p_join"] >= out["threshold"]


def empty_view(prof: ItemProfile) -> StoryView:
    return StoryView((None,) * len(prof.bands), ())


def test_place_opens_or_grows_a_story() -> None:
    df = background(TALKS, COPY, CAIRO)
    talks, copy = item_profile(TALKS, df, P), item_profile(COPY, df, P)
    stories = BatchStories({}, default_model())
    opened = stories.place("w", "item-1", talks, 0.0, empty_view(talks), 0.0)
    assert opened.is_new and opened.story_id == "item-1" and opened.record.size == 1
    assert opened.bands == talks.bands and len(opened.post) == P.index_terms and opened.unpost == ()
    # The next item of the batch sees the story the first one opened (the store read nothing yet).
    grown = stories.place("w", "item-2", copy, 10.0, empty_view(copy), 10.0)
    assert not grown.is_new and grown.story_id == "item-1" and grown.record.size == 2
    assert set(grown.post) == set(grown.record.index_terms(P.index_terms))
    assert not set(grown.unpost) & set(grown.post) and set(grown.unpost) <= set(opened.post)
    # The store reads the record as JSON: the same decision either way.
    read = StoryView(tuple(opened.record.story_id for _ in copy.bands), (opened.record.to_json(),))
    again = BatchStories({}, default_model()).place("w", "item-2", copy, 10.0, read, 10.0)
    assert again.record == grown.record


def test_a_record_of_the_previous_format_is_no_candidate() -> None:
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


def test_the_new_story_model_weighs_the_margin_over_the_runner_up() -> None:
    """With a separate new-story model (Miranda et al.), two equally good candidates make a new story where a
    lone one is joined."""
    coef = [0.0] * len(NEW_INPUTS)
    coef[NEW_INPUTS.index("margin")] = 1.0
    d = {"signals": list(SIGNALS), "params": asdict(P), "new": {"coef": coef, "intercept": -5.0},
         "join": {"coef": [1.0] + [0.0] * (len(SIGNALS) - 1), "intercept": 0.0}, "threshold": 0.5}  # fmt: skip
    model = StoryModel.from_dict(d)
    talks = item_profile(TALKS, None, P)
    one = StoryRecord.new("one", talks, 0.0, P)
    lone = decide(talks, [Candidate(one, P.bands)], 0.0, model)
    assert lone.story_id == "one" and lone.p_join > 0.99
    twins = [Candidate(one, P.bands), Candidate(replace(one, story_id="two"), P.bands)]
    tied = decide(talks, twins, 0.0, model)
    assert tied.story_id is None and tied.best in {"one", "two"} and tied.p_join < 0.01


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


# --------------------------------------------------------------------------------------------- weights


def test_shipped_weights_match_the_code() -> None:
    m = default_model()
    assert len(m.join.coef) == len(SIGNALS) and 0.0 < m.threshold < 1.0
    assert m.params == StoryParams(**asdict(m.params))


def test_weights_for_other_signals_are_refused() -> None:
    d = json.loads(json.dumps({"signals": ["body"], "params": {}, "join": {"coef": [1.0], "intercept": 0.0},
                               "new": None, "threshold": 0.5}))  # fmt: skip
    with pytest.raises(ValueError, match="signals"):
        StoryModel.from_dict(d)


def test_run_time_does_not_import_scikit_learn() -> None:
    code = (
        "import sys; from newswatch.stories import default_model, decide, StoryParams; "
        "from newswatch.stories.sketch import item_profile; from newswatch.models import Item; "
        "decide(item_profile(Item(title='a', url='u', source='s'), None, StoryParams()), [], 0.0, default_model()); "
        "print('sklearn' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
