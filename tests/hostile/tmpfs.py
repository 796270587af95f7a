"""A real full disk for tests: a small tmpfs mounted under the test's directory (root only), and a feed of
made-up stories whose items each alert once (``Hamas`` in every title)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.hostile.test_feeds import story, summary


@contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` ("64k", "2m") at ``where``, unmounted afterwards; the test is skipped where mounting
    is refused (not root)."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        # A test that fills this disk must never fill the machine's: where the mount did not take (another mount
        # namespace, a sandbox that reports success), refuse to go on rather than write until the real disk is full.
        room = os.statvfs(where)
        if not os.path.ismount(where) or room.f_blocks * room.f_frsize > 4 * _bytes(size):
            pytest.fail(f"{where} is not a tmpfs of {size} after mount: refusing to fill the machine's disk")
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _bytes(size: str) -> int:
    return int(size[:-1]) * {"k": 1 << 10, "m": 1 << 20}[size[-1]]


def fill(path: Path, limit: int = 64 << 20) -> None:
    """Write to ``path`` until its disk is full; a disk that takes ``limit`` bytes is not the small one asked for."""
    with path.open("wb", buffering=0) as fh:  # unbuffered: nothing left in a buffer for close() to fail on
        written = 0
        try:
            while written < limit:
                written += fh.write(b"x" * 65536)
        except OSError:
            return
    path.unlink()
    pytest.fail(f"{limit} bytes written to {path} and its disk is not full")


def rss(items: range) -> str:
    body = "".join(
        f"<item><title>{story(i)} Hamas</title><link>https://wire.example/{i}</link><guid>w{i}</guid>"
        f"<pubDate>Mon, 07 Dec 2026 10:00:00 GMT</pubDate><description>{summary(i)}</description></item>"
        for i in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'
