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
        p.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            help="log every feed and item decision: each item skipped (too old, already seen), folded into "
            "an item seen before, matched or not, and each feed left unchanged",
        )
        p.add_argument("-q", "--quiet", action="store_true", help="log only errors")
        p.add_argument(
            "--log-format",
            choices=("text", "json"),
            default="text",
            help="text lines for people, or one JSON object per line for log pipelines (default: text)",
        )

    def add_store(p: argparse.ArgumentParser, what: str = "read") -> None:
        p.add_argument(
            "--store",
            metavar="URL",
            help=f"{what} this store instead of the config's (redis://host:port/db, redis+cluster://host:port or "
            "sqlite:///path/state.db; a relative path is relative to the working directory)",
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
    add_store(run, "use")

    check = sub.add_parser(
        "check",
        help="validate a config and summarise it",
        description="Validate the config (keys, durations, watch queries, entity references) and print a summary. "
        "Exits non-zero and points at the problem when something is wrong.",
    )
    add_config(check)

    replay = sub.add_parser(
        "replay",
        help="backtest: run archived items through matching and stories, safely",
        description="Run the items of ARCHIVE.jsonl (one JSON object per line: title, url, and optionally "
        "published, summary, content, source, id; what `archive:` writes) through matching, story assignment "
        "and notification in file order, as if they had been polled. Safe by default: a temporary store and "
        "its own output (the console, or --out FILE), so the config's store and its Slack, webhook and JSONL "
        "targets are never touched. --notify sends to the config's targets (what replay did before); --store "
        "records in that store.",
    )
    add_config(replay)
    replay.add_argument("archive", metavar="ARCHIVE.jsonl")
    add_store(replay, "record in")
    replay.add_argument("--out", metavar="FILE", help="write the alert records to FILE as JSONL (appended)")
    replay.add_argument(
        "--notify",
        action="store_true",
        help="send to the config's real targets (Slack, webhooks, its JSONL file) instead of --out or the console",
    )
    replay.add_argument(
        "--explain",
        action="store_true",
        help="print, for each recorded item and watch, the story decision: the candidate stories' signals, "
        "scores and the threshold that made it join a story or open one",
    )

    backfill = sub.add_parser(
        "backfill",
        help="alert what the current watches match in the archive and never alerted",
        description="Run the items the config's `archive:` kept from the last --since through the current "
        "watches, and alert (to the config's targets, in the config's store) every match that was never "
        "alerted: after fixing an alias, the reports it missed. Each is alerted once; running it again sends "
        "nothing new.",
    )
    add_config(backfill)
    backfill.add_argument(
        "--since", required=True, metavar="DURATION", help="how far back to look: 30m, 24h, 7d …"
    )
    backfill.add_argument("--watch", metavar="NAME", help="only this watch")
    add_store(backfill, "use")

    why = sub.add_parser(
        "why",
        help="say what happened to one item (why it did or did not alert)",
        description="For the article at URL, say what newswatch did with it, from the decision record the "
        "service keeps in the store for seen_ttl: never seen; or seen when and from which feed, skipped as "
        "too old, folded into an item seen before, which watches matched (and which story it opened or "
        "joined) and why the others did not, muted, held for a digest, delivered when.",
    )
    add_config(why)
    why.add_argument("url", metavar="URL")
    add_store(why)

    feeds = sub.add_parser(
        "feeds",
        help="list feeds with their health and next poll",
        description="List every configured feed with its last success, consecutive failures, last error, items "
        "seen and next poll, as the store knows them (works beside a running service).",
    )
    add_config(feeds)
    add_store(feeds)
    feeds.add_argument("--json", action="store_true", help="machine-readable output")

    outbox = sub.add_parser(
        "outbox",
        help="show alerts waiting for delivery and those parked",
        description="Show how many records wait in the outbox per target, and every parked record (one that "
        "can never be delivered as configured, e.g. to a channel that does not exist) with the reason. "
        "Parked records are deleted after notify.parked_ttl (7 days by default).",
    )
    add_config(outbox)
    add_store(outbox)
    act = outbox.add_mutually_exclusive_group()
    act.add_argument(
        "--purge",
        action="store_true",
        help="delete every parked record now and print how many (records waiting for delivery are kept)",
    )
    act.add_argument(
        "--retry",
        action="store_true",
        help="queue every parked record for delivery again (after fixing what parked it, e.g. the channel)",
    )

    mutes = sub.add_parser(
        "mutes",
        help="list the mutes and snoozes set from Slack, and lift them",
        description="List every mute and snooze set with the buttons on Slack alerts that is in force: its id, "
        "what it mutes (a story, a source, a whole watch), in which channel, who set it and until when. "
        "Works beside a running service; a lifted mute takes effect at the next message.",
    )
    add_config(mutes)
    add_store(mutes)
    lift = mutes.add_mutually_exclusive_group()
    lift.add_argument(
        "--clear", action="append", default=[], metavar="ID", help="lift this mute or snooze (repeatable)"
    )
    lift.add_argument("--clear-all", action="store_true", help="lift every mute and snooze")

    opml = sub.add_parser(
        "import-opml",
        help="print the feeds: YAML for an OPML export",
        description="Read an OPML export of a feed reader (FILE, or - for standard input) and print the "
        "matching `feeds:` YAML block to paste into a config. With --append, print only the list entries, "
        "to add under a config's existing `feeds:` (newswatch import-opml --append x.opml >> config.yaml when "
        "`feeds:` is the file's last section).",
    )
    opml.add_argument("file", metavar="FILE.opml")
    opml.add_argument(
        "--append", action="store_true", help="print the feed entries without the `feeds:` key line"
    )

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
