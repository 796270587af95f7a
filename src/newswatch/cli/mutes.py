"""`newswatch mutes`: the mutes and snoozes set from Slack that are in force, and `--clear` to lift them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from newswatch.cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_STARTUP, read_store
from newswatch.config import LoadedConfig
from newswatch.shared.terminal import strip_controls
from newswatch.store.base import Mute, Store

_WHAT = {"story": "story muted", "source": "source muted", "snooze": "watch snoozed"}


def mute_lines(mutes: Sequence[Mute]) -> list[str]:
    """One line per mute: id, what, channel, watch, about what, by whom, since and until when."""
    if not mutes:
        return ["no mutes or snoozes in force"]
    lines = [f"{len(mutes)} in force:"]
    for m in mutes:
        about = _cell(m.label or m.subject) or "-"
        lines.append(
            f"  {m.id}  {_WHAT.get(m.kind, m.kind)}  {_cell(m.target)}  watch {_cell(m.watch)!r}  {about}  "
            f"by {_cell(m.user)} at {_when(m.created)} until {_when(m.expires)}"
        )
    return lines


async def clear(store: Store, ids: Sequence[str] | None) -> tuple[str, bool]:
    """Lift the given mutes (None: all); the message, and whether every id named was in force."""
    cleared = await store.clear_mutes(ids)
    if ids is None:
        return f"cleared {cleared} mute(s) and snooze(s)", True
    missing = len(set(ids)) - cleared
    text = f"cleared {cleared} of {len(set(ids))}"
    return (text + f"; {missing} not in force (see `newswatch mutes`)", False) if missing else (text, True)


async def mutes(loaded: LoadedConfig, *, clear_ids: Sequence[str] = (), clear_all: bool = False) -> int:
    if clear_all or clear_ids:

        async def lift(store: Store) -> tuple[str, bool]:
            return await clear(store, None if clear_all else list(clear_ids))

        done = await read_store(loaded, lift)
        if done is None:
            return EXIT_STARTUP
        print(done[0])
        return EXIT_OK if done[1] else EXIT_PROBLEMS

    async def listing(store: Store) -> list[Mute]:
        return await store.mutes()

    found = await read_store(loaded, listing)
    if found is None:
        return EXIT_STARTUP
    print("\n".join(mute_lines(found)))
    return EXIT_OK


def _cell(value: str) -> str:
    # Titles and names came from feeds: no control character reaches the terminal, each on one line.
    return " ".join(strip_controls(value).split())[:120]


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
