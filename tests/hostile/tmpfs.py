"""A real full disk for tests: a small tmpfs mounted under the test's directory (root only), and a feed of
made-up stories whose items each alert once (``Hamas`` in every title)."""

from __future__ import annotations

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
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def rss(items: range) -> str:
    body = "".join(
        f"<item><title>{story(i)} Hamas</title><link>https://wire.example/{i}</link><guid>w{i}</guid>"
        f"<pubDate>Mon, 07 Dec 2026 10:00:00 GMT</pubDate><description>{summary(i)}</description></item>"
        for i in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'
