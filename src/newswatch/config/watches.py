"""The ``watches:`` entries of the config: a query, where its alerts go and which items it considers.

Owns the watch keys: ``query``, ``channel`` (the Slack channel), ``digest``, ``story_window``, ``targets`` (which
notify targets the watch uses: ``slack``, ``slack_webhook``, ``webhook``, ``jsonl``, ``console``, ``apprise``
for every Apprise URL or ``apprise:NAME`` for one) and the filters ``languages``, ``sources`` and
``exclude_sources`` (applied with the query in the CPU stage, match/filters.py).  Which target names exist
depends on the notify section: :func:`target_problems` checks them once both are read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import Field, field_validator

from newswatch.config.notify import NotifyConfig
from newswatch.config.values import Duration, Strict

TARGET_KINDS = ("slack", "slack_webhook", "webhook", "jsonl", "console", "apprise")
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")


class WatchConfig(Strict):
    name: str = Field(min_length=1)
    query: str = Field(min_length=1)
    channel: str | None = None  # overrides notify.slack.channel
    digest: Literal["hourly", "daily"] | None = None  # low-priority watch: one digest message per period
    story_window: Duration | None = None  # overrides stories.window for this watch
    # A report a little too far from an earlier story to join it opens a new alert "possibly related" to that
    # story (true), or a plain new alert (false); None: stories.related.
    related: bool | None = None
    # Which notify targets this watch uses (None: every one configured); names from TARGET_KINDS.
    targets: list[str] | None = None
    # Only items in these languages (ISO 639-1 codes, "pt", "es"), as detected on the item's text.
    languages: list[str] = Field(default_factory=list)
    # Only items from these feeds (their names) or links on these domains; exclude_sources: never those.
    sources: list[str] = Field(default_factory=list)
    exclude_sources: list[str] = Field(default_factory=list)

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str]) -> list[str]:
        codes = [c.strip().lower() for c in v]
        for code in codes:
            if not _LANGUAGE_RE.match(code):
                raise ValueError(f"{code!r} is not a language code; write ISO 639-1 codes such as pt, es, en")
        return codes

    @field_validator("sources", "exclude_sources")
    @classmethod
    def _sources(cls, v: list[str]) -> list[str]:
        out = [s.strip() for s in v]
        if any(not s for s in out):
            raise ValueError("a source is a feed name or a domain, never empty")
        return out

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        for t in v:
            if t.split(":", 1)[0] not in TARGET_KINDS or (":" in t and not t.startswith("apprise:")):
                allowed = ", ".join(TARGET_KINDS)
                raise ValueError(f"unknown target {t!r}; use {allowed} or apprise:NAME")
        return v


def target_problems(watches: Sequence[WatchConfig], notify: NotifyConfig) -> list[tuple[int, str]]:
    """(watch index, message) for each ``targets`` entry naming a notify target the config does not set up."""
    configured = {
        "slack": notify.slack_enabled,
        "slack_webhook": bool(notify.slack_webhook),
        "webhook": notify.webhook is not None,
        "jsonl": bool(notify.jsonl),
        "console": True,
        "apprise": bool(notify.apprise),
    }
    names = {a.name for a in notify.apprise}
    problems = []
    for i, w in enumerate(watches):
        for t in w.targets or ():
            kind, _, name = t.partition(":")
            if not configured[kind]:
                problems.append((i, f"target {t!r} is not configured in notify"))
            elif name and name not in names:
                known = ", ".join(sorted(names)) or "none"
                problems.append((i, f"no Apprise URL is named {name!r} (named: {known})"))
    return problems
