"""The story page in a real headless Chromium (Debian's ``chromium``; .ci/run installs it when missing): the
page a person opens shows the seeds' story with its outlets.  Chromium is told to reach nothing but the local
server (no background networking, component updates, sync or first-run fetches)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from html import unescape
from pathlib import Path

import pytest

from newswatch.store import open_store
from tests.service.statusfixture import W1, seed, serve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_TIMEOUT_S = 90


def chromium_command(profile: Path, *args: str) -> list[str]:
    assert CHROMIUM is not None
    return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", *args]  # fmt: skip


async def browse(profile: Path, *args: str) -> str:
    """Run Chromium as a child process (never blocking the loop that serves the page); its stdout."""
    proc = await asyncio.create_subprocess_exec(
        *chromium_command(profile, *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), BROWSER_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, f"chromium exited with {proc.returncode}"
    return out.decode("utf-8", errors="replace")


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed")
async def test_story_page_in_headless_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert CHROMIUM is not None, "CI installs chromium (.ci/run)"
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    seeded = await seed(tmp_path, store_url, monkeypatch)
    story = seeded.story_of(W1)
    store = open_store(store_url)
    server = await serve(store, seeded.loaded)
    try:
        dom = await browse(tmp_path / "profile", "--dump-dom", str(server.make_url(f"/stories/{story}")))
    finally:
        await server.close()
        await store.close()
    # The DOM as the browser built it: the timeline's rows, each with its outlet, in the store's order.
    outlets = [
        unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r'<td class="outlet">(.*?)</td>', dom, re.S)
    ]
    assert list(dict.fromkeys(outlets)) == seeded.outlets_in_order(story)
    assert "<svg" in dom and "opened the story" in dom
    assert "<script" not in dom  # the hostile feed's markup stayed text in the browser too
