"""`newswatch replay`: archived items through matching, stories and notification, on both stores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from newswatch.cli import EXIT_CONFIG, EXIT_OK, main
from newswatch.cli.explain import explanation_lines
from newswatch.stories import SIGNALS

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
    tmp_path: Path, store_url: str, *archives: Path, extra_lines: str = "", explain: bool = False
) -> tuple[int, list[dict[str, object]]]:
    archive = tmp_path / "archive.jsonl"
    archive.write_text(
        "".join(p.read_text(encoding="utf-8") for p in archives) + extra_lines, encoding="utf-8"
    )
    cfg = tmp_path / "cfg.yaml"
    out = tmp_path / "out.jsonl"
    cfg.write_text(CONFIG.format(store=store_url, out=out), encoding="utf-8")
    code = main(
        [
            "replay",
            *(["--explain"] if explain else []),
            "-c",
            str(cfg),
            str(archive),
            "--store",
            store_url,
            "--notify",
        ]
    )
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return code, recs


def test_replay_groups_the_story_in_file_order(tmp_path: Path, store_url: str) -> None:
    code, recs = replay(tmp_path, store_url, ARCHIVE / "story.jsonl", ARCHIVE / "traps.jsonl")
    assert code == EXIT_OK
    # story.jsonl: S1, S3, S2, S4, S5 are one story (first is the alert); S6 (an analysis sharing too little
    # with them), S7 and S8 are new stories.
    assert [r["event"] for r in recs] == ["alert"] + ["update"] * 4 + ["alert"] * 3
    assert len({r["story"] for r in recs[:5]}) == 1
    assert len({r["story"] for r in recs}) == 4
    assert recs[0]["title"].startswith("White House confirms direct US talks")


def test_replay_explain_prints_why_each_item_joined_or_opened_a_story(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, recs = replay(tmp_path, store_url, ARCHIVE / "story.jsonl", explain=True)
    assert code == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith("explain ")]
    assert len(heads) == len(recs) == 8
    signals = " ".join(rf"{name} -?\d+\.\d{{3}}" for name in SIGNALS)
    for i, rec in zip(heads, recs, strict=True):
        assert lines[i] == f'explain {rec["event"]} talks {rec["story"]} {rec["url"]} "{rec["title"]}"'
        # First the decision in one line a person can act on: the line the alert record carries.
        assert lines[i + 1] == f"  {rec['reason']}"
        if rec["event"] == "alert":
            related = rec.get("related")
            opened = (
                f"new story, possibly related to story {related['story']}: " if related else "new story: "
            )
            assert str(rec["reason"]).startswith(opened), rec["reason"]
            continue
        joined = re.fullmatch(rf"  joined story {rec['story']}: (.+); (\d+)% sure", lines[i + 1])
        assert joined is not None, lines[i + 1]
        # Then the joined story, the best candidate, listed first with its member's signals and probability.
        best = re.fullmatch(rf"  candidate (\S+): p (\d\.\d{{3}}) member \d+ {signals}", lines[i + 2])
        assert best is not None, lines[i + 2]
        assert best[1] == rec["story"] and abs(100 * float(best[2]) - int(joined[2])) <= 0.51
    # The first item had nothing to compare with; the seed story's later reports were joined and say why.
    assert lines[heads[0] + 1] == "  new story: no earlier story in the window shares enough content"
    assert any(rec["event"] == "update" for rec in recs)


def test_explanations_strip_control_characters() -> None:
    lines = explanation_lines(
        "alert", "w\x1b[2J", "s-1", "https://x.example/\x07", "T \x1b]0;pwned\x07 end", None
    )
    assert not any(ch in "\n".join(lines) for ch in "\x1b\x07")
    assert lines == [
        'explain alert w s-1 https://x.example/ "T end"',
        "  decision: no story grouping for this item",
    ]


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
