"""One feed's unexpected failure is that feed's failure, never the cycle's (issue 11, point 1).

An exception nobody foresaw — here raised by a store wrapper at the I/O boundary while one feed's items are
recorded, or while its state is read — must cost that feed only: one ``feed failed`` line naming it with the
cause and the traceback, its health and back-off, an ops alert once it has failed for ``feed_down_after``; every
other feed of the cycle alerts exactly once, and the failed feed is read again (and alerts) once it recovers.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from newswatch.app import open_app
from newswatch.config import load_config
from newswatch.store import Sighted, Store
from newswatch.stories import BatchStories
from tests.feedserver import FeedServer
from tests.hostile.test_feeds import item, records, rss


class Faulty:
    """The real store, except that the calls named in ``broken`` raise for the bad feed (a bug elsewhere)."""

    def __init__(self, inner: Store, bad: str) -> None:
        self.inner, self.bad = inner, bad
        self.broken = {"record", "get_feed_state"}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def record(self, batch: list[Sighted], stories: BatchStories) -> Any:
        if "record" in self.broken and any(self.bad in c.record["url"] for s in batch for c in s.claims):
            raise ValueError("kaboom while recording")
        return await self.inner.record(batch, stories)

    async def get_feed_state(self, url: str) -> Any:
        if "get_feed_state" in self.broken and url.endswith("/bad.xml") and "record" not in self.broken:
            raise KeyError("kaboom while reading the state")
        return await self.inner.get_feed_state(url)


def config(tmp_path: Path, store_url: str, server: FeedServer) -> Path:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        f"""
store: {store_url}
max_item_age: null
feeds:
  - url: {server.url("/good.xml")}
  - url: {server.url("/bad.xml")}
watches:
  - {{name: all, query: '*'}}
ops: {{feed_down_after: 0s}}
notify: {{jsonl: {tmp_path / "alerts.jsonl"}}}
""",
        encoding="utf-8",
    )
    return cfg


@pytest.mark.parametrize("broken", ["record", "get_feed_state"])
async def test_an_unexpected_error_fails_its_feed_only(
    tmp_path: Path, store_url: str, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with FeedServer() as server:
        server.add("/good.xml", rss([item(1), item(2)], title="Good"))
        bad = "https://bad.example/"
        server.add("/bad.xml", rss([item(3, link=f"{bad}3"), item(4, link=f"{bad}4")], title="Bad"))
        cfg = config(tmp_path, store_url, server)
        async with open_app(load_config(cfg), exclusive=True) as app:
            faulty = Faulty(app.store, bad)
            faulty.broken = {broken}
            app.pipeline.store = app.pipeline.recorder.store = faulty  # type: ignore[assignment]
            with caplog.at_level(logging.WARNING, logger="newswatch"):
                first = await app.pipeline.run_once()
                second = await app.pipeline.run_once()  # still failing: its feed-down ops alert now
            failed = [r for r in caplog.records if r.getMessage() == "feed failed"]
            assert len(failed) == 2 and all(r.url.endswith("/bad.xml") for r in failed)  # type: ignore[attr-defined]
            assert all("internal error: " in r.error and "kaboom" in r.error for r in failed)  # type: ignore[attr-defined]
            assert all(r.exc_info is not None for r in failed)  # the bug's traceback, with the feed's line
            assert [r.status for r in first.feeds] == ["ok", "error"]
            assert [r.status for r in second.feeds] == ["unchanged", "error"]  # same bytes: nothing to parse
            state = await app.store.get_feed_state(server.url("/bad.xml")) or {}
            assert "kaboom" in str(state.get("last_error"))
            if broken == "record":  # its state was readable: the failures add up to a feed-down ops alert
                assert state.get("failures") == 2
                assert any(r.getMessage() == "feed down" for r in caplog.records)
            else:  # an unreadable state starts over each time, but is written afresh, so the next poll reads it
                assert state.get("failures") == 1
            assert "body_hash" not in state  # its items were not recorded: the next poll reads them again
            faulty.broken = set()  # the bug is gone: the feed is read again, alerts, and recovers
            third = await app.pipeline.run_once()
            assert [r.status for r in third.feeds] == ["unchanged", "ok"]
    urls = [r["url"] for r in records(tmp_path) if r["watch"] == "all"]
    assert sorted(urls) == sorted(
        ["https://good.example/n/1", "https://good.example/n/2", f"{bad}3", f"{bad}4"]
    ), json.dumps(records(tmp_path), indent=1)
    assert sorted(urls) == sorted(set(urls))  # nothing twice
