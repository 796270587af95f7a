"""The corpora story grouping is evaluated on, each of one *kind*: the unit a leave-one-kind-out fold holds out.

| kind | corpora | what it tests |
|---|---|---|
| lookalike | ECB+ dev (``../shared/data``) | two similar events per topic (two rehab entries, two earthquakes) |
| headlines | UCI news aggregator (``../shared/data``) | titles only, many syndicated copies |
| synthetic | ``../shared/bench/synth_stories.py`` (first 100 feeds), :mod:`storygen` streams | distinct events that share numbers, common words, a language's function words, boilerplate, topic words (look-alikes) |
| nonenglish | ``tests/fixtures/stories/{pt,es,fr,de}_day.jsonl`` | a day of an outlet mix in another language, mostly unrelated news |
| outlets | ``tests/fixtures/stories/politics_outlets.jsonl`` | ten political events told by many outlets in their own words, sharing big names |
| traps | ``tests/fixtures/stories/{overlaps,aviation}.jsonl`` | distinct events sharing numbers, surnames, boilerplate, a company |

The fixture corpora were written for the project (original fiction; see tests/fixtures/stories/README.md).  A
corpus whose data is missing is skipped with a note.  Every corpus is a stream in publication order (ECB+ has
no dates: one time for all, in file order).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from newswatch.models import Item
from storygen import Report, common_words, events

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = REPO / "tests" / "fixtures" / "stories"
KINDS = ("lookalike", "headlines", "synthetic", "nonenglish", "outlets", "traps")


@dataclass(frozen=True)
class Corpus:
    name: str
    kind: str
    reports: list[Report]

    @property
    def items(self) -> list[Item]:
        return [r.item for r in self.reports]

    @property
    def gold(self) -> list[str]:
        return [r.gold for r in self.reports]


def ecb(path: Path) -> Corpus:
    reports = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            item = Item(title=row["title"], url=row["url"], source="ecbplus", content=row["content"])
            reports.append(Report(item, row["event_cluster"]))
    return Corpus("ecb+ dev", "lookalike", reports)


def uci(path: Path, every: int = 1) -> Corpus:
    """UCI headlines in time order; ``every``: keep the stories whose index is a multiple (a smaller stream)."""
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    stories = sorted({r["STORY"] for r in rows})
    kept = set(stories[::every])
    reports: list[tuple[int, Report]] = []
    for r in rows:
        if r["STORY"] not in kept:
            continue
        # TIMESTAMP is when the aggregator crawled a story (its reports within seconds of each other), not when
        # they were published: read as a publication time it would teach that a report seconds apart is the
        # same story.  It only orders the stream; the items carry no date, as ECB+'s.
        item = Item(title=r["TITLE"], url=r["URL"], source=r["PUBLISHER"])
        reports.append((int(r["TIMESTAMP"]), Report(item, r["STORY"])))
    reports.sort(key=lambda tr: tr[0])
    return Corpus(
        "uci headlines" + (f" (1 story in {every})" if every > 1 else ""),
        "headlines",
        [r for _, r in reports],
    )


def shared_synth(script: Path, feeds: int = 100, items: int = 20) -> Corpus:
    """The first ``feeds`` feeds of the shared generator's 500 x 20 workload, in publication order."""
    from lxml import etree

    with tempfile.TemporaryDirectory(prefix="synth-") as tmp:
        subprocess.run([sys.executable, str(script), tmp, "--feeds", "500", "--items", str(items)],
                       check=True, capture_output=True)  # fmt: skip
        gold = {}
        for line in (Path(tmp) / "gold.jsonl").read_text().splitlines():
            row = json.loads(line)
            gold[row["url"]] = row["event_cluster"]
        reports = []
        for f in range(feeds):
            root = etree.parse(str(Path(tmp) / "feeds" / f"f{f:05d}.xml"))
            for it in root.iter("item"):
                link = it.findtext("link") or ""
                body = etree.fromstring(f"<x>{it.findtext('description') or ''}</x>").xpath("string()")
                published = datetime.strptime(it.findtext("pubDate") or "", "%a, %d %b %Y %H:%M:%S %Z")
                item = Item(title=it.findtext("title") or "", url=link, source=f"Outlet {f}", summary=body,
                            published=published.replace(tzinfo=UTC))  # fmt: skip
                reports.append(Report(item, gold[link]))
    reports.sort(key=lambda r: (r.item.published, r.item.url))
    return Corpus(f"shared synth ({feeds}x{items})", "synthetic", reports)


def fixture(path: Path, kind: str) -> Corpus:
    reports = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        published = datetime.fromisoformat(row["published"]).astimezone(UTC)
        item = Item(title=row["title"], url=row["url"], source=row["source"], summary=row["summary"],
                    published=published)  # fmt: skip
        reports.append(Report(item, row["event"]))
    reports.sort(key=lambda r: (r.item.published, r.item.url))
    return Corpus(path.stem, kind, reports)


FIXTURE_KINDS = {
    "pt_day": "nonenglish",
    "es_day": "nonenglish",
    "fr_day": "nonenglish",
    "de_day": "nonenglish",
    "politics_outlets": "outlets",
    "overlaps": "traps",
    "aviation": "traps",
}


def load_all(*, data: Path = SHARED / "data", uci_every: int = 2, note: bool = True) -> list[Corpus]:
    """Every corpus that can be loaded here, in :data:`KINDS` order."""
    out: list[Corpus] = []

    def skip(what: str) -> None:
        if note:
            print(f"  (skipped {what})", flush=True)

    if (data / "ecbplus-dev.jsonl").exists():
        out.append(ecb(data / "ecbplus-dev.jsonl"))
    else:
        skip(f"ECB+: no {data / 'ecbplus-dev.jsonl'}")
    if (data / "uci-news-subset.csv").exists():
        out.append(uci(data / "uci-news-subset.csv", uci_every))
    else:
        skip(f"UCI: no {data / 'uci-news-subset.csv'}")
    script = SHARED / "bench" / "synth_stories.py"
    if script.exists():
        out.append(shared_synth(script))
    else:
        skip(f"the shared synthetic workload: no {script}")
    out.append(Corpus("common words", "synthetic", common_words()))
    for lang in ("pt", "de"):
        out.append(Corpus(f"events in {lang}", "synthetic", events(lang)))
    out.append(Corpus("events with boilerplate", "synthetic", events("en", boilerplate=True)))
    out.append(Corpus("look-alike events", "synthetic", events("en", lookalike=True)))
    for stem, kind in FIXTURE_KINDS.items():
        path = FIXTURES / f"{stem}.jsonl"
        if path.exists():
            out.append(fixture(path, kind))
        else:
            skip(f"{path.name}: not written yet")
    return sorted(out, key=lambda c: KINDS.index(c.kind))


def kinds(corpora: Iterable[Corpus]) -> list[str]:
    present = {c.kind for c in corpora}
    return [k for k in KINDS if k in present]
