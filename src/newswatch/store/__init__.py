"""State stores behind one Protocol: Redis (shared by many workers) and SQLite (embedded default)."""

from __future__ import annotations

from newswatch.store.base import Mute, Recorded, Seen, Sighted, Sighting, Store, StoreError, WatchClaim


def open_store(url: str, *, exclusive: bool = False) -> Store:
    """The store for a URL: ``redis://``, ``rediss://``, ``unix://``, ``redis+cluster://`` or ``sqlite:///``."""
    if url.startswith(("redis+cluster://", "rediss+cluster://")):
        from newswatch.store.redis_cluster import RedisClusterStore

        return RedisClusterStore.from_url(url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from newswatch.store.redis import RedisStore

        return RedisStore.from_url(url)
    if url.startswith("sqlite://"):
        from newswatch.store.sqlite import SQLiteStore

        # SQLAlchemy's convention: sqlite:///state.db is relative, sqlite:////var/lib/state.db absolute.
        if not url.startswith("sqlite:///"):
            raise StoreError(
                f"{url!r} is not an SQLite URL (use sqlite:///relative.db or sqlite:////abs/path.db)"
            )
        if not url.removeprefix("sqlite:///"):
            raise StoreError(f"{url!r}: the SQLite URL names no file (use sqlite:///path/state.db)")
        return SQLiteStore(url.removeprefix("sqlite:///"), exclusive=exclusive)
    raise StoreError(
        f"{url!r} is not a store URL; use redis://host:port/db, redis+cluster://host:port or sqlite:///path/state.db"
    )


__all__ = [
    "Mute",
    "Recorded",
    "Seen",
    "Sighted",
    "Sighting",
    "Store",
    "StoreError",
    "WatchClaim",
    "open_store",
]
