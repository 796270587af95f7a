"""No weak signal joins alone, and a story's pull does not grow with its size (issue 20).

A join needs real content in common with one of the story's members: informative words (names count half,
numbers and years nothing) and a text or title cosine.  Below that *content floor* a member is not scored at
all, so no weights can make a shared number, a shared name or a shared boilerplate paragraph join: these tests
use a model whose weights would join on any of them, and show that it joins nothing below the floor while it
joins what is above.  A story is compared member by member (its first report and its latest ones), so taking
in more reports does not make it pull harder.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest

from newswatch.models import Item
from newswatch.stories import (
    BatchStories,
    Candidate,
    ItemProfile,
    StoryModel,
    StoryRecord,
    StoryView,
    decide,
    default_model,
)
from newswatch.stories.signals import ItemSignals
from newswatch.stories.sketch import item_profile
from tests.stories.items import COPY, REWRITE, T0, TALKS, P, model

# Would join a pair on a shared number, a shared name or a shared band alone: p >= 0.5 for any member scored.
GREEDY = model({"number_share": 20.0, "name_share": 20.0, "dup": 20.0, "shared": 5.0}, threshold=0.5)


def report(title: str, content: str, hours: float = 0.0, url: str = "") -> Item:
    return Item(
        title=title,
        url=url or "https://x.example/" + "-".join(title.lower().split()[:5]),
        source="X",
        content=content,
        published=T0 + timedelta(hours=hours),
    )


LIGHTHOUSE = report(
    "Lighthouse on Skerra island reopens as a maritime museum",
    "The restored lighthouse on Skerra island opened as a maritime museum on Friday, with 4417 visitors booked "
    "for its first month. Curators spent three years collecting brass lamps, logbooks and keepers' uniforms "
    "from families along the coast.",
)
TRAM = report(
    "Heritage tram line back in service after track repairs",
    "Vintage trams returned to the riverside heritage line after engineers replaced worn rails and sleepers. "
    "Operators expect 4417 passengers a week during the summer timetable, and volunteers will sell tickets at "
    "the depot.",
    hours=3,
)
TRANSFER = report(
    "Okonkwo signs for Brennmoor Rovers",
    "Striker Amara Okonkwo has signed a three-year contract with Brennmoor Rovers, the club announced, after "
    "scoring twenty goals for Halden Athletic last season.",
)
BAKERY = report(
    "Bakery chain opens its first shop abroad",
    "A bakery chain founded by Amara Okonkwo opened its first shop outside the country in Halden, where queues "
    "formed before dawn. The shop in Brennmoor follows next spring.",
    hours=2,
)
# One outlet's boilerplate (common words only) at the top of two unrelated reports: they share MinHash bands.
BOILERPLATE = (
    "Thank you for reading our local news. Our team works every day to bring you the stories that matter to your "
    "family, your town and your community. If you value this work, please share it with your friends and "
    "support us. Comments are open for members only. "
)
RECYCLING = report(
    "Council picks new recycling contractor",
    BOILERPLATE
    + "The district council chose a new recycling contractor for glass and paper collections from June.",
)
CHOIR = report(
    "Choir wins regional singing contest",
    BOILERPLATE
    + "A youth choir from the valley won the regional singing contest with a programme of folk songs.",
    hours=1,
)


def shared(a: ItemProfile, b: ItemProfile) -> tuple[set[str], set[str], set[str], int]:
    """(informative terms, names, numbers, band keys) the two profiles have in common."""
    evidence = {t for t, _ in a.evidence} & {t for t, _ in b.evidence}
    names = {n for n, _ in a.names} & {n for n, _ in b.names}
    numbers = {n for n, _ in a.numbers} & {n for n, _ in b.numbers}
    return evidence, names, numbers, len(set(a.bands) & set(b.bands))


def first_then(first: Item, second: Item) -> tuple[ItemProfile, ItemProfile, StoryRecord]:
    a, b = item_profile(first, None, P), item_profile(second, None, P)
    return a, b, StoryRecord.new("first", a, (first.published or T0).timestamp(), P)


def test_the_greedy_model_joins_what_passes_the_floor() -> None:
    """The control: the same model joins a rewrite of one event (shared names and words, no band)."""
    _, b, story = first_then(TALKS, REWRITE)
    assert ItemSignals(b, P).content(story.members[0]) is not None
    assert decide(b, [Candidate(story)], (REWRITE.published or T0).timestamp(), GREEDY).story_id == "first"


@pytest.mark.parametrize(
    ("first", "second", "what"),
    [(LIGHTHOUSE, TRAM, "number"), (TRANSFER, BAKERY, "names"), (RECYCLING, CHOIR, "bands")],
    ids=["a number", "four names", "boilerplate bands"],
)
def test_a_shared_number_name_or_band_alone_never_joins(first: Item, second: Item, what: str) -> None:
    a, b, story = first_then(first, second)
    evidence, names, numbers, bands = shared(a, b)
    # What the two reports have in common is that one weak signal (the precondition of the test) ...
    if what == "number":
        assert numbers == {"4417"} and not evidence and not names
    elif what == "names":
        assert names == {"amara", "okonkwo", "halden", "brennmoor"} == evidence and not numbers  # 4 x 0.5
    else:
        assert bands > 0 and not evidence and not names and not numbers
    # ... so the member is below the content floor: never scored, never joined, not even "possibly related".
    assert ItemSignals(b, P).content(story.members[0]) is None
    at = (second.published or T0).timestamp()
    for m in (GREEDY, default_model(), GREEDY.tuned(threshold=1e-9)):
        d = decide(b, [Candidate(story, bands)], at, m)
        assert (d.story_id, d.related, d.best, d.p_join) == (None, None, None, 0.0)
        assert d.scored[0].in_window and d.scored[0].signals == ()


def test_every_band_shared_does_not_join_without_content() -> None:
    """A candidate reached through all of the item's band keys (a syndicated boilerplate, a reused template) is
    still judged by content."""
    _, b, story = first_then(RECYCLING, CHOIR)
    d = decide(b, [Candidate(story, P.bands)], (CHOIR.published or T0).timestamp(), GREEDY)
    assert d.story_id is None and d.best is None


def test_one_shared_word_with_a_number_is_not_enough() -> None:
    """The floor counts informative words (1 each) and names (half): one word and a number fall short."""
    tram = report(TRAM.title.replace("back in service", "reopens"), TRAM.content or "", hours=3)
    a, b, story = first_then(LIGHTHOUSE, tram)
    evidence, _, numbers, _ = shared(a, b)
    assert evidence == {"reopen"} and numbers == {"4417"}
    assert ItemSignals(b, P).content(story.members[0]) is None
    assert decide(b, [Candidate(story)], (tram.published or T0).timestamp(), GREEDY).story_id is None


# --------------------------------------------------------------------------------------------- story size

# Words any news report uses: not one of them is informative (checked below).
COMMON = (
    "people government city police report week water public president country local national money market "
    "business family school health service power party change road house court law town street area plan "
    "company children world home team group number system support morning night month officials million"
).split()


def common_report(rng: random.Random, i: int) -> Item:
    words = [rng.choice(COMMON) for _ in range(40)]
    sentences = [" ".join(words[j : j + 10]).capitalize() + "." for j in range(0, 40, 10)]
    return report(f"Report {i}", " ".join(sentences), hours=1 + i * 0.01, url=f"https://x.example/common/{i}")


def test_reports_of_common_words_only_never_join_however_many() -> None:
    """Random sentences over a common vocabulary (the issue's 400-of-400 case): every one opens its own story,
    through the batch placement with the shipped weights."""
    rng = random.Random(20)
    stories = BatchStories({}, default_model())
    opened = set()
    for i in range(60):
        prof = item_profile(common_report(rng, i), None, P)
        assert not prof.evidence  # the precondition: nothing informative in them
        at = prof.published or 0.0
        placed = stories.place("w", f"item-{i}", prof, at, StoryView((None,) * len(prof.bands), ()), at)
        assert placed.is_new, placed.reason
        opened.add(placed.story_id)
    assert len(opened) == 60


PULL = model({"body": 4.0, "title": 2.0, "shared": 1.0, "rare_share": 1.0, "dup": 2.0}, intercept=-4.0)


def pull(story: StoryRecord, probe: ItemProfile, band_sids: dict[str, str], m: StoryModel) -> float:
    """The probe's probability of joining ``story`` through the batch placement, the store having read the story's
    record and, for each of the probe's band keys, the story it points at (``band_sids``)."""
    stories = BatchStories({}, m, explain=True)
    view = StoryView(tuple(band_sids.get(b) for b in probe.bands), (story.to_json(),))
    at = probe.published or 0.0
    stories.place("w", "probe", probe, at, view, at)
    return stories.decisions[("w", "probe")].p_join


def grown(probe: ItemProfile, first: ItemProfile, fillers: list[ItemProfile], m: StoryModel) -> list[float]:
    """The probe's pull on a story of ``first`` as it takes in 1, 5 and 50 of ``fillers``; each report taken in
    leaves its band keys pointing at the story, as the stores keep them."""
    story = StoryRecord.new("s", first, T0.timestamp(), P)
    bands = dict.fromkeys(first.bands, "s")
    seen = [pull(story, probe, bands, m)]
    for n, filler in enumerate(fillers[:50], start=1):
        assert not filler.evidence  # the precondition: only common words in common with anything
        story = story.absorb(filler, T0.timestamp() + n, P)
        bands.update(dict.fromkeys(filler.bands, "s"))
        if n in (1, 5, 50):
            assert story.size == n + 1 and len(story.members) == min(n + 1, P.members)
            assert len(story.to_json()) < 8192
            seen.append(pull(story, probe, bands, m))
    return seen


@pytest.mark.parametrize("m", [PULL, default_model()], ids=["explicit weights", "shipped weights"])
def test_a_story_pull_does_not_grow_with_its_size(m: StoryModel) -> None:
    """A rewrite's probability against a story, as the story takes in 1, 5 and 50 reports that share only common
    words with it: never higher than against the story's first report alone; the record stays bounded."""
    rng = random.Random(4)
    probe = item_profile(REWRITE, None, P)
    fillers = [item_profile(common_report(rng, i), None, P) for i in range(50)]
    seen = grown(probe, item_profile(TALKS, None, P), fillers, m)
    assert seen[0] > 0.0
    assert seen == sorted(seen, reverse=True), seen


@pytest.mark.parametrize("m", [PULL, default_model()], ids=["explicit weights", "shipped weights"])
def test_a_story_pull_does_not_grow_through_the_band_keys_of_its_reports(m: StoryModel) -> None:
    """The same with one outlet's boilerplate (common words only) at the top of every report: the probe's
    bands hit the bands the story's many reports left, none of which shares content with it."""
    rng = random.Random(4)

    def boilerplate(i: int) -> ItemProfile:
        words = " ".join(rng.choice(COMMON) for _ in range(8)).capitalize()
        return item_profile(
            report(f"Report {i}", f"{BOILERPLATE}{words}.", 1 + i / 100, f"https://x/{i}"), None, P
        )

    first = item_profile(replace(TALKS, content=BOILERPLATE + (TALKS.content or "")), None, P)
    probe = item_profile(
        report(
            "Envoy in Doha", BOILERPLATE + "Envoy Adam Boehler discussed the captives with Hamas in Doha.", 24
        ),
        None,
        P,
    )
    seen = grown(probe, first, [boilerplate(i) for i in range(50)], m)
    assert seen[0] > 0.0
    assert seen == sorted(seen, reverse=True), seen


def test_a_big_story_of_copies_pulls_no_harder_than_one_copy() -> None:
    """Fifty copies of one report make a story no likelier to take a rewrite than the report alone did."""
    at = (REWRITE.published or T0).timestamp()
    talks, copy, probe = (item_profile(it, None, P) for it in (TALKS, COPY, REWRITE))
    story = StoryRecord.new("s", talks, T0.timestamp(), P)
    alone = decide(probe, [Candidate(story)], at, PULL).p_join
    for i in range(50):
        story = story.absorb(copy, T0.timestamp() + i, P)
    assert len(story.members) == P.members
    assert decide(probe, [Candidate(story)], at, PULL).p_join <= alone
