"""Configuration: the YAML contract, its validation and `${VAR}` expansion.

Owns turning a config file into a validated :class:`Config`.  Every error is a :class:`ConfigError` whose
message names the file, the line and the key, so `newswatch check` can point at the problem.  The keys here are
a contract with users' files: extend them, never rename them.  Reading the YAML safely (one libyaml parse, alias
bombs, duplicate keys and unknown tags refused) is yamlfile.py; durations and URLs are values.py; the notify
section (where alerts go, the Slack app's credentials) is notify.py; which values are paths and how they
resolve beside the config file, paths.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator

from newswatch import constants as C

# The notify section, re-exported: the rest of newswatch takes every config model from here.
from newswatch.config.notify import AppriseTarget as AppriseTarget
from newswatch.config.notify import FloodConfig as FloodConfig
from newswatch.config.notify import NotifyConfig as NotifyConfig
from newswatch.config.notify import SlackConfig as SlackConfig
from newswatch.config.notify import WebhookConfig as WebhookConfig
from newswatch.config.paths import resolve_paths
from newswatch.config.values import Duration
from newswatch.config.values import Strict as _Strict
from newswatch.config.values import format_duration as format_duration  # re-exported: the CLI's summaries
from newswatch.config.values import parse_duration as parse_duration  # re-exported: part of the config API
from newswatch.config.watches import WatchConfig as WatchConfig
from newswatch.config.watches import target_problems
from newswatch.config.yamlfile import YamlDocument, YamlProblem, load_yaml

# --------------------------------------------------------------------------------------------------------------
# Errors


class ConfigError(Exception):
    """A config file that cannot be used; ``str()`` is the message to show the user."""


# --------------------------------------------------------------------------------------------------------------
# The schema


class FeedConfig(_Strict):
    url: str = Field(min_length=1)  # http(s) URL or local path (made absolute against the config file)
    name: str | None = None  # `source` in alerts; defaults to the feed's own title
    interval: Duration = C.DEFAULT_FEED_INTERVAL_S
    # A new item that is only a teaser has its link fetched and is matched on the article's text (docs/fetching.md).
    full_text: bool = False

    @field_validator("interval")
    @classmethod
    def _positive_interval(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("interval must be longer than 0s")
        return v

    @property
    def is_http(self) -> bool:
        return self.url.startswith(("http://", "https://"))


class AliasSpec(_Strict):
    """An alias with an explicit case rule (a plain string alias uses the default rule)."""

    text: str = Field(min_length=1)
    case_sensitive: bool | None = None  # None: capitalised acronyms (US, U.S., UN) are case-sensitive


class EntityConfig(_Strict):
    name: str | None = None
    aliases: list[str | AliasSpec] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)  # contexts that are not this entity ("Washington state")
    fuzzy: bool = False  # edit distance 1 on alias words of 6+ letters


class StoriesConfig(_Strict):
    """Story grouping knobs; the model and its threshold come from the evaluation in benchmarks/ (docs/stories.md)."""

    window: Duration = 48 * 3600  # a story takes reports up to this long after its latest one
    # Probability of "same story" the best candidate needs to be joined: higher splits more.  None: the
    # threshold fitted with the weights.
    threshold: float | None = Field(default=None, gt=0, le=1)
    weights: str | None = None  # a weights file written by benchmarks/train_stories.py; None: the shipped one
    related: bool = True  # "possibly related" alerts for near misses (see WatchConfig.related)


class FetchConfig(_Strict):
    connect_timeout: Duration = C.DEFAULT_CONNECT_TIMEOUT_S
    timeout: Duration = C.DEFAULT_TOTAL_TIMEOUT_S
    max_bytes: int = Field(default=C.DEFAULT_MAX_BODY_BYTES, gt=0)
    max_redirects: int = Field(default=C.DEFAULT_MAX_REDIRECTS, ge=0, le=20)
    concurrency: int = Field(default=C.DEFAULT_CONCURRENCY, gt=0)
    per_host: int = Field(default=C.DEFAULT_PER_HOST_CONCURRENCY, gt=0)
    user_agent: str | None = None


class ScheduleConfig(_Strict):
    max_interval: Duration = C.DEFAULT_MAX_INTERVAL_S  # slowest a healthy, quiet feed is polled
    backoff_cap: Duration = (
        C.DEFAULT_BACKOFF_CAP_S
    )  # slowest a failing feed is retried (it is never given up)


class OpsConfig(_Strict):
    channel: str | None = None  # Slack channel for feed down/recovered alerts; None: the log and console only
    feed_down_after: Duration = C.DEFAULT_FEED_DOWN_AFTER_S  # a feed failing this long raises one ops alert


class HttpConfig(_Strict):
    listen: str | None = None  # "127.0.0.1:9464": /healthz and /metrics; None: no HTTP endpoint
    # With a token, /metrics (watch names) and /healthz's reasons (store hosts) need "Authorization: Bearer
    # <token>"; /healthz's status code stays open to orchestrators.  Use ${NEWSWATCH_HTTP_TOKEN}.
    token: str | None = Field(default=None, min_length=16)
    # The read-only status pages (/, /stories/{id}, /feeds, /mutes, /outbox; docs/status-page.md) on listen;
    # with a token they need it too (the header, or ?token= for a browser).
    status: bool = False

    def __repr__(self) -> str:
        token = "***" if self.token else None
        return f"HttpConfig(listen={self.listen!r}, token={token}, status={self.status})"

    __str__ = __repr__


class WebSubConfig(_Strict):
    """Push: feeds that advertise a WebSub hub are subscribed to; the hub posts new items to us."""

    callback_url: str  # the public URL hubs post to (a reverse proxy forwards it to `listen`)
    secret: str = Field(min_length=16)  # keys the per-feed HMAC secrets; use ${WEBSUB_SECRET}
    listen: str = "0.0.0.0:8081"
    lease: Duration = 86400.0

    def __repr__(self) -> str:
        return f"WebSubConfig(callback_url={self.callback_url!r}, listen={self.listen!r}, secret=***)"

    __str__ = __repr__


class Config(_Strict):
    # redis://…, redis+cluster://host:port (any node of a Redis Cluster) or sqlite:///path; None → SQLite file in
    # the user's state dir
    store: str | None = None
    # Processes for parsing, matching and story features: "auto" is one per core; 0 runs them in a thread.
    workers: Literal["auto"] | Annotated[int, Field(ge=0, le=64)] = "auto"
    max_item_age: Duration | None = C.DEFAULT_MAX_ITEM_AGE_S
    seen_ttl: Duration = C.DEFAULT_SEEN_TTL_S
    feeds: list[FeedConfig] = Field(default_factory=list)
    entities: dict[str, EntityConfig] = Field(default_factory=dict)
    watches: list[WatchConfig] = Field(default_factory=list)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    stories: StoriesConfig = Field(default_factory=StoriesConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    websub: WebSubConfig | None = None
    # Every new item, in the replay format, one file a day (relative to the config file); None: no archive.
    archive: str | None = None
    archive_days: int = Field(default=C.DEFAULT_ARCHIVE_DAYS, gt=0)  # daily files kept

    @field_validator("store")
    @classmethod
    def _store_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not v.startswith(
            ("redis://", "rediss://", "unix://", "sqlite://", "redis+cluster://", "rediss+cluster://")
        ):
            # (the value is not repeated: a store URL may carry a password)
            raise ValueError(
                "is not a store URL; use redis://host:port/db, redis+cluster://host:port or sqlite:///path/state.db"
            )
        return v

    @field_validator("watches")
    @classmethod
    def _unique_watch_names(cls, v: list[WatchConfig]) -> list[WatchConfig]:
        seen: set[str] = set()
        for w in v:
            if w.name in seen:
                raise ValueError(f"two watches are named {w.name!r}; names identify a watch's alerts")
            seen.add(w.name)
        return v


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config with where it came from (for relative paths and messages)."""

    config: Config
    path: Path
    # Relative paths of the file as written and where they now resolve (beside the config file), so start-up
    # can say when a file sits at the old place, relative to the working directory.
    relocated: tuple[tuple[str, str], ...] = ()

    def with_store(self, url: str) -> LoadedConfig:
        """The same config on another store (the ``--store`` option)."""
        try:
            cfg = Config.model_validate({**self.config.model_dump(), "store": url})
        except ValidationError as exc:
            raise ConfigError(
                "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            ) from None
        return LoadedConfig(cfg, self.path, self.relocated)

    def files_at_old_places(self) -> list[tuple[str, str]]:
        """(old place, new place) for each relative path whose file exists relative to the working directory
        but is no longer used: every relative path resolves against the config file's folder now."""
        return [
            (str(Path(old).resolve()), new)
            for old, new in self.relocated
            if Path(old).exists() and Path(old).resolve() != Path(new)
        ]


def default_state_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "newswatch" / "state.db"


def store_url(cfg: Config) -> str:
    """The store URL to use, with the embedded default filled in."""
    return cfg.store or f"sqlite:///{default_state_path()}"


# --------------------------------------------------------------------------------------------------------------
# Loading


_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, expand and validate a config file; raise :class:`ConfigError` naming file, line and key."""
    p = Path(path)
    env = os.environ if environ is None else environ
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc}") from None
    return parse_config(text, p, env)


def parse_config(text: str, path: Path, environ: Mapping[str, str]) -> LoadedConfig:
    """Validate config text; every problem is a :class:`ConfigError` naming ``path``, the line and the key."""
    try:
        doc = load_yaml(text)
    except YamlProblem as exc:
        where = f"{path}:{exc.line}" + (f":{exc.column}" if exc.column else "") if exc.line else str(path)
        raise ConfigError(f"{where}: " + (f"{_dotted(exc.loc)}: " if exc.loc else "") + exc.message) from None
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}:1: the config must be a mapping of keys (store, feeds, entities, watches, …)"
        )
    if "${" in text:  # only then can a value hold a variable; skips a walk over a big watchlist
        unset: list[str] = []
        data = _expand(data, (), environ, path, doc, unset)
        if unset:  # every one at once: a first run should not cost one try per variable
            raise ConfigError("\n".join(dict.fromkeys(unset)))
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, path, doc)) from None
    _check_slack_app(cfg, path, doc)
    cfg, relocated = resolve_paths(cfg, path.parent)
    return LoadedConfig(cfg, path, relocated)


def _check_slack_app(cfg: Config, path: Path, doc: YamlDocument) -> None:
    """What one section cannot check alone: Slack actions need the bot token, and over HTTP a server; the
    status pages need the server too; a watch's targets must be set up in notify."""
    slack = cfg.notify.slack
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if slack is not None and (slack.signing_secret or slack.app_token) and not slack.token:
        key = "signing_secret" if slack.signing_secret else "app_token"
        problems.append(
            (("notify", "slack", key), "Slack actions need the bot token too (notify.slack.token)")
        )
    if slack is not None and slack.signing_secret and not cfg.http.listen:
        why = "needs http.listen: Slack posts actions to /slack/actions on it (or use app_token: Socket Mode)"
        problems.append((("notify", "slack", "signing_secret"), why))
    if cfg.http.status and not cfg.http.listen:
        problems.append((("http", "status"), "needs http.listen: the status pages are served on it"))
    for i, why in target_problems(cfg.watches, cfg.notify):
        problems.append((("watches", i, "targets"), why))
    if problems:
        lines = [f"{path}:{doc.line_for(loc) or 1}: {_dotted(loc)}: {why}" for loc, why in problems]
        raise ConfigError("\n".join(lines))


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _expand(
    value: Any,
    loc: tuple[str | int, ...],
    env: Mapping[str, str],
    path: Path,
    doc: YamlDocument,
    unset: list[str],
) -> Any:
    """``value`` with ``${VAR}`` filled in; each variable that is not set (and has no default) is added to
    ``unset`` as a message naming the line and key, and left empty."""
    if isinstance(value, dict):
        return {k: _expand(v, (*loc, k), env, path, doc, unset) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*loc, i), env, path, doc, unset) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            line = doc.line_for(loc)
            unset.append(
                f"{path}:{line}: {_dotted(loc)}: environment variable {name} is not set "
                f"(set it, or write ${{{name}:-default}})"
            )
            return ""

        return _VAR_RE.sub(sub, value)
    return value


