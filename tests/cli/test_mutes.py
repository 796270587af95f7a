"""`newswatch mutes` on both stores: lists what Slack actions set, lifts by id or all, beside a running
service; text from feeds reaches the terminal without control characters."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from newswatch.cli import EXIT_OK, EXIT_PROBLEMS, main
from newswatch.store import Mute, open_store


def config(tmp_path: Path, store_url: str) -> str:
    path = tmp_path / "cfg.yaml"
    path.write_text(f"store: {store_url}\nwatches:\n  - {{name: w, query: x}}\n", encoding="utf-8")
    return str(path)


async def set_mutes(store_url: str) -> list[Mute]:
    now = time.time()
    mutes = [
        Mute("story", "slack:#news", "w", "s-1", "U0ALICE01", now, now + 86400, "Bridge \x1b[31mvote\x1b[0m"),
        Mute("snooze", "slack:#news", "w", "", "U0BOB0001", now + 1, now + 86400, "w"),
    ]
    store = open_store(store_url)
    try:
        for m in mutes:
            await store.add_mute(m)
    finally:
        await store.close()
    return mutes


async def test_lists_and_clears_by_id_then_all(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    story, snooze = await set_mutes(store_url)
    cfg = config(tmp_path, store_url)
    assert await _main(["mutes", "-c", cfg]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("2 in force:")
    assert f"{story.id}  story muted  slack:#news  watch 'w'  Bridge vote  by U0ALICE01" in out
    assert f"{snooze.id}  watch snoozed  slack:#news" in out and "\x1b" not in out
    assert await _main(["mutes", "-c", cfg, "--clear", story.id]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "cleared 1 of 1"
    # An id not in force is said so, with a non-zero exit; the others named are still lifted.
    assert await _main(["mutes", "-c", cfg, "--clear", story.id, "--clear", snooze.id]) == EXIT_PROBLEMS
    assert "cleared 1 of 2; 1 not in force" in capsys.readouterr().out
    await set_mutes(store_url)
    assert await _main(["mutes", "-c", cfg, "--clear-all"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "cleared 2 mute(s) and snooze(s)"
    assert await _main(["mutes", "-c", cfg]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "no mutes or snoozes in force"


async def _main(argv: list[str]) -> int:
    # main() runs its own event loop (asyncio.run): give it a thread of its own.
    import asyncio

    return await asyncio.to_thread(main, argv)
