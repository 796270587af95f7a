"""`newswatch backfill`: the archive's recent items through today's watches; alert what was never alerted.

After an alias is fixed, the reports it missed were seen already and would never be matched again.  Backfill
reads the day files of the config's ``archive:`` that hold items recorded since ``--since``, matches them with
the current watches (or one, ``--watch``) and records them in the config's store as a new text of each item:
a watch that already reported an item stays silent, one that never did alerts, once, to the config's targets.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from newswatch.cli.common import EXIT_CONFIG, EXIT_OK
from newswatch.config import LoadedConfig, parse_duration
from newswatch.models import Item

log = logging.getLogger("newswatch")


async def backfill(loaded: LoadedConfig, *, since: str, watch: str | None) -> int:
    from newswatch.archiving import archive_files
    from newswatch.cli.replay import record_archived
    from newswatch.feeds.archive import BadLine, read_archive

    cfg = loaded.config
    if not cfg.archive:
        print(f"newswatch: backfill: {loaded.path} keeps no archive (add `archive: DIR`)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        seconds = parse_duration(since)
    except ValueError as exc:
        print(f"newswatch: backfill: --since {since!r}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if watch is not None and watch not in {w.name for w in cfg.watches}:
        print(f"newswatch: backfill: no watch named {watch!r} in {loaded.path}", file=sys.stderr)
        return EXIT_CONFIG
    cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
    files = archive_files(cfg.archive, cutoff)

    def items() -> Iterator[Item]:
        for path in files:
            for entry in read_archive(path, seen_since=cutoff):
                if isinstance(entry, BadLine):
                    log.warning("archive line skipped", extra={"archive": str(path), "line": entry.line,
                                                               "error": entry.reason})  # fmt: skip
                else:
                    yield entry

    # The archive is not written again with what it already holds.
    run_cfg = LoadedConfig(cfg.model_copy(update={"archive": None}), loaded.path, loaded.relocated)
    code, report = await record_archived(run_cfg, items(), again=watch or "*")
    if report is None:
        return code
    alerts = sum(e.event == "alert" for e in report.events)
    log.info("backfill done", extra={"files": len(files), "since": cutoff.isoformat(timespec="seconds"),
                                     "alerts": alerts, "updates": len(report.events) - alerts})  # fmt: skip
    return EXIT_OK
