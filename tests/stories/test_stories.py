"""Story assignment on fixture articles written for the project (the guide's US–Hamas talks story).

Every scenario runs through a real store (SQLite and Redis, the ``store`` fixture): the store reads candidates
and applies what :mod:`newswatch.stories` decided, so these tests check the one story algorithm as it runs.
"""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta

import pytest

from newswatch.models import Item
from newswatch.store import Sighted, Sighting, Store, WatchClaim
from newswatch.stories import (
    BatchStories,
    DocFreq,
    StoryModel,
    StoryParams,
    StoryRecord,
    default_model,
    weigh,
)
from newswatch.stories.lexicon import plain_terms
from newswatch.stories.sketch import item_profile, sketch
from newswatch.stories.tokens import NAME, NUMBER, PLAIN, YEAR
from tests.stories.items import CAIRO, COPY, RELEASE, REWRITE, T0, TALKS, P, model


def kinds(text: str) -> dict[str, int]:
    """Term -> kind of a text's terms, as the worker-side sketch classifies them."""
    sk = sketch(Item(title="", url="u", source="s", content=text), P)
    return dict(zip(sk.terms, sk.kinds, strict=True))


class Stories:
    """One watch list's story assignment through a real store, one item per batch unless told otherwise."""

    def __init__(self, store: Store, window_s: float | None = None, m: StoryModel | None = None) -> None:
        self.store = store
        self.model: StoryModel = (m or default_model()).tuned(window_s=window_s)

    def sighted(self, watch: str, key: str, item: Item, now: datetime | None = None) -> Sighted:
        at = (item.published or now or T0).timestamp()
        features = item_profile(item, None, self.model.params)
        record = {"watch": watch, "title": item.title, "url": item.url}
        claim = WatchClaim(watch, ("jsonl",), record, features)
        return Sighted(Sighting((key,), f"fp-{key}", len(item.text), 86400.0, at), (claim,))

    async def batch(self, *sightings: Sighted) -> list[tuple[str, bool] | None]:
        """(story id, opened it) per sighting, None when nothing was claimed (a re-sighting)."""
        results = await self.store.record(list(sightings), BatchStories({}, self.model))
        return [(r.events[0].story, r.events[0].event == "alert") if r.events else None for r in results]

    async def assign(self, watch: str, key: str, item: Item, now: datetime | None = None) -> tuple[str, bool]:
        (out,) = await self.batch(self.sighted(watch, key, item, now))
        assert out is not None
        return out


async def test_first_item_opens_a_story(store: Store) -> None:
    stories = Stories(store)
    story, opened = await stories.assign("hamas", "a", TALKS)
    assert opened and story.startswith("s-")


async def test_near_verbatim_copy_joins_the_original(store: Store) -> None:
    stories = Stories(store)
    a, _ = await stories.assign("hamas", "a", TALKS)
    assert await stories.assign("hamas", "b", COPY) == (a, False)


def test_near_verbatim_copy_is_caught_by_lsh_bands() -> None:
    a, b = item_profile(TALKS, None, P), item_profile(COPY, None, P)
    assert len(set(a.bands) & set(b.bands)) >= P.bands // 2
    unrelated = item_profile(CAIRO, None, P)
    assert not set(a.bands) & set(unrelated.bands)


async def test_rewrite_of_the_same_event_joins_it(store: Store) -> None:
    stories = Stories(store)
    a, _ = await stories.assign("hamas", "a", TALKS)
    await stories.assign("hamas", "b", COPY)
    assert await stories.assign("hamas", "c", REWRITE) == (a, False)


async def test_different_event_on_the_same_topic_opens_a_new_story(store: Store) -> None:
    stories = Stories(store)
    a, _ = await stories.assign("hamas", "a", TALKS)
    await stories.assign("hamas", "c", REWRITE)
    d, opened = await stories.assign("hamas", "d", CAIRO)
    assert opened and d != a


async def test_later_event_outside_the_window_opens_a_new_story(store: Store) -> None:
    stories = Stories(store)
    await stories.assign("hamas", "a", TALKS)
    await stories.assign("hamas", "c", REWRITE)
    assert (await stories.assign("hamas", "e", RELEASE))[1] is True


async def test_copy_beyond_the_window_opens_a_new_story(store: Store) -> None:
    stories = Stories(store, window_s=3600.0)
    a, _ = await stories.assign("hamas", "a", TALKS)
    # Two hours after the original, with a one-hour window: even a verbatim copy starts over.
    b, opened = await stories.assign("hamas", "b", COPY)
    assert opened and b != a


async def test_window_counts_from_the_latest_item_of_the_story(store: Store) -> None:
    stories = Stories(store, window_s=30 * 3600.0)
    a, _ = await stories.assign("hamas", "a", TALKS)
    await stories.assign("hamas", "b", COPY)  # +2 h extends the story to T0 + 2 h
    late = Item(
        title=REWRITE.title, url=REWRITE.url, source=REWRITE.source, content=REWRITE.content,
        published=T0 + timedelta(hours=31),
    )  # fmt: skip
    # 29 h after the latest item, 31 h after the first.
    assert await stories.assign("hamas", "c", late) == (a, False)


