"""`newswatch why URL`: what happened to one item, from the decision record kept in the store (both stores);
and `-v` logs every skip and fold as it happens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newswatch.cli import EXIT_OK, main
from newswatch.cli.why import explain_item
from newswatch.config import load_config
from newswatch.cpu import Outcome
from newswatch.decisions import recorded
from newswatch.models import Match
from newswatch.store import open_store
from newswatch.store.base import Event, Recorded, Seen, Sighted, Sighting
from tests.newcomer.helpers import rss, url_key
from tests.slackstub import GOOD_TOKEN, SlackStub

ORIGINAL = "https://outlet.example/2026/us-hamas-talks"
COPY = ORIGINAL + "?utm_source=agg&utm_medium=rss"
OLD = "https://outlet.example/2020/old-talks"
OTHER = "https://outlet.example/2026/cairo-weather"
CONFIG = """
store: {store}
max_item_age: 3d
feeds:
  - {{url: outlet.xml, name: Outlet}}
  - {{url: aggregator.xml, name: Aggregator}}
entities:
  us: {{aliases: ["US", "United States"]}}
  hamas: {{aliases: ["Hamas"]}}
watches:
  - {{name: talks, query: '@us AND @hamas AND talks'}}
notify: {{jsonl: alerts.jsonl}}
"""


def setup(tmp_path: Path, store_url: str) -> Path:
    (tmp_path / "outlet.xml").write_text(
        rss("Outlet", [
            {"title": "US and Hamas hold direct talks", "link": ORIGINAL, "description": "Envoys met in Doha."},
            {"title": "US and Hamas talks, years ago", "link": OLD, "age": timedelta(days=10)},
            {"title": "Sunny week ahead in Cairo", "link": OTHER, "description": "No rain until Friday."},
        ]),
        encoding="utf-8",
    )  # fmt: skip
    (tmp_path / "aggregator.xml").write_text(
        rss("Aggregator", [{"title": "US and Hamas hold direct talks", "link": COPY, "description": "Envoys met in Doha."}]),
        encoding="utf-8",
    )  # fmt: skip
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG.format(store=store_url), encoding="utf-8")
    return cfg


def why(cfg: Path, url: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["why", "-c", str(cfg), url]) == EXIT_OK
    return capsys.readouterr().out


def test_why_says_what_happened_to_each_item(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = setup(tmp_path, store_url)
    assert main(["run", "-c", str(cfg), "--once", "-v"]) == EXIT_OK
    log = capsys.readouterr().err
    # -v: every skip and fold, as documented
    assert "item skipped: too old" in log and OLD in log
    assert "item folded into an item seen before" in log
    assert "item matched no watch" in log and OTHER in log

    out = why(cfg, ORIGINAL, capsys)
    assert "from feed" in out and "outlet.xml (Outlet)" in out
    assert 'watch "talks": matched, alert: opened story s-' in out
    assert "jsonl: delivered" in out

    out = why(cfg, COPY, capsys)  # the aggregator's copy, as a user would paste it
    assert "aggregator.xml (Aggregator)" in out
    assert "folded into the item first seen" in out and "outlet.xml" in out
    assert "same text as seen before: nothing to do" in out

    out = why(cfg, OLD, capsys)
    assert "skipped: too old (published more than max_item_age 3d before)" in out

    out = why(cfg, OTHER, capsys)
    assert "matched no watch" in out
    assert '"talks": failed @us' in out  # today's watch and the clause that fails

    out = why(cfg, "https://outlet.example/never-polled", capsys)
    assert "never seen" in out


def test_why_tells_a_change_of_watches_from_a_new_text(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # An item is remembered with the watch set that matched it: after a watch is added it is matched again,
    # which is no new text of it.
    cfg = setup(tmp_path, store_url)
    assert main(["run", "-c", str(cfg), "--once"]) == EXIT_OK
    weather = "  - {name: weather, query: 'rain'}\nnotify:"
    cfg.write_text(CONFIG.format(store=store_url).replace("notify:", weather), encoding="utf-8")
    assert main(["run", "-c", str(cfg), "--once"]) == EXIT_OK
    out = why(cfg, OTHER, capsys)
    assert "the same text, matched again: the watches changed since it was seen" in out
    assert "a new text of an item seen before" not in out
    assert 'watch "weather": matched, alert: opened story s-' in out

    (tmp_path / "outlet.xml").write_text(
        rss("Outlet", [{"title": "Sunny week ahead in Cairo", "link": OTHER,
                        "description": "No rain until Friday, then showers and rain all weekend."}]),
        encoding="utf-8",
    )  # fmt: skip
    assert main(["run", "-c", str(cfg), "--once"]) == EXIT_OK
    out = why(cfg, OTHER, capsys)
    assert "a new text of an item seen before: matched again" in out  # a longer text is one
    assert 'watch "weather": matched; it had reported this item already' in out


def test_why_after_a_store_without_notes_and_bad_urls(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = setup(tmp_path, store_url)
    assert main(["why", "-c", str(cfg), "not a url"]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err


async def test_why_tells_a_digest_due_time_and_a_slack_delivery(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(tmp_path, store_url)
    async with SlackStub() as slack:
        cfg = tmp_path / "slack.yaml"
        cfg.write_text(
            f"store: {store_url}\nfeeds: [{{url: outlet.xml, name: Outlet}}]\n"
            "watches:\n  - {name: now, query: talks}\n  - {name: later, query: talks, digest: daily}\n"
            f"notify: {{slack: {{token: {GOOD_TOKEN}, base_url: '{slack.base_url}', channel: '#news'}}}}\n",
            encoding="utf-8",
        )
        assert await asyncio.to_thread(main, ["run", "-c", str(cfg), "--once"]) == EXIT_OK
        assert len(slack.posts) == 1  # the digest waits for midnight
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["why", "-c", str(cfg), ORIGINAL]) == EXIT_OK
    out = capsys.readouterr().out
    assert "slack:#news: delivered 20" in out  # the Slack message's own time
    assert "slack:#news|digest:daily: in a daily digest due " in out and " 00:00 UTC" in out


async def test_a_story_decisions_reason_is_kept_and_shown(tmp_path: Path, store_url: str) -> None:
    key = url_key(ORIGINAL)
    outcome = Outcome((key,), "fp", 10, None, "https://outlet.example/rss", "Talks", ORIGINAL, "Outlet",
                      (Match("talks", ("talks",)),))  # fmt: skip
    event = Event("talks", "s-1", "update", ("7",), reason="joined: p 0.71 >= threshold 0.43")
    note = recorded(outcome, Sighted(Sighting((key,), "fp", 10, 60, 0.0)), Recorded(key, Seen.NEW, (event,)),
                    datetime.now(UTC))  # fmt: skip
    store = open_store(store_url)
    try:
        await store.add_notes([note], 60)
        lines = await explain_item(load_config(setup(tmp_path, store_url)).config, store, ORIGINAL, key)
    finally:
        await store.close()
    assert '      watch "talks": matched, update: joined story s-1' in lines
    assert "        why: joined: p 0.71 >= threshold 0.43" in lines
