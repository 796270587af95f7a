"""One archive through `newswatch replay` on SQLite and on Redis: the same stories, the same explanations.

The stores only read candidates and apply placements (the decision is :mod:`newswatch.stories`), so the same
stream must give the same partition on both, whatever the batch boundaries fall on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newswatch import constants as C
from newswatch.cli import EXIT_OK, main
from tests.conftest import RedisServer

ARCHIVE = Path(__file__).parents[1] / "fixtures" / "archive"
# How the lines under an "explain" head begin (the console notifier prints its own indented lines too).
REASONS = ("  new story", "  joined story ")
EXPLAINED = (*REASONS, "  candidate ", "  decision: ", "  ... ")
CONFIG = """
store: {store}
max_item_age: null
watches:
  - {{name: everything, query: '*'}}
notify: {{jsonl: {out}}}
"""


def replay(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> tuple[list[tuple[str, str]], str]:
    """(url, story) per record, and what --explain printed."""
    out = tmp_path / f"{store.split(':')[0]}.jsonl"
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG.format(store=store, out=out), encoding="utf-8")
    archive = tmp_path / "archive.jsonl"
    archive.write_text(
        "".join((ARCHIVE / name).read_text(encoding="utf-8") for name in ("story.jsonl", "traps.jsonl")),
        encoding="utf-8",
    )
    capsys.readouterr()
    assert (
        main(["replay", "--explain", "-q", "-c", str(cfg), str(archive), "--store", store, "--notify"])
        == EXIT_OK
    )
    printed = capsys.readouterr().out
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return [(r["url"], r["story"]) for r in recs], "\n".join(
        line for line in printed.splitlines() if line.startswith(("explain ", *EXPLAINED))
    )


def test_one_archive_makes_the_same_stories_on_sqlite_and_redis(
    tmp_path: Path,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(C, "REPLAY_BATCH", 5)  # batch boundaries inside the stories, on both stores
    redis_server.flush()
    on_sqlite, explained_sqlite = replay(tmp_path, f"sqlite:///{tmp_path}/state.db", capsys)
    on_redis, explained_redis = replay(tmp_path, redis_server.url, capsys)
    assert len(on_sqlite) == 12  # the 8 story items and the 4 traps, each recorded once
    assert on_redis == on_sqlite
    assert explained_redis == explained_sqlite
    assert explained_sqlite.count("explain ") == 12
    # Each explanation leads with its reason, the same on both stores.
    lines = explained_sqlite.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith("explain ")]
    assert all(lines[i + 1].startswith(REASONS) for i in heads), explained_sqlite
    # Stories are not all one: the stream is split somewhere, and joined somewhere.
    assert 1 < len({story for _, story in on_sqlite}) < 12