async def test_two_watches_keep_separate_stories(store: Store) -> None:
    stories = Stories(store)
    a, _ = await stories.assign("hamas", "a", TALKS)
    b, opened = await stories.assign("us-diplomacy", "b", COPY)
    assert opened and b != a
    (in_hamas,) = await stories.batch(stories.sighted("hamas", "b", COPY))
    assert in_hamas is None  # item b was recorded (for the other watch) with this very text: no new claim
    assert await stories.assign("us-diplomacy", "c", REWRITE) == (b, False)


async def test_resighting_claims_nothing(store: Store) -> None:
    stories = Stories(store)
    await stories.assign("hamas", "a", TALKS)
    assert await stories.batch(stories.sighted("hamas", "a", TALKS)) == [None]


async def test_items_of_one_batch_join_stories_opened_earlier_in_it(store: Store) -> None:
    stories = Stories(store)
    out = await stories.batch(
        stories.sighted("hamas", "a", TALKS),
        stories.sighted("hamas", "b", COPY),
        stories.sighted("hamas", "c", REWRITE),
        stories.sighted("hamas", "d", CAIRO),
    )
    assert out[0] is not None and out[0][1] is True
    assert out[1] == (out[0][0], False) and out[2] == (out[0][0], False)
    assert out[3] is not None and out[3][1] is True and out[3][0] != out[0][0]


async def test_the_same_item_twice_in_one_batch_alerts_once(store: Store) -> None:
    stories = Stories(store)
    out = await stories.batch(stories.sighted("hamas", "a", TALKS), stories.sighted("hamas", "a", TALKS))
    assert out[0] is not None and out[0][1] is True
    assert out[1] is None


async def test_items_without_date_are_placed_at_the_time_they_are_recorded(store: Store) -> None:
    undated = Item(title=TALKS.title, url=TALKS.url, source="x", content=TALKS.content)
    stories = Stories(store, window_s=3600.0)
    a, _ = await stories.assign("hamas", "a", undated, now=T0)
    b, opened = await stories.assign("hamas", "b", undated, now=T0 + timedelta(hours=2))
    assert opened and b != a


def test_profiles_are_picklable_and_records_round_trip_exactly() -> None:
    profile = item_profile(TALKS, DocFreq(), P)
    assert pickle.loads(pickle.dumps(profile)) == profile
    assert pickle.loads(pickle.dumps(sketch(TALKS, P))) == sketch(TALKS, P)
    record = StoryRecord.new("s-1", profile, T0.timestamp(), P).absorb(
        item_profile(REWRITE, None, P), (T0 + timedelta(days=1)).timestamp(), P
    )
    restored = StoryRecord.from_json(record.to_json())
    assert (restored.story_id, restored.size, restored.latest) == ("s-1", 2, record.latest)
    # Values are rounded when the record is made: a store round trip changes nothing a decision reads.
    assert restored == record


def test_names_numbers_and_years_are_told_apart() -> None:
    found = kinds("Officials said the envoy met Hamas about 24 hostages in 2025.")
    assert found["hamas"] == NAME
    assert found["hostag"] == PLAIN  # plain words are stemmed ("hostages" -> "hostag"); names never are
    assert found["24"] == NUMBER and found["2025"] == YEAR
    assert "officials" not in found and found["offici"] == PLAIN  # capitalised at a sentence start only


US_TEXT = "Officials said the U.S. envoy met Hamas, and the US Treasury agreed. They told us nothing."


def test_the_us_acronym_is_a_term_of_its_own_not_the_pronoun() -> None:
    found = kinds(US_TEXT)
    assert "US" in found  # "U.S." and "US": one acronym, which keeps its capitals and is no function word
    assert "us" not in found  # the pronoun is one


def test_invalid_params_are_rejected() -> None:
    with pytest.raises(ValueError, match="bands and rows"):
        StoryParams(bands=0)
    with pytest.raises(ValueError, match="window_s"):
        StoryParams(window_s=0)
    with pytest.raises(ValueError, match="members"):
        StoryParams(members=0)
    with pytest.raises(ValueError, match="informative"):
        StoryParams(informative=0.0)


def test_line_breaks_and_case_do_not_change_the_fingerprint() -> None:
    reflowed = Item(
        title=TALKS.title.upper(),
        url="https://radio-b.example/x",
        source="Radio B",
        content=TALKS.content.replace(". ", ".\n\n").replace(" the ", "  the "),
    )
    assert item_profile(reflowed, None, P).bands == item_profile(TALKS, None, P).bands


