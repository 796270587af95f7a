"""Fixtures of the story tests: a fresh, empty store per call, on each backend."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RedisServer


@pytest.fixture(params=["sqlite", "redis"])
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Each call: the URL of an empty store of the test's backend (a new SQLite file, or the flushed Redis)."""
    if request.param == "sqlite":
        n = itertools.count()
        return lambda: f"sqlite:///{tmp_path / f'state{next(n)}.db'}"
    server: RedisServer = request.getfixturevalue("redis_server")

    def flushed() -> str:
        server.flush()
        return server.url

    return flushed
