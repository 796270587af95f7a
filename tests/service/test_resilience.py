"""Crashes, shutdowns and outages with real processes: `newswatch run` in a subprocess, a real Slack stand-in,
a real feed server, a real redis-server that is stopped and started again."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests import children
from tests.conftest import RedisServer
from tests.feedserver import FeedServer
from tests.slackstub import GOOD_TOKEN, SlackStub

WORDS = "harbour council budget river bridge school festival rail court library museum clinic".split()


def feed_xml(first: int, last: int) -> str:
    """An RSS feed of distinct items (different words, so each is its own story)."""
    items = []
    for i in range(first, last):
        a, b, c = WORDS[i % 12], WORDS[(i // 12) % 12], WORDS[(i // 144) % 12]
        items.append(
            f"<item><title>Item {i}: {a} {b} {c} report number {i}</title>"
            f"<link>https://local.example/n/{i}</link><guid>n-{i}</guid>"
            f"<description>Story {i} about the {a} and the {b} near the {c}, code {i * 7919}.</description></item>"
        )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local</title>{"".join(items)}</channel></rss>'


def write_config(
    tmp_path: Path, feed_url: str, store_url: str, slack: SlackStub, interval: str = "1h"
) -> Path:
    cfg = tmp_path / "newswatch.yaml"
    cfg.write_text(
        f"""
store: {store_url}
max_item_age: null
feeds:
  - {{url: "{feed_url}", name: Local, interval: {interval}}}
watches:
  - {{name: all, query: '*'}}
notify:
  slack: {{token: "{GOOD_TOKEN}", channel: "#news", base_url: "{slack.base_url}", min_interval: 0.002s}}
  flood: {{max_alerts: 100000}}
  shutdown_grace: 5s
""",
        encoding="utf-8",
    )
    return cfg


def delivered(slack: SlackStub) -> Counter[str]:
    return Counter(m for p in slack.posts for m in re.findall(r"local\.example/n/(\d+)", json.dumps(p)))


async def start(cfg: Path, *args: str) -> asyncio.subprocess.Process:
    """`newswatch run` in a child process; its log goes to a file beside the config (a pipe nobody reads
    would fill up and stall the child)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = (cfg.parent / "newswatch.log").open("ab")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "newswatch.cli", "run", "-c", str(cfg), *args,
            stdout=asyncio.subprocess.DEVNULL, stderr=log, env=env,
        )  # fmt: skip
        children.started(proc.pid)
        return proc
    finally:
        log.close()


def child_log(cfg: Path) -> str:
    return (cfg.parent / "newswatch.log").read_text(encoding="utf-8", errors="replace")


async def wait_for(cond: object, within: float, what: str, cfg: Path | None = None) -> None:
    deadline = time.monotonic() + within
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what}" + (f"; log:\n{child_log(cfg)}" if cfg else "")
            )
        await asyncio.sleep(0.05)


async def test_sigkill_while_delivering_200_alerts(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server, SlackStub(delay=0.01) as slack:
        server.add("/feed.xml", feed_xml(0, 200))
        cfg = write_config(tmp_path, server.url("/feed.xml"), store_url, slack)
        proc = await start(cfg, "--once")
        await wait_for(lambda: len(slack.posts) >= 60, 60, "60 posts", cfg)
        proc.kill()  # SIGKILL: no chance to clean up
        await proc.wait()
        assert len(slack.posts) < 200, "the process finished before it was killed; the test proves nothing"
        restarted = await start(cfg, "--once")
        await asyncio.wait_for(restarted.wait(), 120)
        assert restarted.returncode == 0, child_log(cfg)
    counts = delivered(slack)
    assert set(counts) == {str(i) for i in range(200)}  # every alert delivered
    assert sum(n - 1 for n in counts.values()) <= 1  # at most the one in flight twice


async def test_sigterm_during_a_cycle_exits_cleanly_and_loses_nothing(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server, SlackStub(delay=0.01) as slack:
        server.add("/feed.xml", feed_xml(0, 150))
        cfg = write_config(tmp_path, server.url("/feed.xml"), store_url, slack)
        proc = await start(cfg)
        await wait_for(lambda: len(slack.posts) >= 20, 60, "20 posts", cfg)
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        took = time.monotonic() - stopped_at
        assert proc.returncode == 0, child_log(cfg)
        assert took < 5 + 3, f"shutdown took {took:.1f}s, longer than the 5s grace"
        # Whatever was not flushed in the grace period is in the outbox: the next run delivers it.
        again = await start(cfg, "--once")
        await asyncio.wait_for(again.wait(), 120)
    counts = delivered(slack)
    assert set(counts) == {str(i) for i in range(150)}
    assert sum(n - 1 for n in counts.values()) <= 1


async def test_redis_stopped_and_restarted_under_a_running_service(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis", persistent=True)
    (tmp_path / "redis").mkdir()
    redis.start()
    try:
        async with FeedServer() as server, SlackStub() as slack:
            server.add("/feed.xml", feed_xml(0, 5))
            cfg = write_config(tmp_path, server.url("/feed.xml"), redis.url, slack, interval="1s")
            proc = await start(cfg)
            await wait_for(lambda: len(delivered(slack)) == 5, 30, "the first 5 alerts", cfg)
            redis.stop()
            server.add("/feed.xml", feed_xml(0, 8))  # three new items arrive during the outage
            await asyncio.sleep(3)
            redis.start()
            await wait_for(lambda: len(delivered(slack)) == 8, 60, "the 3 items from the outage", cfg)
            await asyncio.sleep(2)  # a few more polls: nothing may be repeated
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
    finally:
        redis.stop()
    counts = delivered(slack)
    log = child_log(cfg)
    assert counts == Counter({str(i): 1 for i in range(8)}), log
    assert "store unavailable" in log or "outbox unavailable" in log  # the outage was said clearly
    assert proc.returncode == 0, log


@pytest.fixture(autouse=True)
def _child_uses_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    # The subprocess must import the code under test, whatever editable install the machine has.
    src = str(Path(__file__).resolve().parents[2] / "src")
    monkeypatch.setenv("PYTHONPATH", src + os.pathsep + os.environ.get("PYTHONPATH", ""))
