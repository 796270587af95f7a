"""One way to point at state: --store on every command that reads it, relative paths beside the config (with a
word at start-up for a file left at the old place), `outbox --retry` and digest send times."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from newswatch.cli import EXIT_OK, EXIT_STARTUP, main
from newswatch.config import load_config
from newswatch.store import open_store
from tests.newcomer.helpers import records, rss
from tests.store.test_store import claim, record, sighting

FEED = rss("Wire", [{"title": "US and Hamas hold direct talks", "link": "https://wire.example/1"}])
CONFIG = """
{store}
feeds: [{{url: wire.xml, name: Wire}}]
watches:
  - {{name: talks, query: talks}}
  - {{name: later, query: talks, digest: daily}}
notify: {{jsonl: alerts.jsonl}}
"""


def test_feeds_store_shows_the_runs_feeds(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "wire.xml").write_text(FEED, encoding="utf-8")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG.format(store=""), encoding="utf-8")  # the config names no store
    assert main(["run", "-c", str(cfg), "--once", "--store", store_url]) == EXIT_OK
    capsys.readouterr()
    assert main(["feeds", "-c", str(cfg), "--store", store_url, "--json"]) == EXIT_OK
    [row] = json.loads(capsys.readouterr().out)
    assert row["feed"] == "Wire" and row["items_seen"] == 1 and row["last_success"]
    for command in (["outbox"], ["mutes"], ["why", "https://wire.example/1"]):
        assert main([*command, "-c", str(cfg), "--store", store_url]) == EXIT_OK
    out = capsys.readouterr().out
    assert "waiting: 0" in out and "no mutes" in out and 'watch "talks": matched, alert' in out


def test_relative_paths_resolve_beside_the_config_and_the_old_place_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "conf"
    home.mkdir()
    (home / "wire.xml").write_text(FEED, encoding="utf-8")
    cfg = home / "cfg.yaml"
    cfg.write_text(CONFIG.format(store="store: sqlite:///state/nw.db"), encoding="utf-8")
    elsewhere = tmp_path / "cron"
    (elsewhere / "state").mkdir(parents=True)
    (elsewhere / "state" / "nw.db").write_bytes(b"")  # what an older newswatch made here, from cron's cwd
    monkeypatch.chdir(elsewhere)
    assert load_config(cfg).config.store == f"sqlite:///{home / 'state' / 'nw.db'}"
    assert main(["run", "-c", str(cfg), "--once"]) == EXIT_OK
    assert (home / "state" / "nw.db").stat().st_size > 0 and len(records(home / "alerts.jsonl")) == 2
    assert (elsewhere / "state" / "nw.db").stat().st_size == 0 and not (elsewhere / "alerts.jsonl").exists()
    err = capsys.readouterr().err
    assert "a file exists at the old place" in err and str(elsewhere / "state" / "nw.db") in err


async def test_outbox_retry_and_digest_due_time(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG.format(store=f"store: {store_url}"), encoding="utf-8")
    store = open_store(store_url)
    try:
        for i in range(2):
            await record(store, sighting(f"guid:{i}"), [claim("talks", ("slack:#gone",))])
        await record(store, sighting("guid:d"), [claim("later", ("slack:#news|digest:daily",))])
        parked = await store.outbox_head("slack:#gone", 10)
        await store.outbox_park("slack:#gone", [e.id for e in parked], "channel_not_found")
    finally:
        await store.close()
    out = await _cli(["outbox", "-c", str(cfg)], capsys)
    assert "parked: 2" in out and "outbox --retry" in out
    assert "slack:#news|digest:daily: 1 (digest due " in out and " 00:00 UTC" in out
    assert "queued 2 parked record(s)" in await _cli(["outbox", "-c", str(cfg), "--retry"], capsys)
    out = await _cli(["outbox", "-c", str(cfg)], capsys)
    assert "parked: 0" in out and "slack:#gone: 2" in out


async def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert await asyncio.to_thread(main, argv) == EXIT_OK
    return capsys.readouterr().out


def test_compose_ships_the_config_it_runs_and_docker_keeps_state_on_a_volume() -> None:
    import yaml

    root = Path(__file__).parents[2]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"]["newswatch"]
    mount = next(v for v in service["volumes"] if v.endswith(":/etc/newswatch:ro"))
    config = root / mount.split(":")[0] / Path(service["command"][-1]).relative_to("/etc/newswatch")
    env = {"NEWSWATCH_STORE": service["environment"]["NEWSWATCH_STORE"], "NEWSWATCH_HTTP_LISTEN": ":9464"}
    loaded = load_config(config, environ=env)  # the template compose uses exists and is valid
    assert loaded.config.store == "redis://redis:6379/0" and all(
        Path(f.url).exists() for f in loaded.config.feeds
    )
    docker = (root / "Dockerfile").read_text(encoding="utf-8")
    assert "VOLUME /home/newswatch/state" in docker and "XDG_STATE_HOME=/home/newswatch/state" in docker
    assert any(v.startswith("newswatch-state:/home/newswatch/state") for v in service["volumes"])


def test_a_command_that_reads_state_never_creates_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG.format(store="store: sqlite:///state.db"), encoding="utf-8")
    for command in (["feeds"], ["outbox"], ["mutes"], ["why", "https://wire.example/1"]):
        assert main([*command, "-c", str(cfg)]) == EXIT_STARTUP
    assert not (tmp_path / "state.db").exists()
    assert f"no store at {tmp_path / 'state.db'} yet" in capsys.readouterr().err