def test_short_texts_do_not_share_bands_by_chance() -> None:
    # Headlines fill few of the 64 MinHash bins; empty bins must not make two different headlines agree.
    titles = ["Hamas frees hostage", "Storm hits Florida coast", "Fed holds rates", "Apple unveils phone"]
    keys = [set(item_profile(Item(title=t, url="u", source="s"), None, P).bands) for t in titles]
    for i, a in enumerate(keys):
        assert len(a) == P.bands
        for b in keys[i + 1 :]:
            assert len(a & b) < 2


def test_unicode_punctuation_and_spaces_split_words() -> None:
    found = kinds("The envoy\u00a0met “Hamas” officials—and Israel’s leaders…")
    assert found["hamas"] == NAME and found["israel"] == NAME
    assert "official" in found and "leader" in found


def test_sketches_do_not_depend_on_what_the_process_saw_before() -> None:
    import newswatch.stories.tokens as tokens_module

    first = sketch(REWRITE, P)
    tokens_module._FORMS = tokens_module._Forms()  # a fresh process: no written form classified yet
    sketch(CAIRO, P)
    assert sketch(REWRITE, P) == first
    assert first.terms == tuple(sorted(first.terms))


def test_a_batch_is_weighed_with_its_own_items_counted() -> None:
    df = DocFreq({"hamas": 3}, 3)
    batch = df.with_batch([("hamas", "cairo"), ("hamas",)])
    assert batch.n_docs == 5 and dict(batch.counts) == {"hamas": 5, "cairo": 1}
    assert (df.n_docs, df.counts, df.pending) == (3, {"hamas": 3}, 0)  # nothing learned


def test_the_first_item_of_a_fresh_store_is_weighed_like_the_thousandth() -> None:
    """No cold start: the prior tells common words from telling ones before the stream has taught anything, as
    the stream does once it has."""
    sk = sketch(TALKS, P)
    # As the item spells them: plain words stemmed ("captives" -> "captiv"), names as they are.
    telling = {*plain_terms(["envoy", "captive"], "en"), "boehler", "leavitt"}
    common = {*plain_terms(["house", "official", "week"], "en"), "washington"}
    assert (telling | common) <= set(sk.terms)
    fresh = {t for t, _ in weigh(sk, DocFreq().with_batch([sk.terms]), P).evidence}
    assert telling <= fresh and common.isdisjoint(fresh)
    seasoned = DocFreq()
    for i in range(3000):  # three thousand reports, none of them about these talks
        seasoned.add((*sorted(common), f"other{i % 700}"))
    learned = {t for t, _ in weigh(sk, seasoned, P).evidence}
    assert telling <= learned and common.isdisjoint(learned)


async def test_a_near_miss_opens_an_alert_possibly_related_to_the_story(store: Store) -> None:
    """p = 0.5 for any pair above the content floor (a model without weights): between related (0.4) and
    threshold (0.6), the copy opens a new story whose alert record names the earlier one."""
    stories = Stories(store, m=model(threshold=0.6, related=0.4))
    first = await stories.assign("hamas", "a", TALKS)
    second = await stories.assign("hamas", "b", COPY)
    assert second[1] is True and second[0] != first[0]
    records = [e.record for e in await store.outbox_head("jsonl", 10)]
    assert [r["event"] for r in records] == ["alert", "alert"]
    assert "related" not in records[0]
    assert records[1]["related"] == {"story": first[0], "title": TALKS.title, "url": TALKS.url}
    assert records[1]["reason"].startswith(f"new story, possibly related to story {first[0]}: ")
    # Without the band, the same near miss is a plain new alert.
    plain = Stories(store, m=model(threshold=0.6))
    third = await plain.assign("hamas", "c", REWRITE)
    assert third[1] is True
    last = (await store.outbox_head("jsonl", 10))[-1].record
    assert last["event"] == "alert" and "related" not in last
    assert last["reason"].startswith("new story: closest is story ")


def test_document_frequencies_are_bounded() -> None:
    df = DocFreq(max_terms=10)
    for i in range(30):
        df.add([f"t{i}", "common"])
    assert len(df.counts) <= 10
    assert df.counts["common"] == 30  # the frequent term is kept, the rare ones go first
    increments, docs = df.take_pending()
    assert docs == 30 and increments["common"] == 30
    assert df.take_pending() == ({}, 0)


async def test_document_frequencies_round_trip_and_stay_bounded_in_the_store(store: Store) -> None:
    await store.add_doc_freq({"hamas": 2, "talks": 1}, 2, max_terms=100)
    await store.add_doc_freq({"hamas": 1}, 1, max_terms=100)
    assert await store.doc_freq(10) == ({"hamas": 3, "talks": 1}, 3)
    await store.add_doc_freq({f"rare{i}": 1 for i in range(200)}, 200, max_terms=100)
    counts, docs = await store.doc_freq(1000)
    assert docs == 203 and counts["hamas"] == 3
    assert len(counts) <= 110  # pruned to about max_terms, the rarest first
