"""``/healthz`` means "the store can write", and the ops endpoint keeps confidential names to the token's holder
(issue 21 point 18).

* SQLite on a real full disk (a small tmpfs): every commit fails "database or disk is full" while reads still
  work; ``/healthz`` answers 503 saying so, and 200 again once a commit succeeds; every item alerts once.
* Redis refusing writes (``maxmemory`` reached under ``noeviction``) while it still answers PING: 503, then 200.
* With ``http.token``: ``/metrics`` (watch names) needs the token; ``/healthz`` keeps its status code open to
  orchestrators but names hosts and paths only to the token's holder.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import redis

from newswatch.app import open_app
from newswatch.config import load_config
from newswatch.service.http import OpsServer
from newswatch.service.metrics import Metrics
from newswatch.store import StoreError
from tests.conftest import RedisServer, free_port
from tests.feedserver import FeedServer
from tests.hostile.tmpfs import fill, rss, small_disk

TOKEN = "a-token-of-twenty-characters"


async def get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, await resp.text()


def write_config(tmp_path: Path, store: str, feed: str, port: int) -> Path:
    path = tmp_path / "newswatch.yaml"
    path.write_text(
        f"store: {store}\nmax_item_age: null\nworkers: 0\nhttp: {{listen: '127.0.0.1:{port}', token: {TOKEN}}}\n"
        f"feeds:\n  - {{url: {feed}}}\nwatches:\n  - {{name: Hamas, query: 'Hamas'}}\n"
        f"notify:\n  jsonl: {tmp_path / 'alerts.jsonl'}\n",
        encoding="utf-8",
    )
    return path


def urls(tmp_path: Path) -> list[str]:
    out = tmp_path / "alerts.jsonl"
    lines = out.read_text(encoding="utf-8").splitlines() if out.exists() else []
    return [json.loads(line)["url"] for line in lines]


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", "2m") as where:
        yield where


async def test_sqlite_on_a_full_disk_is_unhealthy_until_a_commit_succeeds(tmp_path: Path, disk: Path) -> None:
    port = free_port()
    filler = disk / "filler"
    async with FeedServer() as server:
        server.add("/wire.xml", rss(range(30)))
        path = write_config(tmp_path, f"sqlite:///{disk / 'store.db'}", server.url("/wire.xml"), port)
        async with open_app(load_config(path)) as app:
            health = f"http://127.0.0.1:{port}/healthz"
            assert (await get(health))[0] == 200
            # The disk fills up.  The WAL is emptied first: pages it already holds would take a commit without the
            # disk, and the cycle would record, then wait out the failing acks for ever.
            with sqlite3.connect(disk / "store.db") as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            fill(filler)
            with pytest.raises(StoreError, match="database or disk is full"):
                await asyncio.wait_for(app.pipeline.run_once(), 120)
            status, body = await get(health)
            assert status == 503
            assert "writes failing since" in json.loads(body)["reason"]
            assert "database or disk is full" in json.loads(body)["reason"]
            assert str(disk) not in json.loads(body)["reason"]  # no path without the token
            status, body = await get(health, TOKEN)
            assert status == 503 and str(disk / "store.db") in json.loads(body)["reason"]

            filler.unlink()  # room again: the next cycle commits, and the store is healthy
            await asyncio.wait_for(app.pipeline.run_once(), 120)
            assert (await get(health))[0] == 200
    assert sorted(urls(tmp_path)) == sorted(f"https://wire.example/{i}" for i in range(30))


async def test_redis_refusing_writes_is_unhealthy_though_it_answers_ping(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    redis_server.flush()
    port = free_port()
    client = redis.Redis(port=redis_server.port)
    async with FeedServer() as server:
        server.add("/wire.xml", rss(range(3)))
        path = write_config(tmp_path, redis_server.url, server.url("/wire.xml"), port)
        async with open_app(load_config(path)) as app:
            health = f"http://127.0.0.1:{port}/healthz"
            await app.pipeline.run_once()
            assert (await get(health))[0] == 200
            client.config_set("maxmemory", "1")  # every write refused (noeviction); PING still answered
            try:
                assert client.ping()
                status, body = await get(health, TOKEN)
                assert status == 503 and "OutOfMemoryError" in json.loads(body)["reason"]
                status, body = await get(health)
                assert status == 503 and f":{redis_server.port}" not in json.loads(body)["reason"]
            finally:
                client.config_set("maxmemory", "0")
            assert (await get(health))[0] == 200
    assert sorted(urls(tmp_path)) == [f"https://wire.example/{i}" for i in range(3)]


class Failing:
    async def check(self) -> str | None:
        return "store unreachable: Redis store redis://:***@db.internal:6379/0: ConnectionError: Error 111 connecting to db.internal:6379"


async def test_metrics_and_health_details_need_the_token() -> None:
    metrics = Metrics(process=False)
    metrics.matches.labels("Project Nightingale").inc()  # a confidential watch name
    async with OpsServer("127.0.0.1:0", metrics, Failing(), token=TOKEN) as ops:
        status, _ = await get(ops.url + "/metrics")
        assert status == 401
        status, _ = await get(ops.url + "/metrics", "wrong-token-of-twenty-chars")
        assert status == 401
        status, body = await get(ops.url + "/metrics", TOKEN)
        assert status == 200 and "Project Nightingale" in body
        status, body = await get(ops.url + "/healthz")
        assert status == 503 and "db.internal" not in body and "store unreachable" in body
        status, body = await get(ops.url + "/healthz", TOKEN)
        assert status == 503 and "db.internal:6379" in body
