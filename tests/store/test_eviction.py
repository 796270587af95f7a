"""A Redis that evicts keys is refused at start with a clear message (issue 21.5): with `allkeys-lru` queued
alerts vanish, with `volatile-lru` dedupe keys do (every item alerts again); only `noeviction` keeps both."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from newswatch.store import StoreError, open_store
from tests.conftest import RedisServer

SRC = str(Path(__file__).resolve().parents[2] / "src")  # the child imports the code under test


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-lru"])
async def test_a_redis_that_evicts_keys_is_refused_at_start(tmp_path: Path, policy: str) -> None:
    redis = RedisServer(tmp_path, args=("--maxmemory", "64mb", "--maxmemory-policy", policy))
    redis.start()
    try:
        store = open_store(redis.url)
        with pytest.raises(StoreError, match=f"maxmemory-policy {policy}.*noeviction"):
            await store.check_safe()
        await store.close()
        cfg = tmp_path / "cfg.yaml"
        cfg.write_text(
            f"store: {redis.url}\nfeeds: []\nwatches:\n  - {{name: all, query: '*'}}\n", encoding="utf-8"
        )
        env = {**os.environ, "PYTHONPATH": SRC}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "newswatch.cli", "run", "--once", "-c", str(cfg),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        redis.stop()
    message = err.decode()
    assert proc.returncode == 3, message
    assert f"evicts keys under memory pressure (maxmemory-policy {policy})" in message
    assert "noeviction" in message


async def test_a_redis_that_never_evicts_is_accepted(redis_server: RedisServer) -> None:
    store = open_store(redis_server.url)
    await store.check_safe()  # the default policy, noeviction
    await store.close()