def _format_validation(exc: ValidationError, path: Path, doc: YamlDocument) -> str:
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in _UNION_TAGS))
        line = doc.line_for(loc)
        where = f"{path}:{line}" if line else str(path)
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}" + _suggest(loc)
        else:
            msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {_dotted(loc)}: {msg}")
    return "\n".join(dict.fromkeys(out))


# pydantic puts the union member's name into error locations; they mean nothing to a user.
_UNION_TAGS = {"str", "AliasSpec", "float", "constrained-str", "function-before[parse_duration(), float]"}

_KNOWN_KEYS: dict[str, set[str]] = {
    "": set(Config.model_fields),
    "feeds": set(FeedConfig.model_fields),
    "entities": set(EntityConfig.model_fields),
    "watches": set(WatchConfig.model_fields),
    "notify": set(NotifyConfig.model_fields),
    "slack": set(SlackConfig.model_fields),
    "fetch": set(FetchConfig.model_fields),
    "stories": set(StoriesConfig.model_fields),
    "schedule": set(ScheduleConfig.model_fields),
    "ops": set(OpsConfig.model_fields),
    "http": set(HttpConfig.model_fields),
    "websub": set(WebSubConfig.model_fields),
    "flood": set(FloodConfig.model_fields),
    "webhook": set(WebhookConfig.model_fields),
    "apprise": set(AppriseTarget.model_fields),
}


def _suggest(loc: tuple[str | int, ...]) -> str:
    import difflib

    parents = [p for p in loc[:-1] if isinstance(p, str)]
    section = parents[0] if parents else ""
    if section == "notify" and len(parents) > 1:
        section = parents[1]
    known = _KNOWN_KEYS.get(section, set())
    close = difflib.get_close_matches(str(loc[-1]), sorted(known), n=1)
    allowed = ", ".join(sorted(known))
    return f" (did you mean {close[0]!r}?)" if close else (f" (allowed: {allowed})" if known else "")
