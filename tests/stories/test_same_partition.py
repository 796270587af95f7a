"""One story algorithm, two stores: replaying the same archive through SQLite and through Redis gives the same
stories (issue 12).  Both stores read a batch, let ``store/batch.py`` and ``stories/`` decide, and apply the
plan; this replays an archive large enough to fill several replay batches, with copies, rewrites and unrelated
items, and compares every record's story."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

from newswatch import constants as C
from newswatch.cli import EXIT_OK, main
from tests.conftest import RedisServer

ARCHIVE = Path(__file__).parents[1] / "fixtures" / "archive"
WORDS = (
    "harbour council budget river bridge school festival rail court library museum clinic port farm election "
    "minister strike flood storm market bank trade power water road hospital police ferry tunnel airport"
).split()


def archive(path: Path) -> int:
    """The fixture story and traps, then generated events: each told by several outlets over two days, some
    copied word for word, some rewritten, many sharing words with other events."""
    rng = random.Random(11)
    lines = [
        *ARCHIVE.joinpath("story.jsonl").read_text().splitlines(),
        *ARCHIVE.joinpath("traps.jsonl").read_text().splitlines(),
    ]
    for event in range(150):
        core = rng.sample(WORDS, 6)
        for copy in range(rng.randint(1, 6)):
            words = core + rng.sample(WORDS, 4) if copy % 3 == 2 else core
            text = (
                " ".join(words)
                + f". Officials in town {event} said the {words[0]} and the {words[1]} works went on."
            )
            lines.append(json.dumps({
                "title": f"{words[0].title()} {words[1]} {words[2]} news {event}",
                "url": f"https://outlet{copy}.example/{event}",
                "published": f"2025-04-{1 + event // 6:02d}T{(copy * 5) % 24:02d}:00:00Z",
                "content": text * 3,
            }))  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def stories_of(tmp_path: Path, name: str, store_url: str, data: Path) -> dict[str, str]:
    out = tmp_path / f"{name}.jsonl"
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(
        f"store: {store_url}\nmax_item_age: null\nwatches:\n  - {{name: all, query: '*'}}\nnotify: {{jsonl: {out}}}\n",
        encoding="utf-8",
    )
    assert main(["replay", "-c", str(cfg), str(data), "--store", store_url, "--notify"]) == EXIT_OK
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {r["url"]: r["story"] for r in records}


def test_sqlite_and_redis_make_the_same_stories(tmp_path: Path, redis_server: RedisServer) -> None:
    data = tmp_path / "archive.jsonl"
    n = archive(data)
    assert n > C.REPLAY_BATCH  # several store batches, so stories opened in one batch are found in the next
    redis_server.flush()
    on_sqlite = stories_of(tmp_path, "sqlite", f"sqlite:///{tmp_path / 'state.db'}", data)
    on_redis = stories_of(tmp_path, "redis", redis_server.url, data)
    assert len(on_sqlite) == n
    assert on_sqlite == on_redis
    groups = defaultdict(list)
    for url, story in on_sqlite.items():
        groups[story].append(url)
    sizes = sorted(len(g) for g in groups.values())
    assert sizes[-1] > 1 and sizes[0] == 1  # a real partition: stories of several items and stories of one
