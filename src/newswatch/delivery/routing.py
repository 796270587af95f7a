"""Routing: which outbox queues a record goes to, and the records newswatch writes itself.

Owns the target names (``slack:#channel``, ``jsonl``, ``console``, ``slack-webhook:``, ``webhook:``,
``apprise:NAME``, with ``|digest:hourly`` for digest watches; a watch's ``targets:`` picks among them) that the outbox and the notifiers agree on, the alert record of the
JSONL contract (fields are a contract: extend them, never rename them), and the ops records for a feed that
went down or recovered.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from newswatch.config import Config
from newswatch.delivery.digests import DIGEST_MARK
from newswatch.models import Match

log = logging.getLogger("newswatch")

__all__ = ["alert_record", "ops_record", "ops_targets", "slack_channels", "watch_targets"]


def watch_targets(cfg: Config) -> dict[str, tuple[str, ...]]:
    """The outbox queues each watch's records go to, from the notify section and the watch's ``targets:``
    (None: every target configured; else only those it names, ``apprise`` meaning every Apprise URL)."""
    n = cfg.notify
    out: dict[str, tuple[str, ...]] = {}
    for w in cfg.watches:
        chosen = None if w.targets is None else set(w.targets)

        def wants(kind: str, chosen: set[str] | None = chosen) -> bool:
            return chosen is None or kind in chosen

        targets: list[str] = []
        if n.jsonl and wants("jsonl"):
            targets.append("jsonl")
        if n.slack and n.slack.token and wants("slack"):
            targets.append(f"slack:{w.channel or n.slack.channel or ''}")
        if n.slack_webhook and wants("slack_webhook"):
            targets.append("slack-webhook:")
        if n.webhook and wants("webhook"):
            targets.append("webhook:")
        targets += [f"apprise:{a.key}" for a in n.apprise if wants("apprise") or wants(f"apprise:{a.key}")]
        people = n.slack_enabled or n.slack_webhook or n.apprise
        if (chosen is None and not people and n.jsonl != "-") or (chosen is not None and "console" in chosen):
            targets.append("console")  # without Slack or Apprise, alerts still reach a person
        if w.digest:
            # Files and the console do not flood; only chat targets wait for the digest.
            targets = [t if t in ("jsonl", "console") else f"{t}{DIGEST_MARK}{w.digest}" for t in targets]
        out[w.name] = tuple(targets)
    return out


def slack_channels(cfg: Config) -> dict[str, tuple[str, ...]]:
    """Each watch's Slack channel targets: a mute or snooze set there holds for its Apprise targets too."""
    return {
        watch: tuple(t.split(DIGEST_MARK, 1)[0] for t in targets if t.startswith("slack:"))
        for watch, targets in watch_targets(cfg).items()
    }


def ops_targets(cfg: Config) -> tuple[str, ...]:
    """Where feed down/recovered alerts go: the ops channel on Slack, else the console."""
    n = cfg.notify
    if cfg.ops.channel and n.slack and n.slack.token:
        return (f"slack:{cfg.ops.channel}",)
    return ("console",) if n.jsonl != "-" else ()


def alert_record(
    title: str, url: str, source: str, published: datetime | None, match: Match, now: datetime, feed: str = ""
) -> dict[str, Any]:
    """The alert record of the JSONL contract; "event" and "story" are decided by the store.  ``feed`` is
    the URL of the feed the item came from (what "Mute source" in Slack mutes)."""
    record: dict[str, Any] = {
        "event": None,
        "watch": match.watch,
        "story": None,
        "title": title,
        "url": url,
        "source": source,
        "published": published.isoformat() if published else None,
        "matched": list(match.terms),
        "at": now.isoformat(),
        "feed": feed,
    }
    if match.snippet:
        record["snippet"] = match.snippet
        record["_snippet_hits"] = [list(h) for h in match.snippet_hits]
    return record


def ops_record(label: str, url: str, change: str, state: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The record of a feed that went down (``change`` "down") or recovered, and its one log line."""
    if change == "down":
        title = f"Feed {label} has been failing since {_when(state.get('failing_since'))}: {state.get('last_error')}"
        log.error("feed down", extra={"feed": label, "url": url, "error": state.get("last_error")})
    else:
        title = f"Feed {label} has recovered"
        log.warning("feed recovered", extra={"feed": label, "url": url})
    return {"event": f"feed_{change}", "watch": "ops", "story": "", "title": title, "url": url,
            "source": "newswatch", "published": None, "matched": [], "at": now.isoformat()}  # fmt: skip


def _when(epoch: Any) -> str:
    try:
        return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(epoch)
