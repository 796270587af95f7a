"""Twenty cycles of fresh items keep the process's memory flat (issue 11, point 10: state that only grows).

A child process (so its memory is its own) opens the application once and runs 20 cycles over a local feed
file that holds 150 new items each time, every item matched by a catch-all watch, so every cache on the way
— the CPU stage, the process's memory of recorded items, the learned document frequencies, story records,
the delivery's bookkeeping — sees fresh input each cycle.  Its resident memory after cycle 10 (warm: the story
record cache, ``STORY_RECORD_CACHE`` = 1,024 stories, fills at about cycle 7 with 150 new stories a cycle, and the
allocator's arenas with it) and after cycle 20 may differ by at most 5 %.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

CHILD = r"""
import asyncio, json, random, sys
from pathlib import Path
from newswatch.app import open_app
from newswatch.config import load_config

tmp, store = Path(sys.argv[1]), sys.argv[2]
words = ("harbour council budget river bridge school festival rail court library museum clinic port farm "
         "election minister strike flood storm market bank trade power water road hospital police").split()
feed = tmp / "feed.xml"
cfg = tmp / "cfg.yaml"
cfg.write_text(
    f"store: {store}\nmax_item_age: null\nfeeds:\n  - url: {feed}\n"
    f"watches:\n  - {{name: all, query: '*'}}\nnotify: {{jsonl: {tmp / 'out.jsonl'}}}\n",
    encoding="utf-8",
)
rng = random.Random(7)

def write(cycle):
    items = []
    for i in range(150):
        n = cycle * 1000 + i
        text = " ".join(rng.choice(words) for _ in range(60))
        items.append(f"<item><title>Report {n}: {text[:60]}</title><link>https://soak.example/{n}</link>"
                     f"<guid>soak-{n}</guid><description>{text} Code {n}.</description></item>")
    feed.write_text("<rss version='2.0'><channel><title>Soak</title>" + "".join(items) + "</channel></rss>")

def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

async def main():
    sizes = []
    async with open_app(load_config(cfg), exclusive=True) as app:
        for cycle in range(20):
            write(cycle)
            report = await app.pipeline.run_once()
            assert report.pending == 0 and len(report.events) == 150, (cycle, len(report.events), report.pending)
            sizes.append(rss_mb())
    print(json.dumps(sizes))

asyncio.run(main())
"""


def test_twenty_cycles_of_fresh_items_keep_memory_flat(tmp_path: Path, store_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), store_url],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    sizes = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(sizes) == 20
    warm, last = sizes[9], sizes[-1]
    assert last <= warm * 1.05, (
        f"resident memory grew from {warm:.1f} MB (cycle 10) to {last:.1f} MB: {sizes}"
    )
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20 * 150  # every fresh item recorded and delivered once
