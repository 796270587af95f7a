"""`newswatch replay` is a safe backtest: a Slack token in the config posts nothing, the config's store and JSONL
file are never touched; --out, --notify and --store choose otherwise."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from newswatch.cli import EXIT_OK, main
from newswatch.store import open_store
from tests.newcomer.helpers import records, url_key
from tests.slackstub import GOOD_TOKEN, SlackStub

ARCHIVE = Path(__file__).parents[1] / "fixtures" / "archive" / "story.jsonl"
CONFIG = """
store: {store}
max_item_age: null
entities:
  us: {{aliases: ["United States", "US", "U.S.", "Washington", "White House"]}}
  hamas: {{aliases: ["Hamas"]}}
watches:
  - {{name: talks, query: '@us AND @hamas AND (talks OR negotiations OR discussions)'}}
notify:
  jsonl: alerts.jsonl
  slack: {{token: {token}, base_url: "{base}", channel: "#news"}}
"""


def urls() -> list[str]:
    return [json.loads(line)["url"] for line in ARCHIVE.read_text(encoding="utf-8").splitlines()]


def write_config(tmp_path: Path, store_url: str, slack: SlackStub) -> Path:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG.format(store=store_url, token=GOOD_TOKEN, base=slack.base_url), encoding="utf-8")
    return cfg


async def untouched(store_url: str) -> bool:
    store = open_store(store_url)
    try:
        return not await store.known_keys([url_key(u) for u in urls()]) and await store.outbox_pending() == 0
    finally:
        await store.close()


async def test_replay_posts_nothing_and_leaves_the_configs_store_and_files_alone(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SlackStub() as slack:
        cfg = write_config(tmp_path, store_url, slack)
        code = await asyncio.to_thread(main, ["replay", "-c", str(cfg), str(ARCHIVE)])
        assert code == EXIT_OK
        assert slack.calls == []  # not a post, not an update, not even auth.test
    assert not (tmp_path / "alerts.jsonl").exists()
    assert await untouched(store_url)
    out = capsys.readouterr().out
    # The backtest's own output, the console: the talks story (1 alert, 4 updates), the analysis piece, the envoy's
    # remarks and the release, each an alert of its own.
    assert out.count("[ALERT] talks:") == 4


async def test_replay_out_writes_the_records_to_a_file_of_its_own(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with SlackStub() as slack:
        cfg = write_config(tmp_path, store_url, slack)
        out = tmp_path / "backtest.jsonl"
        assert (
            await asyncio.to_thread(main, ["replay", "-c", str(cfg), str(ARCHIVE), "--out", str(out)])
            == EXIT_OK
        )
        assert slack.calls == []
    recs = records(out)
    assert [r["event"] for r in recs].count("alert") == 4 and len(recs) == 8
    assert "[ALERT]" not in capsys.readouterr().out  # the file takes them; the console stays quiet
    assert await untouched(store_url)


async def test_replay_notify_and_store_do_what_replay_did_before(tmp_path: Path, store_url: str) -> None:
    async with SlackStub() as slack:
        cfg = write_config(tmp_path, store_url, slack)
        args = ["replay", "-c", str(cfg), str(ARCHIVE), "--notify", "--store", store_url]
        assert await asyncio.to_thread(main, args) == EXIT_OK
        assert len(slack.posts) == 8  # four alerts and four thread replies
    assert len(records(tmp_path / "alerts.jsonl")) == 8
    assert not await untouched(store_url)  # asked for: the items are now seen in that store
