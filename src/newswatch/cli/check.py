"""`newswatch check`: validate a config and summarise what it asks for."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from newswatch.cli.common import EXIT_OK, EXIT_PROBLEMS, watch_problems
from newswatch.config import Config, LoadedConfig, NotifyConfig, format_duration, store_url
from newswatch.config.values import redact_url
from newswatch.shared.appriseurl import instantiate, label


def check(loaded: LoadedConfig) -> int:
    cfg = loaded.config
    problems = watch_problems(loaded) + weights_problems(loaded)
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
        digest = f"  ({w.digest} digest, sent {_digest_time(w.digest)})" if w.digest else ""
        only = f"  targets: {', '.join(w.targets)}" if w.targets is not None else ""
        filters = "".join(
            f"  {key}: {', '.join(values)}"
            for key, values in (("languages", w.languages), ("sources", w.sources),
                                ("exclude_sources", w.exclude_sources)) if values
        )  # fmt: skip
        out.write(
            f"  - {w.name}: {w.query}"
            + (f"  → {channel}" if channel and cfg.notify.slack_enabled else "")
            + digest
            + only
            + filters
            + "\n"
        )
    out.write(f"notify: {', '.join(_notify_targets(cfg.notify))}\n")
    if cfg.archive:
        out.write(f"archive: {cfg.archive} (every new item, one file a day, {cfg.archive_days} days kept)\n")
    warnings = config_warnings(cfg)
    if warnings:
        out.write("warnings:\n" + "".join(f"  - {w}\n" for w in warnings))
    if problems:
        sys.stderr.write("newswatch: problems:\n" + "\n".join(problems) + "\n")
        return EXIT_PROBLEMS
    out.write("config OK\n")
    return EXIT_OK


def config_warnings(cfg: Config) -> list[str]:
    """What is valid but probably not what was meant: said by `check`, and logged when `run` starts."""
    from newswatch.match.validate import case_warnings

    warnings = case_warnings(cfg.entities)
    n = cfg.notify
    if n.slack_webhook and not n.slack_enabled:
        for w in cfg.watches:
            if w.channel:
                warnings.append(
                    f"watch {w.name!r}: channel {w.channel!r} is not used: an incoming webhook (notify.slack_webhook) "
                    "posts only to the channel it was created for; a bot token (notify.slack.token) posts per channel"
                )
    return warnings


def weights_problems(loaded: LoadedConfig) -> list[str]:
    """A ``stories.weights`` file that cannot be used (missing, not weights): `run` would refuse to start."""
    weights = loaded.config.stories.weights
    if not weights:
        return []
    from newswatch.stories import load_model

    try:
        load_model(weights)
    except (OSError, ValueError) as exc:
        return [f"{loaded.path}: stories.weights: {weights}: {getattr(exc, 'strerror', None) or exc}"]
    return []


def _digest_time(period: str) -> str:
    # Digests go out at the start of the next UTC hour or day (delivery/digests.py).
    if period == "hourly":
        return "at the start of every hour"
    local = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).astimezone()
    return "at 00:00 UTC" + ("" if local.utcoffset() == timedelta(0) else local.strftime(" (%H:%M %Z here)"))


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
    for a in n.apprise:
        # Apprise's privacy label: scheme and host, masked where the host is itself a token.
        targets.append(f"Apprise {a.key}: {label(instantiate(a.url))}")
    if not n.slack_enabled and not n.slack_webhook and not n.apprise and n.jsonl != "-":
        targets.append("console")  # without Slack or Apprise, alerts still reach a person
    return targets


def _redacted_store(url: str) -> str:
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url
