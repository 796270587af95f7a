"""`newswatch outbox`: what waits in the outbox per target (with when a digest goes out) and what is parked;
`--purge` deletes the parked records, `--retry` queues them again."""

from __future__ import annotations

from datetime import UTC, datetime

from newswatch.cli.common import EXIT_OK, EXIT_STARTUP, read_store
from newswatch.config import LoadedConfig
from newswatch.delivery.digests import DIGEST_MARK, HELD_PERIOD, digest_due
from newswatch.store.base import Store

LIST_LIMIT = 100_000  # entries counted per target


async def outbox_report(store: Store) -> str:
    """How many records wait per target (a digest queue with when it is sent), then every parked record
    with the reason it was parked."""
    lines_by_target = []
    total = 0
    for target in sorted(await store.outbox_targets()):
        entries = await store.outbox_head(target, LIST_LIMIT)
        total += len(entries)
        line = f"  {target}: {len(entries)}"
        period = target.split(DIGEST_MARK, 1)[1] if DIGEST_MARK in target else None
        if entries and period and period != HELD_PERIOD:
            line += f" (digest due {when(digest_due(entries[0].created, period))})"
        elif entries and period == HELD_PERIOD:
            line += " (held while the watch is snoozed)"
        lines_by_target.append(line)
    parked = await store.outbox_parked()
    lines = [f"waiting: {total}", *lines_by_target, f"parked: {len(parked)}"]
    lines += [
        f"  {entry.target}  {entry.event}  {entry.watch}  {entry.record.get('title', '')[:60]}  — {reason}"
        for entry, reason in parked
    ]
    if parked:
        lines.append(
            "(fix the cause, then `newswatch outbox --retry` queues them again; --purge deletes them)"
        )
    return "\n".join(lines)


def when(epoch: float) -> str:
    """A send time as people read it: UTC, and the local time of this machine when it is not UTC."""
    utc = datetime.fromtimestamp(epoch, UTC)
    local = utc.astimezone()
    text = utc.strftime("%Y-%m-%d %H:%M UTC")
    if local.utcoffset() != utc.utcoffset():
        text += local.strftime(" (%H:%M %Z here)")
    return text


async def purge_parked(store: Store) -> str:
    """Delete every parked record; records waiting for delivery are kept."""
    purged = await store.outbox_purge_parked()
    waiting = await store.outbox_pending()
    return f"purged {purged} parked record(s); {waiting} waiting for delivery kept"


async def retry_parked(store: Store) -> str:
    """Queue every parked record again, in its old place; the next delivery (a running service, or the next
    `run --once`) sends it."""
    n = await store.outbox_unpark()
    return f"queued {n} parked record(s) for delivery again; a running service (or the next run) sends them"


async def outbox(loaded: LoadedConfig, *, purge: bool = False, retry: bool = False) -> int:
    text = await read_store(loaded, purge_parked if purge else retry_parked if retry else outbox_report)
    if text is None:
        return EXIT_STARTUP
    print(text)
    return EXIT_OK
