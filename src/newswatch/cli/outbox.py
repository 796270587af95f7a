"""`newswatch outbox`: what waits in the outbox per target and what is parked, and `--purge` of the parked."""

from __future__ import annotations

from newswatch.cli.common import EXIT_OK, EXIT_STARTUP, read_store
from newswatch.config import LoadedConfig
from newswatch.store.base import Store

LIST_LIMIT = 100_000  # entries counted per target


async def outbox_report(store: Store) -> str:
    """How many records wait per target, then every parked record with the reason it was parked."""
    waiting = {t: len(await store.outbox_head(t, LIST_LIMIT)) for t in await store.outbox_targets()}
    parked = await store.outbox_parked()
    lines = [f"waiting: {sum(waiting.values())}"]
    lines += [f"  {target}: {n}" for target, n in sorted(waiting.items())]
    lines.append(f"parked: {len(parked)}")
    lines += [
        f"  {entry.target}  {entry.event}  {entry.watch}  {entry.record.get('title', '')[:60]}  — {reason}"
        for entry, reason in parked
    ]
    return "\n".join(lines)


async def purge_parked(store: Store) -> str:
    """Delete every parked record; records waiting for delivery are kept."""
    purged = await store.outbox_purge_parked()
    waiting = await store.outbox_pending()
    return f"purged {purged} parked record(s); {waiting} waiting for delivery kept"


async def outbox(loaded: LoadedConfig, *, purge: bool = False) -> int:
    text = await read_store(loaded, purge_parked if purge else outbox_report)
    if text is None:
        return EXIT_STARTUP
    print(text)
    return EXIT_OK
