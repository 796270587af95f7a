"""The archive: every new item, in the replay format, one file a day (``archive: DIR``, ``archive_days: N``).

Owns the files under the archive folder: ``YYYY-MM-DD.jsonl`` (UTC days), appended to as items are recorded,
the oldest deleted once more than ``archive_days`` days are kept.  ``newswatch replay DIR/2026-03-05.jsonl``
backtests a watchlist on them, and ``newswatch backfill`` alerts what the current watches match in them and
never alerted.  Writing runs in a thread (disk I/O); a failure to write is logged once per cause and never
costs the poll its alerts.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger("newswatch")

_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.jsonl$")


class ArchiveWriter:
    def __init__(
        self, folder: str | Path, days: int, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ):
        self.folder = Path(folder)
        self.days = days
        self.clock = clock
        self._day: str | None = None  # the day whose file was last written (old files pruned on a new one)
        self._warned: set[str] = set()

    async def write(self, lines: Iterable[str]) -> None:
        batch = [line for line in lines if line]
        if batch:
            await asyncio.to_thread(self._write, batch)

    def _write(self, lines: list[str]) -> None:
        now = self.clock().astimezone(UTC)
        day = now.strftime("%Y-%m-%d")
        # Each line gains "seen", when it was recorded, first (what backfill --since reads; replay ignores it).
        seen = f'{{"seen": "{now.isoformat(timespec="seconds")}", '
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with (self.folder / f"{day}.jsonl").open("a", encoding="utf-8") as fh:
                fh.write(
                    "".join(seen + line[1:] + "\n" for line in lines if line.startswith("{") and line != "{}")
                )
            if day != self._day:
                self._day = day
                self._prune(day)
        except OSError as exc:
            cause = f"{exc.strerror or exc}"
            if cause not in self._warned:  # once per cause: a full disk must not flood the log
                self._warned.add(cause)
                log.warning("archive not written", extra={"archive": str(self.folder), "error": cause})

    def _prune(self, today: str) -> None:
        """Delete the day files older than the ``days`` newest days (today included)."""
        oldest = (datetime.fromisoformat(today) - timedelta(days=self.days - 1)).strftime("%Y-%m-%d")
        for path in self.folder.iterdir():
            m = _DAY_FILE.match(path.name)
            if m and m.group(1) < oldest:
                path.unlink(missing_ok=True)


def archive_files(folder: str | Path, since: datetime) -> list[Path]:
    """The day files of an archive that can hold items recorded since ``since``, oldest first."""
    first = since.astimezone(UTC).strftime("%Y-%m-%d")
    p = Path(folder)
    if not p.is_dir():
        return []
    found = sorted(path for path in p.iterdir() if (m := _DAY_FILE.match(path.name)) and m.group(1) >= first)
    return found
