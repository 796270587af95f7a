"""Shared fixtures: a real redis-server per test session on a free port, and store URLs for both backends."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from newswatch.store import Store, open_store
from tests import children


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throwaway redis-server: nothing on disk, its own port, stopped at the end of the session."""

    def __init__(self, workdir: Path, *, persistent: bool = False, args: tuple[str, ...] = ()):
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError(
                "redis-server is not installed; run `apt-get install -y redis-server` (see README)"
            )
        self.exe = exe
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.persistent = persistent  # an append-only file, so a restart keeps the data (outage tests)
        self.args = args  # further redis-server options (an eviction policy, cluster mode)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        durability = (
            ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        )
        self.proc = subprocess.Popen(
            [
                self.exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *durability,
                "--dir",
                str(self.workdir),
                "--logfile",
                str(self.workdir / "redis.log"),
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def flush(self) -> None:
        client = redis.Redis(port=self.port)
        client.flushall()
        client.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store URL of each backend; tests using it run once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    return server.url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = open_store(store_url)
    yield s
    await s.close()


@pytest.fixture
async def other_store(store_url: str) -> AsyncIterator[Store]:
    """Another connection to the same store, as a second worker (process) would have."""
    s = open_store(store_url)
    yield s
    await s.close()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A developer's real token must never reach a test, and the default store must never be the user's own.
    for var in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


@pytest.fixture(autouse=True)
def _no_leftover_workers() -> Iterator[None]:
    # A test that failed before stopping its `newswatch run` children must not leave them working on the next
    # tests' Redis (tests/children.py).
    yield
    children.kill_leftovers()


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    # The CLI configures the "newswatch" logger (own handler, no propagation); undo it after each test so the
    # next one's caplog sees every record.
    yield
    logger = logging.getLogger("newswatch")
    for handler in logger.handlers[:]:
        logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


class RedisClusterServers:
    """A throwaway Redis Cluster of three masters (no replicas) on free ports, made with `redis-cli --cluster
    create` as an operator would; nothing on disk."""

    def __init__(self, workdir: Path, masters: int = 3):
        self.nodes = []
        for k in range(masters):
            d = workdir / f"node{k}"
            d.mkdir()
            bus = free_port()  # the cluster bus port, given explicitly: port + 10000 may not be free or valid
            conf = str(d / "nodes.conf")
            args = ("--cluster-enabled", "yes", "--cluster-config-file", conf, "--cluster-port", str(bus),
                    "--cluster-node-timeout", "5000")  # fmt: skip
            self.nodes.append(RedisServer(d, args=args))

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}/0"

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        exe = shutil.which("redis-cli")
        if exe is None:
            raise RuntimeError("redis-cli is not installed; run `apt-get install -y redis-tools`")
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run(
            [exe, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        for node in self.nodes:
            client = redis.Redis(port=node.port)
            while client.cluster("info").get("cluster_state") != "ok":  # type: ignore[no-untyped-call]
                if time.monotonic() > deadline:
                    raise RuntimeError("the Redis Cluster did not become ready")
                time.sleep(0.1)
            client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def flush(self) -> None:
        for node in self.nodes:
            client = redis.Redis(port=node.port)
            client.flushall()
            client.close()

    def keys_per_node(self) -> list[int]:
        """How many keys each master holds (the data is spread over them)."""
        counts = []
        for node in self.nodes:
            client = redis.Redis(port=node.port)
            counts.append(int(client.dbsize()))
            client.close()
        return counts


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    cluster = RedisClusterServers(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
