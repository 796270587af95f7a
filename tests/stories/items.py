"""Articles written for the story-model tests (invented outlets; the events follow the guide's story), and a
document-frequency snapshot built from them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from newswatch.models import Item
from newswatch.stories import ItemProfile, default_model
from newswatch.stories.sketch import item_profile

# Snapshots of a few documents count as learned here (min_docs=1): these tests check warm profiles.
P = replace(default_model().params, min_docs=1)
T0 = datetime(2025, 3, 5, 14, 0, tzinfo=UTC)

TALKS = Item(
    title="White House confirms direct US talks with Hamas over American captives",
    url="https://radio-a.example/us-hamas-talks",
    source="Radio A",
    published=T0,
    content=(
        "The White House on Wednesday confirmed that US envoy Adam Boehler has held direct talks with Hamas in "
        "Doha about the American captives still held in Gaza. The press secretary said the administration had "
        "consulted Israel before the meetings. Boehler, the special envoy for hostage affairs, met Hamas "
        "officials several times in recent weeks, breaking a long-standing US policy of not dealing directly "
        "with the group. Israel said it had made its position known to Washington."
    ),
)
# Syndicated: the same wire text under another headline, one word changed, two hours later.
COPY = Item(
    title="Washington admits it talked directly with Hamas about US captives",
    url="https://radio-b.example/news/4411",
    source="Radio B",
    published=T0 + timedelta(hours=2),
    content=TALKS.content.replace("Wednesday", "Wednesday afternoon"),
)
# The trap: same group, same word "talks", a different event (Cairo, Egyptian mediators, the ceasefire).
CAIRO = Item(
    title="Hamas delegation in Cairo for ceasefire talks with Egyptian mediators",
    url="https://news-d.example/hamas-cairo",
    source="News D",
    published=T0 + timedelta(hours=5),
    content=(
        "A Hamas delegation arrived in Cairo on Saturday for talks with Egyptian intelligence officials on the "
        "second phase of the Gaza ceasefire. Egyptian mediators are pressing for an extension of the truce and "
        "a reconstruction plan for Gaza drafted in Cairo, and Qatari officials are expected to join the "
        "meetings in the Egyptian capital on Sunday."
    ),
)


# The same event told again a day later, in other words and with other details.
REWRITE = Item(
    title="Trump envoy Boehler negotiated with Hamas in Doha, White House says",
    url="https://daily-c.example/world/boehler-hamas-doha",
    source="Daily C",
    published=T0 + timedelta(days=1),
    content=(
        "Adam Boehler, the US envoy for hostage affairs, has negotiated directly with Hamas in Doha, the White "
        "House said, confirming the first known US contacts with Hamas in decades. Officials said Boehler "
        "discussed the release of American hostages in Gaza and that Israel had been consulted beforehand."
    ),
)
# Two months later, a new event: beyond the story window whatever its words.
RELEASE = Item(
    title="Hamas frees the last living American hostage in Gaza",
    url="https://radio-a.example/hostage-freed",
    source="Radio A",
    published=T0 + timedelta(days=68),
    content=(
        "Hamas released the last living American hostage held in Gaza on Monday after direct talks with US "
        "envoy Adam Boehler. The White House called it a goodwill gesture."
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


def hand_profile(
    bands: tuple[str, ...], body: dict[str, float], published: float | None = None
) -> ItemProfile:
    """A profile written by hand (store tests): band keys and a body vector, no title, names or numbers."""
    return ItemProfile(
        bands=bands,
        body_terms=tuple(body),
        body_weights=tuple(body.values()),
        title_terms=(),
        title_weights=(),
        names=(),
        numbers=(),
        years=(),
        terms=tuple(sorted(body)),
        published=published,
    )
