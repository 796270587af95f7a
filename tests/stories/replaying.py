"""Archives through `newswatch replay` (the real path: matching, the worker-side sketch, the recorder, the store,
the JSONL notifier) with a catch-all watch, for the story tests that need the whole path."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from newswatch.cli import EXIT_OK, main
from newswatch.models import Item

CONFIG = """
store: {store}
max_item_age: null
{preamble}
watches:
  - {{name: all, query: {query}{watch}}}
{stories}
notify: {{jsonl: {out}}}
"""


def write_archive(path: Path, items: Iterable[Item]) -> Path:
    """Items as an archive, one JSON object per line, in order."""
    lines = []
    for it in items:
        published = it.published.isoformat() if it.published else None
        line = {
            "title": it.title,
            "url": it.url,
            "source": it.source,
            "published": published,
            "content": it.content,
        }
        lines.append(json.dumps(line))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def replay(
    tmp_path: Path,
    store: str,
    archive: Path,
    *,
    stories: str = "",
    watch: str = "",
    explain: bool = False,
    query: str = "'*'",
    preamble: str = "",
) -> list[dict[str, Any]]:
    """The records `newswatch replay` writes for ``archive`` into ``store`` (``stories``: a YAML ``stories:``
    line; ``watch``: more keys of the watch, e.g. ``", related: false"``; ``query``: the watch's, catch-all by
    default; ``preamble``: more top-level YAML, e.g. ``entities:``)."""
    n = len(list(tmp_path.glob("replay-*.yaml")))
    out, cfg = tmp_path / f"replay-{n}.jsonl", tmp_path / f"replay-{n}.yaml"
    config = CONFIG.format(store=store, preamble=preamble, query=query, watch=watch, stories=stories, out=out)
    cfg.write_text(config, encoding="utf-8")
    args = ["replay", "-q", *(["--explain"] if explain else []), "-c", str(cfg), str(archive)]
    # A backtest records in a store of its own and writes its alerts to --out: here, the test's store.
    assert main([*args, "--store", store, "--out", str(out)]) == EXIT_OK
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
