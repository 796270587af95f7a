"""A graceful stop lets the send in flight finish and records it (issue 21.8): with Slack answering in 0.3 s,
the message in flight at the end of the grace period is neither cut nor sent again by the next start."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.feedserver import FeedServer
from tests.hostile.test_service import ITEMS, delivered, feed_xml, last_line, write_config
from tests.service.test_resilience import child_log, start, wait_for
from tests.slackstub import SlackStub


async def test_sigterm_lets_the_send_in_flight_finish_and_records_it(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server, SlackStub(delay=0.3) as slack:
        server.add("/feed.xml", feed_xml(0, ITEMS))
        cfg = write_config(tmp_path, server.url("/feed.xml"), store_url, slack, grace="2s")
        proc = await start(cfg)
        await wait_for(lambda: len(slack.posts) >= 2, 60, "the first posts", cfg)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        took = time.monotonic() - signalled
        log = child_log(cfg)
        assert proc.returncode == 0, log
        assert took < 2 + 0.3 + 2, f"exit took {took:.1f}s (grace 2 s, one 0.3 s send in flight)\n{log}"
        first_run = delivered(slack)
        left = int(re.findall(r"left_in_outbox=(\d+)", last_line(cfg))[0])
        assert 0 < left < ITEMS, log
        # Sends were back to back, so one was in flight at the deadline: it finished and was recorded.
        assert left + len(first_run) == ITEMS, (left, first_run)
        assert "delivery cut off" not in log or "deadline passed" in log
        slack.delay = 0.0
        again = await start(cfg, "--once")
        await asyncio.wait_for(again.wait(), 120)
        assert again.returncode == 0, child_log(cfg)
    assert delivered(slack) == [str(i) for i in range(ITEMS)]  # each once, in order: nothing repeated


@pytest.fixture(autouse=True)
def _child_uses_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    src = str(Path(__file__).resolve().parents[2] / "src")
    monkeypatch.setenv("PYTHONPATH", src + os.pathsep + os.environ.get("PYTHONPATH", ""))
