"""The argument parser of the ``newswatch`` command: every command, option and help text."""

from __future__ import annotations

import argparse

from newswatch import __version__


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
    replay.add_argument(
        "--explain",
        action="store_true",
        help="print, for each recorded item and watch, the story decision: the candidate stories' signals, "
        "scores and the threshold that made it join a story or open one",
    )

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

    mutes = sub.add_parser(
        "mutes",
        help="list the mutes and snoozes set from Slack, and lift them",
        description="List every mute and snooze set with the buttons on Slack alerts that is in force: its id, "
        "what it mutes (a story, a source, a whole watch), in which channel, who set it and until when. "
        "Works beside a running service; a lifted mute takes effect at the next message.",
    )
    add_config(mutes)
    lift = mutes.add_mutually_exclusive_group()
    lift.add_argument(
        "--clear", action="append", default=[], metavar="ID", help="lift this mute or snooze (repeatable)"
    )
    lift.add_argument("--clear-all", action="store_true", help="lift every mute and snooze")

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
