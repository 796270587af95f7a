"""The deployment's story settings on the real path (`newswatch replay` on a fresh store, both backends): a
configured ``stories.threshold`` decides from the first item, and a near miss is posted as a new alert
"possibly related" to the earlier story unless ``related`` is off (issue 20).

The weights file these tests configure has no weights at all: every pair above the content floor scores
p = 0.5 exactly, so the outcome depends on the threshold and the band alone, never on a fit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from newswatch import constants as C
from newswatch.config import load_config
from newswatch.recorder import story_models
from tests.stories.items import CAIRO, COPY, TALKS, model, write_weights
from tests.stories.replaying import replay, write_archive


@pytest.fixture(autouse=True)
def one_item_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each item its own store batch: the second item's candidate is the record the store read back."""
    monkeypatch.setattr(C, "REPLAY_BATCH", 1)


@pytest.fixture
def pair(tmp_path: Path) -> Path:
    """The first report and its syndicated copy, two hours later: above the content floor (p = 0.5)."""
    return write_archive(tmp_path / "pair.jsonl", [TALKS, COPY])


def events(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["event"], r["story"]) for r in records]


def test_a_configured_threshold_is_used_from_the_first_item(
    tmp_path: Path, pair: Path, fresh_store: Callable[[], str]
) -> None:
    weights = write_weights(tmp_path / "w.json", model(threshold=0.6))  # fitted threshold 0.6, no band
    # The fitted threshold: 0.5 is short of it, the copy opens its own story.
    first, second = replay(tmp_path, fresh_store(), pair, stories=f"stories: {{weights: {weights}}}")
    assert (first["event"], second["event"]) == ("alert", "alert") and first["story"] != second["story"]
    assert second["reason"].startswith(f"new story: closest is story {first['story']}, 50% sure (")
    assert second["reason"].endswith("; joins from 60%)")
    # A lower threshold in the config: the second item of a fresh store joins the first.
    low = f"stories: {{weights: {weights}, threshold: 0.4}}"
    first, second = replay(tmp_path, fresh_store(), pair, stories=low)
    assert events([first, second]) == [("alert", first["story"]), ("update", first["story"])]
    assert second["reason"].startswith(f"joined story {first['story']}: ") and second["reason"].endswith(
        "; 50% sure"
    )
    # A higher one: apart again.
    high = f"stories: {{weights: {weights}, threshold: 0.9}}"
    assert [r["event"] for r in replay(tmp_path, fresh_store(), pair, stories=high)] == ["alert", "alert"]
    # Below the content floor, no threshold joins: the Cairo talks share no content with the Doha talks.
    trap = write_archive(tmp_path / "trap.jsonl", [TALKS, CAIRO])
    lowest = f"stories: {{weights: {weights}, threshold: 0.000001}}"
    assert [r["event"] for r in replay(tmp_path, fresh_store(), trap, stories=lowest)] == ["alert", "alert"]


def test_the_configured_threshold_is_the_recorders(tmp_path: Path) -> None:
    weights = write_weights(tmp_path / "w.json", model(threshold=0.6, related=0.4))
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        f"watches:\n  - {{name: a, query: x}}\n  - {{name: b, query: y, related: false}}\n"
        f"stories: {{weights: {weights}, threshold: 0.3}}\n",
        encoding="utf-8",
    )
    default, by_watch = story_models(load_config(cfg).config)
    assert default.threshold == 0.3 and 0.0 < default.related < 0.3  # the band keeps its width below it
    assert set(by_watch) == {"b"} and by_watch["b"].threshold == by_watch["b"].related == 0.3


def test_a_near_miss_is_a_new_alert_possibly_related_to_the_earlier_story(
    tmp_path: Path, pair: Path, fresh_store: Callable[[], str]
) -> None:
    weights = write_weights(tmp_path / "w.json", model(threshold=0.6, related=0.4))  # 0.5 is in the band
    first, second = replay(tmp_path, fresh_store(), pair, stories=f"stories: {{weights: {weights}}}")
    assert (first["event"], second["event"]) == ("alert", "alert") and first["story"] != second["story"]
    assert "related" not in first
    assert second["related"] == {"story": first["story"], "title": TALKS.title, "url": TALKS.url}
    assert second["reason"].startswith(f"new story, possibly related to story {first['story']}: ")
    assert second["reason"].endswith("; 50% sure it is the same event (joins from 60%)")


@pytest.mark.parametrize(
    ("stories", "watch", "related"),
    [
        ("related: false", "", False),  # off for every watch
        ("related: false", ", related: true", True),  # on for this watch
        ("", ", related: false", False),  # off for this watch
    ],
)
def test_possibly_related_alerts_can_be_turned_off(
    tmp_path: Path, pair: Path, fresh_store: Callable[[], str], stories: str, watch: str, related: bool
) -> None:
    weights = write_weights(tmp_path / "w.json", model(threshold=0.6, related=0.4))
    config = f"stories: {{weights: {weights}{', ' + stories if stories else ''}}}"
    first, second = replay(tmp_path, fresh_store(), pair, stories=config, watch=watch)
    assert (first["event"], second["event"]) == ("alert", "alert")
    if related:
        assert second["related"]["story"] == first["story"]
    else:
        assert "related" not in second
        assert second["reason"].startswith(f"new story: closest is story {first['story']}, 50% sure")


def test_replay_explain_leads_with_the_reason(
    tmp_path: Path, pair: Path, fresh_store: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    weights = write_weights(tmp_path / "w.json", model(threshold=0.6, related=0.4))
    capsys.readouterr()
    first, second = replay(
        tmp_path, fresh_store(), pair, stories=f"stories: {{weights: {weights}}}", explain=True
    )
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("explain ", "  "))]
    heads = [i for i, line in enumerate(lines) if line.startswith("explain ")]
    assert len(heads) == 2
    assert (
        lines[heads[0] + 1]
        == f"  {first['reason']}"
        == "  new story: no earlier story in the window shares enough content"
    )
    assert lines[heads[1]].startswith(f"explain alert all {second['story']} {COPY.url} ")
    assert lines[heads[1] + 1] == f"  {second['reason']}"
    assert lines[heads[1] + 2].startswith(f"  candidate {first['story']}: p 0.500 member 0 body ")


SEED = Path(__file__).parents[1] / "fixtures" / "archive" / "story.jsonl"
TALKS_WATCH = """
entities:
  us: {aliases: ["United States", "US", "U.S.", "Washington", "White House", "Trump administration"]}
  hamas: {aliases: ["Hamas"]}
"""


def test_a_report_above_the_content_floor_finds_the_story(
    tmp_path: Path, fresh_store: Callable[[], str]
) -> None:
    """With weights that join whatever passes the content floor, the seed story's first report and its Gulf Daily
    Review rewrite (a day later, in its own words) are one story in the talks watch."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    archive = tmp_path / "s1-s4.jsonl"
    archive.write_text(f"{lines[0]}\n{lines[4]}\n", encoding="utf-8")
    weights = write_weights(tmp_path / "w.json", model(intercept=10.0))
    query = "'@us AND @hamas AND (talks OR negotiations OR discussions)'"
    stories = f"stories: {{weights: {weights}}}"
    first, second = replay(
        tmp_path, fresh_store(), archive, stories=stories, query=query, preamble=TALKS_WATCH
    )
    assert "gulfreview" in second["url"]
    assert (second["event"], second["story"]) == ("update", first["story"]), second["reason"]
