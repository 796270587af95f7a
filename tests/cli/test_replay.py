"""`newswatch replay`: archived items through matching, stories and notification, on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newswatch.cli import EXIT_CONFIG, EXIT_OK, main

ARCHIVE = Path(__file__).parents[1] / "fixtures" / "archive"
CONFIG = """
store: {store}
entities:
  us: {{aliases: ["United States", "US", "U.S.", "Washington", "White House", "Trump administration"]}}
  hamas: {{aliases: ["Hamas"]}}
watches:
  - {{name: talks, query: '@us AND @hamas AND (talks OR negotiations OR discussions)'}}
notify: {{jsonl: {out}}}
"""


def replay(
    tmp_path: Path, store_url: str, *archives: Path, extra_lines: str = ""
) -> tuple[int, list[dict[str, object]]]:
    archive = tmp_path / "archive.jsonl"
    archive.write_text(
        "".join(p.read_text(encoding="utf-8") for p in archives) + extra_lines, encoding="utf-8"
    )
    cfg = tmp_path / "cfg.yaml"
    out = tmp_path / "out.jsonl"
    cfg.write_text(CONFIG.format(store=store_url, out=out), encoding="utf-8")
    code = main(["replay", "-c", str(cfg), str(archive)])
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return code, recs


def test_replay_groups_the_story_in_file_order(tmp_path: Path, store_url: str) -> None:
    code, recs = replay(tmp_path, store_url, ARCHIVE / "story.jsonl", ARCHIVE / "traps.jsonl")
    assert code == EXIT_OK
    # story.jsonl: S1, S3, S2, S4, S5, S6 are one story (first is the alert), S7 and S8 are new stories.
    assert [r["event"] for r in recs] == ["alert"] + ["update"] * 5 + ["alert", "alert"]
    assert len({r["story"] for r in recs[:6]}) == 1
    assert len({r["story"] for r in recs}) == 3
    assert recs[0]["title"].startswith("White House confirms direct US talks")


def test_replay_twice_adds_nothing(tmp_path: Path, store_url: str) -> None:
    replay(tmp_path, store_url, ARCHIVE / "story.jsonl")
    code, recs = replay(tmp_path, store_url, ARCHIVE / "story.jsonl")
    assert code == EXIT_OK
    assert len(recs) == 8  # the file holds the first replay's records only


def test_bad_lines_are_named_and_the_rest_replayed(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = '{"title": 5}\nnot json\n{"summary": "no title, url or id"}\n["a list"]\n'
    code, recs = replay(tmp_path, store_url, ARCHIVE / "story.jsonl", extra_lines=bad)
    assert code == EXIT_OK
    assert len(recs) == 8
    err = capsys.readouterr().err
    for line, reason in [(9, "expected text"), (10, "not JSON"), (11, "needs at least"), (12, "JSON object")]:
        [text] = [t for t in err.splitlines() if "archive line skipped" in t and f" line={line}" in t]
        assert reason in text, text
    assert "bad_lines=4" in err


def test_missing_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        CONFIG.format(store=f"sqlite:///{tmp_path}/s.db", out=tmp_path / "o.jsonl"), encoding="utf-8"
    )
    assert main(["replay", "-c", str(cfg), str(tmp_path / "nope.jsonl")]) == EXIT_CONFIG
    assert "cannot read archive" in capsys.readouterr().err
