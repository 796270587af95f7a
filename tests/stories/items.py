"""Articles written for the story tests (invented outlets; the events follow the guide's story), document
frequencies built from them, and story models with explicit weights.

The shipped weights (``weights.json``) are refitted from time to time, so a test of a *mechanism* (the content
floor, the threshold, the "possibly related" band, the bound on a story's members) builds its own model here
and never depends on the shipped coefficients.  Tests of *behaviour* on real articles (a syndicated copy joins,
the Cairo talks stay apart) use the shipped model: any fit must keep them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newswatch.models import Item
from newswatch.stories import SIGNALS, ItemProfile, StoryModel, StoryParams, default_model
from newswatch.stories.sketch import item_profile

P = default_model().params
T0 = datetime(2025, 3, 5, 14, 0, tzinfo=UTC)

TALKS = Item(
    title="White House confirms direct US talks with Hamas over American captives",
    url="https://radio-a.example/us-hamas-talks",
    source="Radio A",
    published=T0,
    content=(
        "The White House on Wednesday confirmed that US envoy Adam Boehler has held direct talks with Hamas in "
        "Doha about the American captives still held in Gaza. Press secretary Karoline Leavitt said the "
        "administration had consulted Israel before the meetings with Hamas. Boehler, the special envoy for "
        "hostage affairs, met Hamas officials several times in recent weeks, breaking a long-standing US policy "
        "of not dealing directly with the group. Israel said it had expressed its position to Washington."
    ),
)
# A syndicated copy: same text, one changed word, a different headline and outlet, two hours later.
COPY = Item(
    title="Washington admits direct talks with Hamas on US captives",
    url="https://radio-b.example/news/4411",
    source="Radio B",
    published=T0 + timedelta(hours=2),
    content=TALKS.content.replace("Wednesday", "Wednesday afternoon"),
)
# The same event in other words, other quotes and other numbers, a day later.
REWRITE = Item(
    title="Trump envoy Boehler negotiated with Hamas in Doha, White House says",
    url="https://daily-c.example/world/boehler-hamas-doha",
    source="Daily C",
    published=T0 + timedelta(days=1),
    content=(
        "Adam Boehler, Donald Trump's envoy for hostage affairs, has negotiated directly with Hamas in Doha, the "
        "White House said, confirming the first known US contacts with Hamas in decades. Leavitt told reporters "
        "that Boehler discussed the release of American hostages in Gaza and that Israel had been consulted. "
        "About 24 living hostages remain in Gaza, five of them American, according to Israeli officials."
    ),
)
# The trap: same group, same word "talks", a different event (Cairo, Egyptian mediators, the ceasefire).
CAIRO = Item(
    title="Hamas delegation in Cairo for ceasefire talks with Egyptian mediators",
    url="https://news-d.example/hamas-cairo",
    source="News D",
    published=T0 + timedelta(hours=5),
    content=(
        "A Hamas delegation led by Khalil al-Hayya arrived in Cairo on Saturday for talks with Egyptian "
        "intelligence chief Hassan Rashad on the second phase of the Gaza ceasefire. Egyptian mediators are "
        "pressing for an extension of the truce and a reconstruction plan for Gaza drafted in Cairo, and "
        "Qatari officials are expected to join the meetings in the Egyptian capital on Sunday."
    ),
)
# Two months later: the last living American hostage freed after those talks -- a new event, a new alert.
RELEASE = Item(
    title="Hamas frees Edan Alexander, last living American hostage in Gaza",
    url="https://radio-a.example/edan-alexander-freed",
    source="Radio A",
    published=T0 + timedelta(days=68),
    content=(
        "Hamas released Edan Alexander, the last living American hostage held in Gaza, on Monday after direct "
        "talks with US envoy Adam Boehler and Steve Witkoff. The White House said the release was a goodwill "
        "gesture. Alexander, a soldier from New Jersey, was handed to the Red Cross in Khan Younis and taken "
        "to Israel, where he met his family."
    ),
)


@dataclass
class DF:
    """A document-frequency snapshot, as the pipeline keeps one."""

    counts: dict[str, int] = field(default_factory=dict)
    n_docs: int = 0

    def add(self, terms: tuple[str, ...], times: int = 1) -> None:
        for t in terms:
            self.counts[t] = self.counts.get(t, 0) + times
        self.n_docs += times


def background(*items: Item) -> DF:
    df = DF()
    for it in items:
        df.add(item_profile(it, None, P).terms)
    return df


def model(
    weights: Mapping[str, float] | None = None,
    *,
    intercept: float = 0.0,
    threshold: float = 0.5,
    related: float | None = None,
    params: StoryParams = P,
) -> StoryModel:
    """A story model with explicit weights (signal name -> weight; the others 0); ``related`` None: no band."""
    w = dict(weights or {})
    assert set(w) <= set(SIGNALS), set(w) - set(SIGNALS)
    coef = tuple(float(w.get(name, 0.0)) for name in SIGNALS)
    return StoryModel(
        params, coef, intercept, threshold, threshold if related is None else related, {"test": True}
    )


def body_model(*, threshold: float = 0.5) -> StoryModel:
    """Joins a member above the content floor when their text cosine reaches about 0.5, whatever else."""
    return model({"body": 10.0}, intercept=-5.0, threshold=threshold)


def write_weights(path: Path, m: StoryModel) -> Path:
    """``m`` as a weights file (``stories.weights``)."""
    path.write_text(json.dumps(m.to_dict()), encoding="utf-8")
    return path


def hand_profile(
    bands: tuple[str, ...], body: dict[str, float], published: float | None = None
) -> ItemProfile:
    """A profile written by hand (store tests): band keys and a body vector, every body term an informative word;
    no title, names or numbers.  Two such profiles pass the content floor when they share two words."""
    return ItemProfile(
        bands=bands,
        body_terms=tuple(body),
        body_weights=tuple(body.values()),
        title_terms=(),
        title_weights=(),
        evidence=tuple((t, 1.0) for t in body),
        names=(),
        numbers=(),
        years=(),
        terms=tuple(sorted(body)),
        published=published,
    )
