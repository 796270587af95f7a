"""`newswatch check`: validate a config and summarise what it asks for."""

from __future__ import annotations

import sys

from newswatch.cli.common import EXIT_OK, EXIT_PROBLEMS, watch_problems
from newswatch.config import LoadedConfig, NotifyConfig, format_duration, store_url
from newswatch.config.values import redact_url


def check(loaded: LoadedConfig) -> int:
    cfg = loaded.config
    problems = watch_problems(loaded)
    out = sys.stdout
    out.write(f"config: {loaded.path}\n")
    out.write(f"store: {_redacted_store(store_url(cfg))}{'' if cfg.store else ' (embedded default)'}\n")
    age = format_duration(cfg.max_item_age) if cfg.max_item_age else "off"
    out.write(f"max_item_age: {age}   seen_ttl: {format_duration(cfg.seen_ttl)}\n")
    out.write(f"feeds ({len(cfg.feeds)}):\n")
    for f in cfg.feeds:
        kind = ("url" if f.is_http else "file") + (", full text" if f.full_text else "")
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
        actions = [
            *(["POST /slack/actions on http.listen"] if n.slack.signing_secret else []),
            *(["Socket Mode"] if n.slack.app_token else []),
        ]
        if actions:
            targets.append("Slack actions (mute, snooze) through " + " and ".join(actions))
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
