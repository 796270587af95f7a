"""The ops endpoint over real sockets: /healthz against a real SQLite file and a real redis-server that is
stopped and started again, /metrics parsed as Prometheus text, and the listen-address syntax."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from newswatch.service.http import Heartbeat, OpsServer, StoreHealth
from newswatch.service.metrics import Metrics
from newswatch.shared.http import parse_listen
from newswatch.store.redis import RedisStore
from newswatch.store.sqlite import SQLiteStore
from tests.conftest import RedisServer


async def get(url: str) -> tuple[int, str, dict[str, Any] | str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        text = await resp.text()
        body: dict[str, Any] | str = await resp.json() if resp.content_type == "application/json" else text
        return resp.status, resp.headers["Content-Type"], body


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SlowStore:
    """A store whose ping never answers in time: the one case no real local server produces on demand."""

    async def ping(self) -> None:
        await asyncio.sleep(10)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "s.db")
    yield store
    await store.close()


# ------------------------------------------------------------------------------------------ /healthz


async def test_healthz_ok_with_sqlite_store(sqlite_store: SQLiteStore) -> None:
    metrics = Metrics(process=False)
    async with OpsServer("127.0.0.1:0", metrics, StoreHealth(sqlite_store, Heartbeat())) as server:
        assert server.port > 0
        status, ctype, body = await get(server.url + "/healthz")
    assert status == 200
    assert ctype.startswith("application/json")
    assert isinstance(body, dict) and body["status"] == "ok" and "version" in body
    assert metrics.registry.get_sample_value("newswatch_up") == 1


async def test_healthz_503_when_sqlite_store_is_closed(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    metrics = Metrics(process=False)
    async with OpsServer("127.0.0.1:0", metrics, StoreHealth(store)) as server:
        await store.close()
        status, _, body = await get(server.url + "/healthz")
    assert status == 503
    assert isinstance(body, dict) and body["status"] == "unhealthy"
    assert body["reason"].startswith("store unreachable: SQLite store")
    assert metrics.registry.get_sample_value("newswatch_up") == 0


async def test_healthz_follows_redis_going_down_and_coming_back(tmp_path: Path) -> None:
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    # The service's own client settings: a stopped server refuses at once, well inside the ping deadline.
    store = RedisStore.from_url(redis_server.url)
    try:
        async with OpsServer(
            "127.0.0.1:0", Metrics(process=False), StoreHealth(store, Heartbeat())
        ) as server:
            status, _, body = await get(server.url + "/healthz")
            assert status == 200, body

            redis_server.stop()
            status, _, body = await get(server.url + "/healthz")
            assert status == 503
            assert isinstance(body, dict) and body["status"] == "unhealthy"
            assert body["reason"].startswith("store unreachable: Redis store")
            assert "ConnectionError" in body["reason"]
            # /metrics still answers while the store is down, and says so.
            status, _, text = await get(server.url + "/metrics")
            assert status == 200 and isinstance(text, str)
            assert "newswatch_up 0.0" in text

            redis_server.start()  # same port: the client reconnects by itself
            status, _, body = await get(server.url + "/healthz")
            assert status == 200, body
    finally:
        await store.close()
        redis_server.stop()


async def test_healthz_503_when_store_ping_is_too_slow() -> None:
    health = StoreHealth(SlowStore(), timeout=0.1)  # type: ignore[arg-type]
    async with OpsServer("127.0.0.1:0", Metrics(process=False), health) as server:
        status, _, body = await get(server.url + "/healthz")
    assert status == 503
    assert isinstance(body, dict)
    assert body["reason"] == "store unreachable: no answer to ping within 0.1s"


async def test_healthz_503_when_loop_stalls_and_200_after_a_beat(sqlite_store: SQLiteStore) -> None:
    clock = Clock()
    heartbeat = Heartbeat(clock)
    async with OpsServer(
        "127.0.0.1:0", Metrics(process=False), StoreHealth(sqlite_store, heartbeat, max_age=60)
    ) as s:
        clock.now += 59
        assert (await get(s.url + "/healthz"))[0] == 200
        clock.now += 2
        status, _, body = await get(s.url + "/healthz")
        assert status == 503
        assert isinstance(body, dict) and body["reason"] == "loop stalled: no heartbeat for 61s (limit 60s)"
        heartbeat.beat()
        assert (await get(s.url + "/healthz"))[0] == 200


# ------------------------------------------------------------------------------------------ /metrics


async def test_metrics_endpoint_serves_the_apps_registry(sqlite_store: SQLiteStore) -> None:
    metrics = Metrics()
    metrics.feed_polled("error", 1.5, "HTTP 404")
    metrics.items_parsed.inc(7)
    refreshed: list[int] = []

    async def collect() -> None:  # e.g. the outbox length, read from the store at scrape time
        metrics.alerts_pending.set(4)
        refreshed.append(1)

    server = OpsServer("127.0.0.1:0", metrics, StoreHealth(sqlite_store), collect=collect)
    await server.start()
    try:
        status, ctype, text = await get(server.url + "/metrics")
    finally:
        await server.stop()
    assert status == 200
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype
    assert isinstance(text, str)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    assert samples[("newswatch_feed_failures_total", (("cause", "http_status"),))] == 1
    assert samples[("newswatch_items_parsed_total", ())] == 7
    assert samples[("newswatch_alerts_pending", ())] == 4
    assert samples[("newswatch_up", ())] == 1
    assert refreshed == [1]


async def test_metrics_scrape_survives_a_failing_collect(sqlite_store: SQLiteStore) -> None:
    async def collect() -> None:
        raise RuntimeError("outbox unreadable")

    async with OpsServer(
        "127.0.0.1:0", Metrics(process=False), StoreHealth(sqlite_store), collect=collect
    ) as s:
        status, _, text = await get(s.url + "/metrics")
    assert status == 200 and "newswatch_feeds_polled_total" in str(text)


async def test_openmetrics_on_request(sqlite_store: SQLiteStore) -> None:
    async with OpsServer("127.0.0.1:0", Metrics(process=False), StoreHealth(sqlite_store)) as server:
        headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.url + "/metrics", headers=headers) as r,
        ):
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("application/openmetrics-text")
            assert (await r.text()).endswith("# EOF\n")


async def test_unknown_path_is_404_and_stop_frees_the_port(sqlite_store: SQLiteStore) -> None:
    server = OpsServer("127.0.0.1:0", Metrics(process=False), StoreHealth(sqlite_store))
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.port
    await server.start()
    port = server.port
    assert (await get(server.url + "/"))[0] == 404
    await server.stop()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # would raise if the server still held it


async def test_port_in_use_is_a_clear_error(sqlite_store: SQLiteStore) -> None:
    async with OpsServer("127.0.0.1:0", Metrics(process=False), StoreHealth(sqlite_store)) as first:
        second = OpsServer(f"127.0.0.1:{first.port}", Metrics(process=False), StoreHealth(sqlite_store))
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            await second.start()


async def test_ipv6_listen(sqlite_store: SQLiteStore) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 is not configured")
    async with OpsServer("[::1]:0", Metrics(process=False), StoreHealth(sqlite_store)) as server:
        assert server.url.startswith("http://[::1]:")
        assert (await get(server.url + "/healthz"))[0] == 200


# ------------------------------------------------------------------------------------------ listen syntax


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("localhost:9464", ("localhost", 9464)),
        (":9464", ("0.0.0.0", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        ("[::]:0", ("::", 0)),
        ("  0.0.0.0:80 ", ("0.0.0.0", 80)),
    ],
)
def test_parse_listen(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("", "is empty"),
        ("127.0.0.1", "has no port"),
        ("127.0.0.1:http", "is not a number"),
        ("127.0.0.1:", "is not a number"),
        ("127.0.0.1:70000", "out of range"),
        ("127.0.0.1:-1", "is not a number"),
        ("::1:9464", "in brackets"),
        ("[::1]9464", "as \\[addr\\]:port"),
        ("[::1", "as \\[addr\\]:port"),
        ("[nope]:9464", "is not an IPv6 address"),
    ],
)
def test_parse_listen_errors(listen: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_listen(listen)
