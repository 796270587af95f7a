"""The real path for story evaluation: items through ``newswatch replay`` (SQLite, catch-all watch, JSONL records).

Used by eval_stories.py.  :func:`replay_stories` writes the items as an archive, runs ``python -m newswatch.cli
replay`` in a child process on a fresh SQLite store with a generated config, and reads each item's story id
back from the JSONL records: the figures a user gets, document frequencies learned online from a cold start.
:func:`checkout` extracts the ``src/`` of another git revision (today's algorithm before the learned model), so
the same function replays it with *its* ``newswatch replay``.  Data never enters the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from newswatch.models import Item

REPO = Path(__file__).resolve().parents[1]
OURS = REPO / "src"
CONFIG = """
store: sqlite:///{db}
max_item_age: null
watches:
  - {{name: all, query: '*'}}
{stories}
notify: {{jsonl: {out}}}
"""


def replay_stories(
    items: Sequence[Item], *, src: Path = OURS, stories: dict[str, object] | None = None
) -> list[str]:
    """The story id ``newswatch replay`` (the code under ``src``) gives each item, in order.

    ``stories``: the config's ``stories:`` block (``weights``, ``threshold``).  Items without a date get
    no date (placed when recorded, all inside one story window); every item gets a URL of its own, so no two are taken for one.
    """
    with tempfile.TemporaryDirectory(prefix="eval-stories-") as tmp:
        archive = Path(tmp) / "archive.jsonl"
        with archive.open("w", encoding="utf-8") as fh:
            for i, it in enumerate(items):
                row = {"id": f"doc-{i}", "title": it.title, "url": f"https://eval.example/doc/{i}",
                       "source": it.source, "summary": it.summary, "content": it.content}  # fmt: skip
                if it.published is not None:  # an undated item stays undated: placed when it is recorded
                    row["published"] = it.published.isoformat()
                fh.write(json.dumps(row) + "\n")
        out = Path(tmp) / "out.jsonl"
        cfg = Path(tmp) / "cfg.yaml"
        block = f"stories: {json.dumps(stories)}" if stories else ""
        cfg.write_text(CONFIG.format(db=Path(tmp) / "state.db", out=out, stories=block), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(src)}
        # Without Slack, alerts also go to the console: keep them out of the report.
        # Since replay became safe by default it needs --notify to write the config's JSONL file; a revision
        # from before that has no such option and wrote it anyway.
        parser = src / "newswatch" / "cli" / "parser.py"
        notify = ["--notify"] if parser.exists() and "--notify" in parser.read_text() else []
        done = subprocess.run(
            [sys.executable, "-m", "newswatch.cli", "replay", "-q", "-c", str(cfg), str(archive), *notify],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"newswatch replay ({src}) exited with {done.returncode}: {done.stderr[-2000:]}")
        story: dict[int, str] = {}
        for line in out.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            story.setdefault(int(rec["url"].rsplit("/", 1)[1]), rec["story"])
    # An item without a record (none expected: every item matches the catch-all watch) is its own story.
    return [story.get(i, f"unrecorded-{i}") for i in range(len(items))]


def checkout(rev: str, into: Path) -> Path:
    """``src/`` of git revision ``rev``, extracted under ``into``; returns the path to put on PYTHONPATH."""
    try:
        tar = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=tar, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"cannot extract revision {rev} from git: {exc}") from None
    return into / "src"
