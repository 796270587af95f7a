"""A non-English outlet's day of mostly unrelated news, on a fresh store with a catch-all watch, through
`newswatch replay` (issue 20): no two reports of different events may share a story (B-cubed precision 1.0).

The days are written for the project (tests/fixtures/stories/*_day.jsonl): about 44 reports of about 34
events each, labelled with their event; a few events are told by two or three outlets.  Portuguese runs on
both stores; Spanish, French and German on SQLite (the stores decide alike: test_same_partition.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pytest

from tests.conftest import RedisServer
from tests.stories.replaying import replay

DAYS = Path(__file__).parents[1] / "fixtures" / "stories"


def gold(name: str) -> dict[str, str]:
    """url -> event of a day's fixture."""
    lines = (DAYS / name).read_text(encoding="utf-8").splitlines()
    return {row["url"]: row["event"] for row in map(json.loads, lines)}


@pytest.mark.parametrize(
    ("day", "backend"),
    [
        ("pt_day.jsonl", "sqlite"),
        ("pt_day.jsonl", "redis"),
        ("es_day.jsonl", "sqlite"),
        ("fr_day.jsonl", "sqlite"),
        ("de_day.jsonl", "sqlite"),
    ],
)
def test_a_day_of_unrelated_news_stays_apart_on_a_fresh_store(
    tmp_path: Path, request: pytest.FixtureRequest, day: str, backend: str
) -> None:
    if backend == "sqlite":
        store = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        server.flush()
        store = server.url
    events = gold(day)
    records = replay(tmp_path, store, DAYS / day)
    story = {r["url"]: r["story"] for r in records}
    assert len(records) == len(story) == len(events)  # every report recorded once
    members = defaultdict(list)
    for url, sid in story.items():
        members[sid].append(url)
    wrong = [(a, b) for urls in members.values() for a, b in combinations(urls, 2) if events[a] != events[b]]
    assert wrong == [], f"{len(wrong)} pairs of different events share a story"
