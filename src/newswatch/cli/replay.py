"""`newswatch replay`: archived items through matching, stories and notification, in file order.

A backtest must not touch what the service uses: by default the items are recorded in a temporary store and
the alerts go to the console (or ``--out FILE``, JSONL), never to the config's Slack, webhooks or JSONL file.
``--notify`` sends to the config's targets; ``--store`` records in that store (both as before this was safe).
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, cast

from newswatch.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_STARTUP
from newswatch.config import LoadedConfig
from newswatch.models import Item

if TYPE_CHECKING:
    from newswatch.recorder import Explain
    from newswatch.reports import CycleReport

log = logging.getLogger("newswatch")


class _Discard(io.TextIOBase):
    """Text written here goes nowhere (the console's copy when --out takes the records)."""

    def write(self, s: str) -> int:
        return len(s)


def backtest_config(
    loaded: LoadedConfig, *, out: str | None, notify: bool, store: str | None
) -> LoadedConfig:
    """The config a replay runs on: its own store (``store``, a temporary file's URL) unless --store was
    given (None), and unless ``notify``, only ``out`` (JSONL) and the console as targets, no HTTP server."""
    cfg = loaded.config
    # Nor is the archive written again with what it holds.
    update: dict[str, object] = {"http": cfg.http.model_copy(update={"listen": None}), "websub": None,
                                 "archive": None}  # fmt: skip
    if store is not None:
        update["store"] = store
    if not notify:
        jsonl = str(Path(out).resolve()) if out and out != "-" else out
        update["notify"] = cfg.notify.model_copy(
            update={"jsonl": jsonl, "slack": None, "slack_webhook": None, "webhook": None}
        )
        update["ops"] = cfg.ops.model_copy(update={"channel": None})
    return LoadedConfig(cfg.model_copy(update=update), loaded.path, loaded.relocated)


async def replay(
    loaded: LoadedConfig,
    archive: str,
    *,
    explain: bool = False,
    out: str | None = None,
    notify: bool = False,
    own_store: bool = False,
) -> int:
    """``own_store``: the config's store was set with --store, use it; otherwise a temporary one."""
    with contextlib.ExitStack() as stack:
        temp = (
            None
            if own_store
            else stack.enter_context(tempfile.TemporaryDirectory(prefix="newswatch-replay-"))
        )
        store = None if temp is None else f"sqlite:///{temp}/replay.db"
        safe = backtest_config(loaded, out=out, notify=notify, store=store)
        # With --out the records go to the file alone; the console notifier writes nowhere.
        quiet = cast(TextIO, _Discard()) if out and out != "-" and not notify else None
        log.info(
            "replay",
            extra={
                "store": "temporary" if temp else "--store",
                "targets": "config" if notify else out or "console",
            },
        )
        return await _replay(safe, archive, explain=explain, stdout=quiet)


async def _replay(loaded: LoadedConfig, archive: str, *, explain: bool, stdout: TextIO | None) -> int:
    from newswatch.cli.explain import explanation_lines
    from newswatch.cpu import Outcome
    from newswatch.feeds.archive import BadLine, read_archive
    from newswatch.store.base import Event
    from newswatch.stories import Decision

    bad: list[BadLine] = []

    def items() -> Iterator[Item]:
        for entry in read_archive(archive):
            if isinstance(entry, BadLine):
                log.warning(
                    "archive line skipped",
                    extra={"archive": archive, "line": entry.line, "error": entry.reason},
                )
                bad.append(entry)
            else:
                yield entry

    def show(outcome: Outcome, event: Event, decision: Decision | None) -> None:
        lines = explanation_lines(event.event, event.watch, event.story, outcome.url, outcome.title, decision)
        print("\n".join(lines), flush=True)

    code, report = await record_archived(loaded, items(), stdout=stdout, explain=show if explain else None)
    if report is not None:
        log.info("replay done", extra={**report.fields(), "bad_lines": len(bad)})
    return code


async def record_archived(
    loaded: LoadedConfig,
    items: Iterable[Item],
    *,
    stdout: TextIO | None = None,
    explain: Explain | None = None,
    again: str | None = None,
) -> tuple[int, CycleReport | None]:
    """Archived items through the pipeline (replay, backfill): the exit code, and the report when it ran."""
    from newswatch.app import StartupError, open_app
    from newswatch.feeds.archive import ArchiveError
    from newswatch.store import StoreError

    try:
        async with open_app(loaded, exclusive=True, stdout=stdout) as app:
            report = await app.pipeline.replay(
                items,
                progress=lambda n: log.info("replay progress", extra={"items": n}),
                explain=explain,
                again=again,
            )
    except ArchiveError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return EXIT_CONFIG, None
    except StartupError as exc:
        print(f"newswatch: cannot start: {exc}", file=sys.stderr)
        return EXIT_STARTUP, None
    except StoreError as exc:
        print(f"newswatch: store failed: {exc}", file=sys.stderr)
        return EXIT_STARTUP, None
    return EXIT_OK, report
