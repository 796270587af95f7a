"""The command line: ``newswatch run | check | match | replay | feeds | outbox | mutes | import-opml``.

Owns dispatching a command to its module (one per command group: ``service`` for ``run``, ``check``,
``replay``, ``feeds``, ``outbox``, ``mutes``, ``match``); the parser is in ``parser``, exit codes in ``common``;
the work itself is the pipeline's.
Exit codes: 0 done (even if some feeds failed), 1 ``check`` found problems (or ``mutes --clear`` named an id
not in force), 2 bad config or usage, 3 could not start (store unreachable, Slack token rejected).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from newswatch.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS, EXIT_STARTUP, watch_problems
from newswatch.cli.parser import build_parser
from newswatch.cli.service import run
from newswatch.config import ConfigError, load_config
from newswatch.service.logs import setup_logging

__all__ = ["EXIT_CONFIG", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_STARTUP", "build_parser", "main", "run"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "import-opml":
        from newswatch.feeds.opml import run_import_opml

        return run_import_opml(args.file)
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
    if args.command == "feeds":
        from newswatch.cli.feeds import feeds

        return asyncio.run(feeds(loaded, as_json=args.json))
    if args.command == "outbox":
        from newswatch.cli.outbox import outbox

        return asyncio.run(outbox(loaded, purge=args.purge))
    if args.command == "mutes":
        from newswatch.cli.mutes import mutes

        return asyncio.run(mutes(loaded, clear_ids=args.clear, clear_all=args.clear_all))
    problems = watch_problems(loaded)
    if problems:
        print("newswatch: config error:\n" + "\n".join(problems), file=sys.stderr)
        return EXIT_CONFIG
    if getattr(args, "store", None):
        try:
            loaded = loaded.with_store(args.store)
        except ConfigError as exc:
            print(f"newswatch: --store: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    if args.command == "replay":
        from newswatch.cli.replay import replay

        return asyncio.run(replay(loaded, args.archive, explain=args.explain))
    return asyncio.run(run(loaded, once=args.once))
