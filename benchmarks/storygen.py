"""Synthetic news streams for evaluating story grouping: distinct events with the incidental overlaps that make
a story decision join what it should not.

Each generator returns reports in publication order with their gold event.  They are ours (nothing is copied
from a corpus) and seeded, so every run of the evaluation sees the same streams:

* :func:`common_words` — every report its own event, written only with a small common news vocabulary: two
  reports share many words and no event (a union-of-everything story would swallow them all);
* :func:`events` — events in a real language (Portuguese, German, English, … from wordfreq's word lists): the
  language's function words everywhere, common words as filler, each event with its own rarer key words,
  invented names and place, and a number drawn from a small pool (so distinct events share numbers); with
  ``boilerplate``, every outlet wraps its reports in its own sentences (a subscription line, a copyright);
  with ``lookalike``, events come in families that share their topic words, an organisation and often their
  place, and differ in their people, number and a few words of their own (two recalls by one carmaker).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from newswatch.models import Item

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

COMMON_NEWS = """government officials police city report minister president week people country state public
local national world news service support plan new former group members leaders party election vote law court
judge case trial security military forces health hospital school students workers company business market prices
economy budget tax money funds bank million billion percent year month day morning night weekend statement
spokesman office agency council committee board meeting talks deal agreement decision rules policy change
program project system information data research study team season game match win loss fans community
residents family children women men home area region water power energy fire weather storm road traffic
travel air flight airport""".split()


@dataclass(frozen=True)
class Report:
    item: Item
    gold: str


def common_words(n: int = 400, seed: int = 5) -> list[Report]:
    """``n`` reports, each its own event, of random sentences over :data:`COMMON_NEWS` (about 120 words)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        sentences = [
            " ".join(rng.choices(COMMON_NEWS, k=rng.randint(8, 14))).capitalize() + "." for _ in range(4)
        ]
        title = " ".join(rng.choices(COMMON_NEWS, k=7)).capitalize()
        when = START + timedelta(minutes=7 * i)
        item = Item(title=title, url=f"https://common.example/{i}", source=f"Outlet {i % 9}",
                    summary=" ".join(sentences), published=when)  # fmt: skip
        out.append(Report(item, f"c{i}"))
    return out


_SYL = ("ka lo mi ran te vo su bel dor fin gar hul jen kor lis mar nov pel rin sto tav ul vex wen yar zol bri cam "
        "del eth fro gil har ist jul kel lum mon nir opa pru rod sel tur umb vin wol xan yel zen").split()  # fmt: skip


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYL) for _ in range(rng.randint(2, 3))).capitalize()


def events(
    lang: str,
    n: int = 600,
    *,
    seed: int = 7,
    boilerplate: bool = False,
    outlets: int = 12,
    lookalike: bool = False,
) -> list[Report]:
    """``n`` reports of distinct events in language ``lang`` (see the module docstring); 1 to 12 reports per
    event, most 1–3, published within 12 hours of the event over three days.  ``lookalike``: events come in
    families of two or three of one kind (the same four topic words and organisation, often the same place: two fires in one
    city, two recalls by one carmaker), each with its own names, number and three words of its own."""
    import wordfreq

    rng = random.Random(f"{lang}-{seed}-{boilerplate}-{lookalike}")
    words = [w for w in wordfreq.top_n_list(lang, 30_000) if w.isalpha() and len(w) > 2]
    function = wordfreq.top_n_list(lang, 60)
    common, rare = words[150:3000], words[3000:30_000]
    wrap = {
        o: (" ".join(rng.choices(common, k=12)).capitalize() + ".", " ".join(rng.choices(common, k=10)) + ".")
        for o in range(outlets)
    }
    reports: list[tuple[int, list[str], str, list[str], str, datetime]] = []
    e = 0
    family: list[str] = []
    family_place = family_org = ""
    family_left = 0
    while len(reports) < n:
        r = rng.random()
        size = 1 if r < 0.4 else rng.randint(2, 3) if r < 0.75 else rng.randint(4, 12)
        names = [f"{_name(rng)} {_name(rng)}" for _ in range(rng.randint(1, 2))]
        if lookalike:
            if family_left == 0:
                family, family_place, family_left = rng.sample(rare, 4), _name(rng), rng.randint(2, 3)
                family_org = _name(rng)
            family_left -= 1
            keys = family + rng.sample(rare, 3)
            place = family_place if rng.random() < 0.5 else _name(rng)
            names = [*names, family_org]  # the same organisation in every event of the family
        else:
            keys = rng.sample(rare, 6)
            place = _name(rng)
        number = str(rng.randint(3, 40))
        start = START + timedelta(minutes=rng.randint(0, 3 * 24 * 60))
        for _ in range(size):
            reports.append((e, names, place, keys, number, start + timedelta(minutes=rng.randint(0, 720))))
        e += 1
    reports = sorted(reports[:n], key=lambda r: r[5])
    out = []
    for i, (eid, names, place, keys, number, when) in enumerate(reports):
        outlet = rng.randrange(outlets)

        def sentence(
            k: Sequence[str] = keys, nm: Sequence[str] = names, pl: str = place, num: str = number
        ) -> str:
            w = rng.choices(common, k=rng.randint(4, 8)) + rng.choices(function, k=rng.randint(5, 9))
            w += rng.sample(list(k), rng.randint(1, 3))
            if rng.random() < 0.4:
                w.append(rng.choice(list(nm)))
            if rng.random() < 0.3:
                w.append(pl)
            if rng.random() < 0.3:
                w.append(num)
            rng.shuffle(w)
            text = " ".join(w)
            return text[0].upper() + text[1:] + "."

        title_words = [*rng.sample(keys, 2), rng.choice(function), place, rng.choice(common)]
        rng.shuffle(title_words)
        title = " ".join(title_words)
        body = [sentence() for _ in range(rng.randint(3, 6))]
        if boilerplate:
            head, tail = wrap[outlet]
            body = [head, *body, tail]
        item = Item(title=title[0].upper() + title[1:], url=f"https://o{outlet}.example/{lang}/{i}",
                    source=f"Outlet {outlet}", summary=" ".join(body), published=when)  # fmt: skip
        out.append(Report(item, f"{lang}-e{eid}"))
    return out
