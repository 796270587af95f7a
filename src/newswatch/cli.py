"""The command line: ``newswatch run | check | match``.

Owns argument parsing, logging set-up, exit codes and what the user reads; the work itself is the pipeline's.
Exit codes: 0 done (even if some feeds failed), 1 ``check`` found problems, 2 bad config or usage,
3 could not start (store unreachable, Slack token rejected).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from newswatch import __version__
from newswatch.config import (
    ConfigError,
    LoadedConfig,
    NotifyConfig,
    WebSubConfig,
    format_duration,
    load_config,
    store_url,
)
from newswatch.configvalues import redact_url
from newswatch.logs import setup_logging
from newswatch.models import Item

if TYPE_CHECKING:
    from newswatch.app import App
    from newswatch.store.base import Store

T = TypeVar("T")

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_CONFIG = 2
EXIT_STARTUP = 3

log = logging.getLogger("newswatch")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newswatch",
        description="Watch RSS/Atom feeds for topics and entities; one alert per story, to Slack, JSONL or the console.",
    )
    parser.add_argument("--version", action="version", version=f"newswatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("-c", "--config", required=True, metavar="FILE", help="the YAML config file")
        p.add_argument("-v", "--verbose", action="store_true", help="log every feed and item decision")
        p.add_argument("-q", "--quiet", action="store_true", help="log only errors")
        p.add_argument(
            "--log-format",
            choices=("text", "json"),
            default="text",
            help="text lines for people, or one JSON object per line for log pipelines (default: text)",
        )

    run = sub.add_parser(
        "run",
        help="poll feeds and deliver alerts",
        description="Poll every feed on its interval and deliver alerts until SIGINT/SIGTERM "
        "(or, with --once, poll every feed once, deliver and exit).",
    )
    add_config(run)
    run.add_argument(
        "--once", action="store_true", help="one cycle over every feed, deliver, exit (for cron and tests)"
    )
    run.add_argument(
        "--store",
        metavar="URL",
        help="use this store instead of the config's (redis://host:port/db or sqlite:///path/state.db)",
    )

    check = sub.add_parser(
        "check",
        help="validate a config and summarise it",
        description="Validate the config (keys, durations, watch queries, entity references) and print a summary. "
        "Exits non-zero and points at the problem when something is wrong.",
    )
    add_config(check)

    replay = sub.add_parser(
        "replay",
        help="run archived items through matching, stories and notification",
        description="Run the items of ARCHIVE.jsonl (one JSON object per line: title, url, and optionally "
        "published, summary, content, source, id) through matching, story assignment and notification in file "
        "order, as if they had been polled. Use it to backtest a watchlist on past news; point notify at a "
        "JSONL file and use --store with a fresh file to keep the backtest apart from the service's state.",
    )
    add_config(replay)
    replay.add_argument("archive", metavar="ARCHIVE.jsonl")
    replay.add_argument("--store", metavar="URL", help="use this store instead of the config's")

    feeds = sub.add_parser(
        "feeds",
        help="list feeds with their health and next poll",
        description="List every configured feed with its last success, consecutive failures, last error, items "
        "seen and next poll, as the store knows them (works beside a running service).",
    )
    add_config(feeds)
    feeds.add_argument("--json", action="store_true", help="machine-readable output")

    outbox = sub.add_parser(
        "outbox",
        help="show alerts waiting for delivery and those parked",
        description="Show how many records wait in the outbox per target, and every parked record (one that "
        "can never be delivered as configured, e.g. to a channel that does not exist) with the reason. "
        "Parked records are deleted after notify.parked_ttl (7 days by default).",
    )
    add_config(outbox)
    outbox.add_argument(
        "--purge",
        action="store_true",
        help="delete every parked record now and print how many (records waiting for delivery are kept)",
    )

    opml = sub.add_parser(
        "import-opml",
        help="print the feeds: YAML for an OPML export",
        description="Read an OPML export of a feed reader (FILE, or - for standard input) and print the "
        "matching `feeds:` YAML block to paste into a config.",
    )
    opml.add_argument("file", metavar="FILE.opml")

    match = sub.add_parser(
        "match",
        help="explain which watches match an article and why",
        description="For each ARTICLE (a text or HTML file, a feed file or a URL) print, per watch, whether it "
        "matched and why: the terms found with their positions and a snippet, or the clause that failed.",
    )
    add_config(match)
    match.add_argument("articles", nargs="+", metavar="ARTICLE")
    match.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "import-opml":
        from newswatch.opml import run_import_opml

        return run_import_opml(args.file)
    setup_logging("debug" if args.verbose else "error" if args.quiet else "info", args.log_format)
    if args.command == "match":
        from newswatch.match.cli import run_match

        return run_match(args.config, list(args.articles), args.json)
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        print(f"newswatch: config error:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check":
        return check(loaded)
    if args.command == "feeds":
        return asyncio.run(feeds(loaded, as_json=args.json))
    if args.command == "outbox":
        return asyncio.run(outbox(loaded, purge=args.purge))
    problems = _watch_problems(loaded)
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
        return asyncio.run(replay(loaded, args.archive))
    return asyncio.run(run(loaded, once=args.once))


def _watch_problems(loaded: LoadedConfig) -> list[str]:
    from newswatch.match import validate_watches

    cfg = loaded.config
    return [f"{loaded.path}: {p}" for p in validate_watches(cfg.entities, cfg.watches)]


# ---------------------------------------------------------------------------------------------------- check


def check(loaded: LoadedConfig) -> int:
    cfg = loaded.config
    problems = _watch_problems(loaded)
    out = sys.stdout
    out.write(f"config: {loaded.path}\n")
    out.write(f"store: {_redacted_store(store_url(cfg))}{'' if cfg.store else ' (embedded default)'}\n")
    age = format_duration(cfg.max_item_age) if cfg.max_item_age else "off"
    out.write(f"max_item_age: {age}   seen_ttl: {format_duration(cfg.seen_ttl)}\n")
    out.write(f"feeds ({len(cfg.feeds)}):\n")
    for f in cfg.feeds:
        kind = "url" if f.is_http else "file"
        out.write(f"  - {f.name or '(feed title)'}  every {format_duration(f.interval)}  [{kind}] {f.url}\n")
    out.write(f"entities ({len(cfg.entities)}):\n")
    for key, e in cfg.entities.items():
        aliases = [a if isinstance(a, str) else a.text for a in e.aliases]
        extra = " (fuzzy)" if e.fuzzy else ""
        out.write(f"  - @{key}{f' = {e.name}' if e.name else ''}: {len(aliases)} aliases{extra}\n")
    out.write(f"watches ({len(cfg.watches)}):\n")
    slack = cfg.notify.slack
    for w in cfg.watches:
        channel = w.channel or (slack.channel if slack else None)
        out.write(
            f"  - {w.name}: {w.query}"
            + (f"  → {channel}" if channel and cfg.notify.slack_enabled else "")
            + "\n"
        )
    out.write(f"notify: {', '.join(_notify_targets(cfg.notify))}\n")
    if problems:
        sys.stderr.write("newswatch: problems:\n" + "\n".join(problems) + "\n")
        return EXIT_PROBLEMS
    out.write("config OK\n")
    return EXIT_OK


def _notify_targets(n: NotifyConfig) -> list[str]:
    """Where alerts go, as pipeline.watch_targets routes them; webhook URLs are secrets: scheme and host only."""
    targets = []
    if n.jsonl:
        targets.append("JSONL to stdout" if n.jsonl == "-" else f"JSONL to {n.jsonl}")
    if n.slack_enabled and n.slack:
        targets.append(f"Slack via {n.slack.base_url} (default channel {n.slack.channel or 'none'})")
    if n.slack_webhook:
        targets.append(f"Slack incoming webhook ({redact_url(n.slack_webhook)})")
    if n.webhook:
        signed = ", signed" if n.webhook.secret else ""
        targets.append(f"JSON webhook ({redact_url(n.webhook.url)}{signed})")
    if not n.slack_enabled and not n.slack_webhook and n.jsonl != "-":
        targets.append("console")  # without Slack, alerts still reach a person
    return targets


def _redacted_store(url: str) -> str:
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


# ---------------------------------------------------------------------------------------------------- run


async def run(loaded: LoadedConfig, *, once: bool) -> int:
    from newswatch.app import StartupError, open_app
    from newswatch.store import StoreError

    try:
        async with open_app(loaded, exclusive=True) as app, contextlib.AsyncExitStack() as stack:
            if once:
                report = await app.pipeline.run_once()
                log.info(report.summary())
                return EXIT_OK
            from newswatch.reload import ReloadOnSignal
            from newswatch.scheduler import Scheduler

            scheduler = Scheduler(app.pipeline, heartbeat=app.heartbeat.beat)
            if loaded.config.websub is not None:
                await _start_push(app, loaded.config.websub, stack)
                stack.push_async_callback(app.tasks.close)  # subscriptions end before the subscriber closes
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, scheduler.signalled, stop, sig.name)
            loop.add_signal_handler(signal.SIGHUP, ReloadOnSignal(loaded.path, app, scheduler))
            log.info(
                "watching %d feeds for %d watches; Ctrl-C to stop%s",
                len(loaded.config.feeds),
                len(loaded.config.watches),
                f"; health and metrics on {app.ops.url}" if app.ops else "",
            )
            await scheduler.run(stop)  # its last log line says what is left in the outbox
            return EXIT_OK
    except StartupError as exc:
        print(f"newswatch: cannot start: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    except StoreError as exc:
        print(f"newswatch: store failed: {exc}", file=sys.stderr)
        return EXIT_STARTUP


async def _read_store(loaded: LoadedConfig, read: Callable[[Store], Awaitable[T]]) -> T | None:
    """Run one look at (or, for ``outbox --purge``, one change to) the store; None (and a message) when it
    cannot be read."""
    from newswatch.store import StoreError, open_store

    try:
        store = open_store(store_url(loaded.config))  # not exclusive: a running service may hold the file
        try:
            return await read(store)
        finally:
            await store.close()
    except StoreError as exc:
        print(f"newswatch: cannot read the store: {exc}", file=sys.stderr)
        return None


async def feeds(loaded: LoadedConfig, *, as_json: bool) -> int:
    import json

    from newswatch.feedstatus import feed_rows, format_rows

    rows = await _read_store(loaded, lambda store: feed_rows(loaded.config, store))
    if rows is None:
        return EXIT_STARTUP
    print(json.dumps(rows, indent=2) if as_json else format_rows(rows))
    return EXIT_OK


async def _start_push(app: App, cfg: WebSubConfig, stack: contextlib.AsyncExitStack) -> None:
    from newswatch.app import StartupError
    from newswatch.websub import WebSubSettings, WebSubSubscriber

    try:
        settings = WebSubSettings(cfg.callback_url, cfg.secret, cfg.listen, cfg.lease)
        subscriber = WebSubSubscriber(settings, app.pipeline.on_push)
        await subscriber.start()
    except (ValueError, OSError) as exc:
        raise StartupError(f"websub: {exc}") from None
    stack.push_async_callback(subscriber.close)
    app.pipeline.websub = subscriber
    log.info("push: WebSub callbacks on %s (public %s)", cfg.listen, cfg.callback_url)


async def outbox(loaded: LoadedConfig, *, purge: bool = False) -> int:
    from newswatch.outboxstatus import outbox_report, purge_parked

    text = await _read_store(loaded, purge_parked if purge else outbox_report)
    if text is None:
        return EXIT_STARTUP
    print(text)
    return EXIT_OK


async def replay(loaded: LoadedConfig, archive: str) -> int:
    from newswatch.app import StartupError, open_app
    from newswatch.replay import ArchiveError, BadLine, read_archive
    from newswatch.store import StoreError

    bad: list[BadLine] = []

    def items() -> Iterator[Item]:
        for entry in read_archive(archive):
            if isinstance(entry, BadLine):
                log.warning("%s line %d skipped: %s", archive, entry.line, entry.reason)
                bad.append(entry)
            else:
                yield entry

    try:
        async with open_app(loaded, exclusive=True) as app:
            report = await app.pipeline.replay(items(), progress=lambda n: log.info("replayed %d items", n))
    except ArchiveError as exc:
        print(f"newswatch: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as exc:
        print(f"newswatch: cannot start: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    except StoreError as exc:
        print(f"newswatch: store failed: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    log.info(
        "replay done: %d alerts, %d updates, %d delivered%s%s in %.1fs",
        report.alerts,
        report.updates,
        report.delivery.sent,
        f", {len(bad)} bad lines skipped" if bad else "",
        f", {report.pending} waiting for retry" if report.pending else "",
        report.elapsed,
    )
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
