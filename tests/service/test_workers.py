"""Several `newswatch run` processes on one Redis: feeds shared, alerts sent once, a killed worker's feeds
taken over, health turning 503 when Redis goes away, and a config reload without a restart."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
from collections import Counter
from pathlib import Path

import aiohttp

from tests.conftest import RedisServer, free_port
from tests.feedserver import FeedServer
from tests.service.test_resilience import child_log, start, wait_for
from tests.slackstub import GOOD_TOKEN, SlackStub

FEEDS = 12
TOPICS = "harbour council budget river bridge school festival rail court library museum clinic".split()


def feed_xml(feed: int, items: range) -> str:
    body = "".join(
        f"<item><title>{TOPICS[feed]} notice {j} for district {feed * 100 + j}</title>"
        f"<link>https://local.example/f{feed}/n/{j}</link><guid>f{feed}-{j}</guid>"
        f"<description>The {TOPICS[feed]} office posted notice {j}, reference {feed * 7919 + j * 104729}.</description>"
        "</item>"
        for j in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>{body}</channel></rss>'
    )


def write_config(
    path: Path, server: FeedServer, redis: str, slack: SlackStub, watches: str, listen: str = ""
) -> Path:
    feeds = "\n".join(
        f'  - {{url: "{server.url(f"/f{i}.xml")}", name: "Feed {i}", interval: 2s}}' for i in range(FEEDS)
    )
    http = f'http: {{listen: "{listen}"}}' if listen else ""
    path.write_text(
        f"""
store: {redis}
max_item_age: null
fetch: {{timeout: 2s}}
feeds:
{feeds}
watches:
{watches}
notify:
  slack: {{token: "{GOOD_TOKEN}", channel: "#news", base_url: "{slack.base_url}", min_interval: 0.002s}}
  flood: {{max_alerts: 100000}}
  shutdown_grace: 3s
{http}
""",
        encoding="utf-8",
    )
    return path


def delivered(slack: SlackStub) -> Counter[str]:
    return Counter(m for p in slack.posts for m in re.findall(r"local\.example/(f\d+/n/\d+)", json.dumps(p)))


ALL = "  - {name: all, query: '*'}"


async def test_three_workers_share_feeds_and_alert_once(tmp_path: Path, redis_server: RedisServer) -> None:
    redis_server.flush()
    async with FeedServer() as server, SlackStub() as slack:
        for i in range(FEEDS):
            server.add(f"/f{i}.xml", feed_xml(i, range(2)))
        dirs = [tmp_path / f"w{k}" for k in range(3)]
        procs = []
        for d in dirs:
            d.mkdir()
            procs.append(await start(write_config(d / "cfg.yaml", server, redis_server.url, slack, ALL)))
        await wait_for(
            lambda: len(delivered(slack)) == FEEDS * 2, 30, "the first alerts", dirs[0] / "cfg.yaml"
        )
        started = time.monotonic()
        hits_before = Counter(server.hits)
        await asyncio.sleep(6)
        elapsed = time.monotonic() - started
        polls = {f"/f{i}.xml": server.hits[f"/f{i}.xml"] - hits_before[f"/f{i}.xml"] for i in range(FEEDS)}
        # Once per 2 s interval (±10 % jitter) between the three workers, not once per worker.
        assert max(polls.values()) <= elapsed / 1.8 + 1, polls
        assert min(polls.values()) >= 1, polls

        # Kill one worker hard, then publish more: the others take its feeds over, nothing is lost.
        procs[0].kill()
        await procs[0].wait()
        for i in range(FEEDS):
            server.add(f"/f{i}.xml", feed_xml(i, range(4)))
        await wait_for(
            lambda: len(delivered(slack)) == FEEDS * 4, 40, "alerts after the kill", dirs[1] / "cfg.yaml"
        )
        for p in procs[1:]:
            p.send_signal(signal.SIGTERM)
        for p in procs[1:]:
            await asyncio.wait_for(p.wait(), 20)
    counts = delivered(slack)
    assert counts == Counter({f"f{i}/n/{j}": 1 for i in range(FEEDS) for j in range(4)})
    assert all(p.returncode == 0 for p in procs[1:]), child_log(dirs[1] / "cfg.yaml")


async def test_healthz_turns_503_without_redis_and_reload_adds_a_watch(tmp_path: Path) -> None:
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis", persistent=True)
    redis.start()
    port = free_port()
    try:
        async with FeedServer() as server, SlackStub() as slack, aiohttp.ClientSession() as http:
            for i in range(FEEDS):
                server.add(f"/f{i}.xml", feed_xml(i, range(2)))
            none = "  - {name: harbour only, query: 'harbour'}"
            cfg = write_config(tmp_path / "cfg.yaml", server, redis.url, slack, none, f"127.0.0.1:{port}")
            proc = await start(cfg)
            base = f"http://127.0.0.1:{port}"
            await wait_for(lambda: len(delivered(slack)) == 2, 30, "the harbour alerts", cfg)

            async def health() -> tuple[int, dict[str, object]]:
                async with http.get(base + "/healthz") as resp:
                    return resp.status, await resp.json()

            assert (await health())[0] == 200
            async with http.get(base + "/metrics") as resp:
                text = await resp.text()
            assert "newswatch_feeds_polled_total" in text and "newswatch_alerts_sent_total" in text
            assert 'newswatch_matches_total{watch="harbour only"} 2.0' in text
            # The two harbour notices share only common words ("office", "notice", "district") besides the
            # watch's own: no informative content in common, so two stories (issue 20: no weak overlap joins).
            assert 'newswatch_stories_opened_total{watch="harbour only"} 2.0' in text

            redis.stop()
            status, body = await health()
            assert status == 503 and "store unreachable" in str(body["reason"])
            redis.start()
            await asyncio.sleep(1)
            assert (await health())[0] == 200

            # Reload: a second watch starts alerting without a restart; items seen before count as new for it.
            write_config(
                cfg,
                server,
                redis.url,
                slack,
                none + "\n  - {name: school, query: 'school'}",
                f"127.0.0.1:{port}",
            )
            for i in range(FEEDS):
                server.add(f"/f{i}.xml", feed_xml(i, range(3)))
            proc.send_signal(signal.SIGHUP)
            await wait_for(lambda: any("f5/n/2" in k for k in delivered(slack)), 30, "the school watch", cfg)
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 20)
    finally:
        redis.stop()
    log = child_log(cfg)
    assert "config reloaded feeds=12 watches=2" in log, log
    assert proc.returncode == 0
