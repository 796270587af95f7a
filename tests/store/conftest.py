"""The store suite runs on a Redis Cluster too: every store test here runs once per backend, the cluster
(three masters, made by the tests) included."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RedisClusterServers, RedisServer


@pytest.fixture(params=["sqlite", "redis", "cluster"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    if request.param == "cluster":
        cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
        cluster.flush()
        return cluster.url
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    return server.url
