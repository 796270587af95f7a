"""The command line: ``newswatch run | check | match | why | replay | backfill | feeds | outbox | mutes |
import-opml``.

Owns dispatching a command to its module (one per command group: ``service`` for ``run``, ``check``,
``replay``, ``backfill``, ``why``, ``feeds``, ``outbox``, ``mutes``, ``match``); the parser is in ``parser``,
exit codes in ``common``; the work itself is the pipeline's.  Every command that reads state takes ``--store``.
Exit codes: 0 done (even if some feeds failed), 1 ``check`` found problems (or ``mutes --clear`` named an id
not in force), 2 bad config or usage, 3 could not start (store unreachable, Slack token rejected).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from newswatch.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS, EXIT_STARTUP, watch_problems
from newswatch.cli.parser import build_parser
from newswatch.cli.service import run
from newswatch.config import ConfigError, LoadedConfig, load_config
from newswatch.service.logs import setup_logging

__all__ = ["EXIT_CONFIG", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_STARTUP", "build_parser", "main", "run"]

log = logging.getLogger("newswatch")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # `newswatch match … | head`: the reader has what it wanted.  Point stdout at /dev/null so the
        # interpreter's own flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "import-opml":
        from newswatch.feeds.opml import run_import_opml

        return run_import_opml(args.file, append=args.append)
    setup_logging("debug" if args.verbose else "error" if args.quiet else "info", args.log_format)
    if args.command == "match":
        from newswatch.cli.match import run_match

        return run_match(args.config, list(args.articles), args.json)
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        print(f"newswatch: config error:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check":
        from newswatch.cli.check import check

        return check(loaded)
    if getattr(args, "store", None):
        try:
            loaded = loaded.with_store(args.store)
        except ConfigError as exc:
            print(f"newswatch: --store: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    _say_old_places(loaded)
    if args.command in ("feeds", "outbox", "mutes", "why"):
        return _look(args, loaded)
    problems = watch_problems(loaded)
    if problems:
        print("newswatch: config error:\n" + "\n".join(problems), file=sys.stderr)
        return EXIT_CONFIG
    from newswatch.cli.check import config_warnings

    for warning in config_warnings(loaded.config):
        log.warning("config warning (see newswatch check)", extra={"warning": warning})
    if args.command == "replay":
        from newswatch.cli.replay import replay

        own = bool(args.store)
        return asyncio.run(
            replay(
                loaded, args.archive, explain=args.explain, out=args.out, notify=args.notify, own_store=own
            )
        )
    if args.command == "backfill":
        from newswatch.cli.backfill import backfill

        return asyncio.run(backfill(loaded, since=args.since, watch=args.watch))
    return asyncio.run(run(loaded, once=args.once))


def _look(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    """The commands that look at (or tidy) the state: feeds, outbox, mutes, why."""
    if args.command == "feeds":
        from newswatch.cli.feeds import feeds

        return asyncio.run(feeds(loaded, as_json=args.json))
    if args.command == "outbox":
        from newswatch.cli.outbox import outbox

        return asyncio.run(outbox(loaded, purge=args.purge, retry=args.retry))
    if args.command == "why":
        from newswatch.cli.why import why

        return asyncio.run(why(loaded, args.url))
    from newswatch.cli.mutes import mutes

    return asyncio.run(mutes(loaded, clear_ids=args.clear, clear_all=args.clear_all))


def _say_old_places(loaded: LoadedConfig) -> None:
    # Relative store and JSONL paths resolve against the config file now; one that still sits at the place
    # the working directory gave would otherwise be left behind silently (a second state file, repeated alerts).
    for old, new in loaded.files_at_old_places():
        log.warning(
            "a file exists at the old place of a relative path; newswatch uses the path beside the config",
            extra={"old": old, "new": new},
        )
