"""What every command shares: exit codes, reading the store from a command, and the watchlist's problems."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from newswatch.config import LoadedConfig, store_url
from newswatch.store import Store, StoreError, open_store

T = TypeVar("T")

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_CONFIG = 2
EXIT_STARTUP = 3


def watch_problems(loaded: LoadedConfig) -> list[str]:
    """Every watch that does not parse or names an unknown entity, with the file it is in."""
    from newswatch.match import validate_watches

    cfg = loaded.config
    return [f"{loaded.path}: {p}" for p in validate_watches(cfg.entities, cfg.watches)]


async def read_store(loaded: LoadedConfig, read: Callable[[Store], Awaitable[T]]) -> T | None:
    """Run one look at (or, for ``outbox --purge``, one change to) the store; None (and a message) when it
    cannot be read."""
    url = store_url(loaded.config)
    if url.startswith("sqlite:///") and not _exists(url.removeprefix("sqlite:///")):
        # Opening it would create an empty store, and report on that as if it were the service's.
        print(f"newswatch: no store at {url.removeprefix('sqlite:///')} yet: nothing has run with it "
              "(--store URL reads another)", file=sys.stderr)  # fmt: skip
        return None
    try:
        store = open_store(url)  # not exclusive: a running service may hold the file
        try:
            return await read(store)
        finally:
            await store.close()
    except StoreError as exc:
        print(f"newswatch: cannot read the store: {exc}", file=sys.stderr)
        return None


def _exists(path: str) -> bool:
    # Called before the event loop has anything else to do: one stat is no blocking worth a thread.
    return Path(path).exists()
