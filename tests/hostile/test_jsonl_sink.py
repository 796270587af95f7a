"""The JSONL sink after a full disk and under logrotate (issue 21 point 9), on both stores.

* The disk fills in the middle of a line: the part line is cut back, the outbox retries, and once there is room
  again every record is in the file exactly once, every line whole JSON (before: the failed line stayed in
  Python's buffer and was written again with the retry, 4 lines for 3 records).
* logrotate renames the file between two cycles of one running service: the next line goes to a new file at
  the configured path, none to the rotated one after the rename.

The full disk is a real one: a 64 KB tmpfs mounted for the test (root only; skipped where mounting is refused).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newswatch.app import open_app
from newswatch.config import load_config
from tests.feedserver import FeedServer
from tests.hostile.tmpfs import rss, small_disk

PAGE = 4096


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", "64k") as where:
        yield where


def write_config(tmp_path: Path, store_url: str, feed_url: str, jsonl: Path) -> Path:
    path = tmp_path / "newswatch.yaml"
    path.write_text(
        f"store: {store_url}\nmax_item_age: null\nfeeds:\n  - {{url: {feed_url}}}\n"
        f"watches:\n  - {{name: Hamas, query: 'Hamas'}}\nnotify:\n  jsonl: {jsonl}\n",
        encoding="utf-8",
    )
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
    ]  # each line whole JSON


async def test_a_full_disk_mid_line_writes_each_record_once_when_room_comes_back(
    tmp_path: Path, store_url: str, disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="newswatch")
    out = disk / "alerts.jsonl"
    filler = disk / "filler"
    filler.write_bytes(b"x" * (64 * 1024 - PAGE))  # one page left: a few lines, then a line cut by ENOSPC
    items = range(20)  # ~500 bytes a line: 10 KB, over twice the room left
    async with FeedServer() as server:
        server.add("/wire.xml", rss(items))
        path = write_config(tmp_path, store_url, server.url("/wire.xml"), out)
        async with open_app(load_config(path)) as app:
            cycle = asyncio.create_task(app.pipeline.run_once())
            for _ in range(300):  # the disk fills: the outbox is told and will retry
                if any("cannot write JSONL file" in str(getattr(r, "error", "")) for r in caplog.records):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the disk never filled")
            partial = lines(out)  # what is in the file while the disk is full: whole lines only
            assert 0 < len(partial) < len(items)
            filler.unlink()  # room again: the retry goes through
            report = await cycle
    got = lines(out)
    assert [r["url"] for r in got] == [f"https://wire.example/{i}" for i in items]  # each once, in order
    assert report.pending == 0


async def test_logrotate_renaming_the_file_sends_the_next_line_to_a_new_file(
    tmp_path: Path, store_url: str
) -> None:
    out = tmp_path / "log" / "alerts.jsonl"
    async with FeedServer() as server:
        server.add("/wire.xml", rss(range(2)))
        path = write_config(tmp_path, store_url, server.url("/wire.xml"), out)
        async with open_app(load_config(path)) as app:
            await app.pipeline.run_once()
            rotated = out.with_name("alerts.jsonl.1")
            out.rename(rotated)  # logrotate without copytruncate
            server.add("/wire.xml", rss(range(4)))
            await app.pipeline.run_once()
            second = lines(out)  # a new file at the configured path
            out.unlink()  # and a rotation that removes the file outright
            server.add("/wire.xml", rss(range(5)))
            await app.pipeline.run_once()
            third = lines(out)
    assert [r["url"] for r in lines(rotated)] == [f"https://wire.example/{i}" for i in range(2)]
    assert [r["url"] for r in second] == [f"https://wire.example/{i}" for i in (2, 3)]
    assert [r["url"] for r in third] == ["https://wire.example/4"]
