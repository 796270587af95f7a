"""The archive and `newswatch backfill`: a report missed before an alias fix is alerted once afterwards."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newswatch.archiving import ArchiveWriter, archive_files
from newswatch.cli import EXIT_CONFIG, EXIT_OK, main
from newswatch.feeds.archive import BadLine, read_archive
from tests.newcomer.helpers import records, rss

MISSED = "https://wire.example/2026/alaska-grounds-737-max-9"
CONFIG = """
store: {store}
archive: archive
archive_days: 2
feeds:
  - {{url: wire.xml, name: Wire}}
entities:
  boeing: {{aliases: [{alias}]}}
watches:
  - {{name: groundings, query: '@boeing AND grounded'}}
  - {{name: airlines, query: 'airlines'}}
notify: {{jsonl: alerts.jsonl}}
"""


def write(tmp_path: Path, store_url: str, alias: str) -> Path:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG.format(store=store_url, alias=alias), encoding="utf-8")
    return cfg


MISSED_ITEM = {"title": "Alaska Airlines grounds 737 Max 9 jets", "link": MISSED,
               "description": "Every 737 Max 9 was grounded after a door plug blew out."}  # fmt: skip


def test_backfill_alerts_a_report_missed_before_an_alias_fix_once(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "wire.xml").write_text(rss("Wire", [MISSED_ITEM]), encoding="utf-8")
    cfg = write(tmp_path, store_url, '"737 MAX 9"')  # in capitals: misses the AP-style "737 Max 9"
    assert main(["run", "-c", str(cfg), "--once"]) == EXIT_OK
    assert [r["watch"] for r in records(tmp_path / "alerts.jsonl")] == ["airlines"]

    [day] = sorted((tmp_path / "archive").iterdir())  # beside the config, one file a day, replay format
    [item] = [e for e in read_archive(day) if not isinstance(e, BadLine)]
    assert item.url == MISSED and "door plug" in item.summary
    assert json.loads(day.read_text(encoding="utf-8").splitlines()[0])["seen"]

    # The report has left its feed by the time the alias is fixed: polling again cannot help.  (One still in its
    # feed is matched again by the next poll: the test below.)
    (tmp_path / "wire.xml").write_text(rss("Wire", []), encoding="utf-8")
    write(tmp_path, store_url, '{text: "737 MAX 9", case_sensitive: false}')
    assert main(["run", "-c", str(cfg), "--once"]) == EXIT_OK
    assert len(records(tmp_path / "alerts.jsonl")) == 1

    assert main(["backfill", "-c", str(cfg), "--since", "1h"]) == EXIT_OK
    recs = records(tmp_path / "alerts.jsonl")
    assert [(r["watch"], r["event"], r["url"]) for r in recs] == [
        ("airlines", "alert", MISSED),
        ("groundings", "alert", MISSED),  # the missed report, now; "airlines" had it already
    ]
    assert main(["backfill", "-c", str(cfg), "--since", "1h"]) == EXIT_OK  # once
    assert main(["run", "-c", str(cfg), "--once"]) == EXIT_OK
    assert main(["replay", "-c", str(cfg), str(day)]) == EXIT_OK  # a backtest of the day file
    assert len(records(tmp_path / "alerts.jsonl")) == 2
    assert (
        len(day.read_text(encoding="utf-8").splitlines()) == 1
    )  # neither backfill nor replay archived again


def test_a_report_still_in_its_feed_is_alerted_by_the_next_poll_after_the_fix_and_backfill_adds_nothing(
    tmp_path: Path, store_url: str
) -> None:
    # Items are remembered with the watch set that matched them: after the fix the feed is read whole once and
    # its items matched again, so the missed report alerts at the next poll, once; a backfill then has nothing
    # left to send.
    (tmp_path / "wire.xml").write_text(rss("Wire", [MISSED_ITEM]), encoding="utf-8")
    cfg = write(tmp_path, store_url, '"737 MAX 9"')
    assert main(["run", "-c", str(cfg), "--once"]) == EXIT_OK
    write(tmp_path, store_url, '{text: "737 MAX 9", case_sensitive: false}')
    assert main(["run", "-c", str(cfg), "--once"]) == EXIT_OK
    assert main(["run", "-c", str(cfg), "--once"]) == EXIT_OK
    assert main(["backfill", "-c", str(cfg), "--since", "1h"]) == EXIT_OK
    recs = records(tmp_path / "alerts.jsonl")
    assert [(r["watch"], r["event"], r["url"]) for r in recs] == [
        ("airlines", "alert", MISSED),
        ("groundings", "alert", MISSED),  # at the poll after the fix; "airlines" stayed quiet
    ]


def test_backfill_one_watch_and_bad_arguments(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "wire.xml").write_text(
        rss("Wire", [{"title": "Boeing 737 MAX 9 grounded; airlines cancel flights", "link": MISSED}]),
        encoding="utf-8",
    )
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG.format(store=store_url, alias='"Airbus"'), encoding="utf-8")
    assert main(["run", "-c", str(cfg), "--once"]) == EXIT_OK
    assert [r["watch"] for r in records(tmp_path / "alerts.jsonl")] == ["airlines"]
    write(tmp_path, store_url, '"737 MAX 9"')
    assert main(["backfill", "-c", str(cfg), "--since", "2h", "--watch", "airlines"]) == EXIT_OK
    assert len(records(tmp_path / "alerts.jsonl")) == 1  # only that watch, which had it
    assert main(["backfill", "-c", str(cfg), "--since", "2h", "--watch", "groundings"]) == EXIT_OK
    assert [r["watch"] for r in records(tmp_path / "alerts.jsonl")] == ["airlines", "groundings"]

    assert main(["backfill", "-c", str(cfg), "--since", "2h", "--watch", "nope"]) == EXIT_CONFIG
    assert main(["backfill", "-c", str(cfg), "--since", "soon"]) == EXIT_CONFIG
    (tmp_path / "bare.yaml").write_text(f"store: {store_url}\n", encoding="utf-8")
    assert main(["backfill", "-c", str(tmp_path / "bare.yaml"), "--since", "1h"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "no watch named 'nope'" in err and "keeps no archive" in err


async def test_the_archive_rotates_daily_and_keeps_archive_days(tmp_path: Path) -> None:
    now = [datetime(2026, 3, 1, 23, 59, tzinfo=UTC)]
    writer = ArchiveWriter(tmp_path / "archive", 2, clock=lambda: now[0])
    for day in range(4):
        now[0] = datetime(2026, 3, 1, 23, 59, tzinfo=UTC) + timedelta(days=day)
        await writer.write([json.dumps({"title": f"day {day}", "url": f"https://x.example/{day}"})])
    names = sorted(p.name for p in (tmp_path / "archive").iterdir())
    assert names == ["2026-03-03.jsonl", "2026-03-04.jsonl"]  # one file a UTC day, the latest two kept
    line = json.loads((tmp_path / "archive" / "2026-03-04.jsonl").read_text(encoding="utf-8"))
    assert line == {"seen": "2026-03-04T23:59:00+00:00", "title": "day 3", "url": "https://x.example/3"}
    assert [p.name for p in archive_files(tmp_path / "archive", now[0] - timedelta(hours=1))] == [
        "2026-03-04.jsonl"
    ]
