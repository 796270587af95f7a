"""`newswatch feeds`: every configured feed with its health and next poll, as the store knows them."""

from __future__ import annotations

import json

from newswatch.cli.common import EXIT_OK, EXIT_STARTUP, read_store
from newswatch.config import LoadedConfig
from newswatch.feeds.status import feed_rows, format_rows


async def feeds(loaded: LoadedConfig, *, as_json: bool) -> int:
    rows = await read_store(loaded, lambda store: feed_rows(loaded.config, store))
    if rows is None:
        return EXIT_STARTUP
    print(json.dumps(rows, indent=2) if as_json else format_rows(rows))
    return EXIT_OK
