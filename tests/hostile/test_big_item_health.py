"""A 600 KB item does not freeze the service (issue 11, point 2).

Parsing, matching and story sketches run in the CPU stage's worker processes, so while the service works through
an item of 600 KB the event loop keeps answering ``/healthz``.  A real ``newswatch run`` child process with
``http.listen``, a local feed holding the huge item between two ordinary ones, and a watch the huge item matches
on every sentence: every ``/healthz`` asked during the cycle answers 200 within a second, and each item alerts
exactly once.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import aiohttp

from tests.conftest import free_port
from tests.feedserver import FeedServer
from tests.service.test_resilience import child_log, start

HUGE = "Zarquon and Hamas held talks. " * 20000  # 600 KB, the item


def feed() -> str:
    def item(i: int, text: str) -> str:
        return (
            f"<item><title>Zarquon report {i}</title><link>https://big.example/{i}</link>"
            f"<guid>big-{i}</guid><description>{text}</description></item>"
        )

    items = item(1, "Zarquon and Hamas held talks in Doha.") + item(2, HUGE) + item(3, "Zarquon talks ended.")
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'


async def test_healthz_answers_within_a_second_while_a_600_kb_item_is_processed(
    tmp_path: Path, store_url: str
) -> None:
    port = free_port()
    out = tmp_path / "alerts.jsonl"
    async with FeedServer() as server:
        server.add("/big.xml", feed())
        cfg = tmp_path / "newswatch.yaml"
        cfg.write_text(
            f"""
store: {store_url}
max_item_age: null
http: {{listen: "127.0.0.1:{port}"}}
feeds:
  - {{url: "{server.url("/big.xml")}", interval: 1h}}
watches:
  - {{name: zarquon, query: 'Zarquon AND (talks OR Hamas)'}}
notify: {{jsonl: {out}}}
""",
            encoding="utf-8",
        )
        proc = await start(cfg)
        latencies: list[float] = []
        try:
            async with aiohttp.ClientSession() as http:

                async def healthz() -> bool:
                    began = time.monotonic()
                    try:
                        async with http.get(
                            f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=1.0)
                        ) as resp:
                            assert resp.status == 200, await resp.text()
                    except aiohttp.ClientConnectorError:
                        return False  # not listening yet: the service is still starting
                    latencies.append(time.monotonic() - began)
                    return True

                deadline = time.monotonic() + 60
                while not (out.exists() and out.read_text(encoding="utf-8").count("\n") >= 3):
                    assert time.monotonic() < deadline, child_log(cfg)
                    await healthz()  # a timeout (over 1 s) raises and fails the test
                    await asyncio.sleep(0.1)
                for _ in range(5):  # and after it
                    assert await healthz()
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
    assert len(latencies) >= 5, child_log(cfg)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["url"] for r in records) == [f"https://big.example/{i}" for i in (1, 2, 3)]
    big = next(r for r in records if r["url"].endswith("/2"))
    assert big["matched"] == ["Zarquon", "Hamas", "talks"]  # as written, first occurrence order, no repeats
    assert proc.returncode == 0, child_log(cfg)
