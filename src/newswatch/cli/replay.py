"""`newswatch replay`: archived items through matching, stories and notification, in file order."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

from newswatch.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_STARTUP
from newswatch.config import LoadedConfig
from newswatch.models import Item

log = logging.getLogger("newswatch")


async def replay(loaded: LoadedConfig, archive: str, *, explain: bool = False) -> int:
    from newswatch.app import StartupError, open_app
    from newswatch.cli.explain import explanation_lines
    from newswatch.cpu import Outcome
    from newswatch.feeds.archive import ArchiveError, BadLine, read_archive
    from newswatch.store import StoreError
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

    try:
        async with open_app(loaded, exclusive=True) as app:
            report = await app.pipeline.replay(
                items(),
                progress=lambda n: log.info("replay progress", extra={"items": n}),
                explain=show if explain else None,
            )
    except ArchiveError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as exc:
        print(f"newswatch: cannot start: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    except StoreError as exc:
        print(f"newswatch: store failed: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    log.info("replay done", extra={**report.fields(), "bad_lines": len(bad)})
    return EXIT_OK
