"""Prometheus metrics: every ``newswatch_*`` metric, its labels and buckets, and the error classifier.

Owns the metric definitions only; the pipeline, notifiers and store wrapper call into a :class:`Metrics`
object that the application context creates once per app.  Each :class:`Metrics` has its own
``CollectorRegistry`` rather than prometheus-client's global one, so tests and several apps in one process
never see each other's numbers (and never fail with "Duplicated timeseries").

Cardinality is bounded by design: labels take values from small fixed sets (status, cause, op, method,
target, event, action, result) or from the configured watches; a Slack user id is never a label.  Feed names and URLs are never labels: with 20,000 feeds they
would make 20,000 series per metric; per-feed health lives in the logs and the store's feed state instead.
"""

from __future__ import annotations

import functools
import inspect
import platform
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final, Literal, TypeVar, cast

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)

from newswatch import __version__
from newswatch.feeds.policy import PollStatus

S = TypeVar("S")

Cause = Literal[
    "timeout", "http_status", "too_large", "not_a_feed", "malformed", "tls", "connection", "other"
]

FEED_STATUSES: Final[tuple[PollStatus, ...]] = ("ok", "not_modified", "unchanged", "error")
CAUSES: Final[tuple[Cause, ...]] = (
    "timeout",
    "http_status",
    "too_large",
    "not_a_feed",
    "malformed",
    "tls",
    "connection",
    "other",
)

# Feed servers answer in tens of milliseconds to tens of seconds (the fetch timeout defaults to 30 s).
FETCH_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
# Slack's Web API usually answers in 100-500 ms; retries after a 429 can take tens of seconds.
SLACK_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A local Redis or SQLite answers in well under a millisecond; a remote Redis in a few.
STORE_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# From publication to alert: 10 s (a fast feed polled at once) up to 2 days (a feed that back-dates items or
# a worker that was down); anything later lands in +Inf.
LAG_BUCKETS: Final = (
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    7200.0,
    14400.0,
    43200.0,
    86400.0,
    172800.0,
)


def classify_error(message: str) -> Cause:
    """The cause class of a one-line fetch or parse error, for the ``cause`` label.

    The messages are the ones :func:`newswatch.feeds.fetch.fetch` and :func:`newswatch.feeds.parse.parse_feed` produce;
    anything unrecognised is ``other``, so a new message never breaks the metric, it only lands there.
    """
    m = message.strip().lower()
    for pattern, cause in _RULES:
        if pattern.search(m):
            return cause
    return "other"


# Each rule is anchored at the start of the message, where fetch and parse put the kind of failure: a path
# or a server's text later in the line ("not found: /feeds/timeout.xml") must not decide the class.  First
# match wins, so a TLS handshake that timed out counts as tls, which is what needs fixing.
_RULE_TEXT: Final[tuple[tuple[str, Cause], ...]] = (
    (r"^tls error\b", "tls"),
    (r"^(?:connect )?timeout after\b|^cannot connect to \S+: .*\btimed out\b", "timeout"),
    (r"^(?:decompressed )?body larger than\b", "too_large"),
    # A 4xx/5xx, a redirect without Location, a redirect loop or a redirect off http(s): the server did
    # not answer with a feed response.
    (r"^http \d{3}\b|^too many redirects\b|^redirect to\b", "http_status"),
    (r"^not a feed\b|^empty body\b", "not_a_feed"),
    (
        r"^malformed xml\b|^entity declarations\b|^corrupt \S+ body\b|^unsupported content encoding\b"
        r"|^bad response\b",
        "malformed",
    ),
    # A body cut off mid-transfer is the connection's fault, not the document's.
    (
        r"^connection refused\b|^cannot connect to\b|^dns lookup failed\b|^server disconnected\b"
        r"|^broken body\b|^connection\w*error\b",
        "connection",
    ),
)
_RULES: Final = tuple((re.compile(p), c) for p, c in _RULE_TEXT)


class Metrics:
    """Every newswatch metric on one private registry; create one per app with ``Metrics()``.

    The attributes are plain prometheus-client objects, so callers may use them directly
    (``metrics.items_parsed.inc(n)``); the methods below cover the cases where one event feeds several
    metrics, so the wiring cannot update one and forget the other.
    """

    def __init__(self, *, process: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        p = "newswatch_"

        self.feeds_polled = Counter(
            p + "feeds_polled", "Feed polls by outcome.", ["status"], registry=r
        )  # exposed as newswatch_feeds_polled_total
        self.feed_failures = Counter(
            p + "feed_failures", "Failed feed polls by cause class.", ["cause"], registry=r
        )
        self.fetch_seconds = Histogram(
            p + "fetch_duration_seconds",
            "Time to download one feed, errors included.",
            buckets=FETCH_BUCKETS,
            registry=r,
        )
        self.not_modified_ratio = Gauge(
            p + "not_modified_ratio",
            "Share of answered polls since start that were 304 Not Modified "
            "(for a window use rate() of feeds_polled_total).",
            registry=r,
        )
        self.feeds_configured = Gauge(p + "feeds_configured", "Feeds in the loaded config.", registry=r)
        self.items_parsed = Counter(p + "items_parsed", "Items parsed from feed bodies.", registry=r)
        self.pages_fetched = Counter(
            p + "pages_fetched",
            "Article pages of full-text feeds whose text an item was matched on.",
            registry=r,
        )
        self.page_failures = Counter(
            p + "page_failures",
            "Article pages of full-text feeds that failed (the teaser was matched instead), by cause class.",
            ["cause"],
            registry=r,
        )
        self.matches = Counter(p + "matches", "Items that matched a watch.", ["watch"], registry=r)
        self.stories_opened = Counter(
            p + "stories_opened", "New stories (first alert of a story) per watch.", ["watch"], registry=r
        )
        self.alerts_sent = Counter(
            p + "alerts_sent",
            "Alerts delivered, by notifier (slack, jsonl, console) and event (alert, update).",
            ["target", "event"],
            registry=r,
        )
        self.alert_failures = Counter(
            p + "alert_failures", "Alert deliveries that failed, by notifier.", ["target"], registry=r
        )
        self.alerts_pending = Gauge(
            p + "alerts_pending", "Alerts claimed but not yet delivered (outbox length).", registry=r
        )
        self.slack_seconds = Histogram(
            p + "slack_request_duration_seconds",
            "Slack Web API call latency by method.",
            ["method"],
            buckets=SLACK_BUCKETS,
            registry=r,
        )
        self.slack_rate_limited = Counter(
            p + "slack_rate_limited", "Slack answers with HTTP 429, by method.", ["method"], registry=r
        )
        self.slack_actions = Counter(
            p + "slack_actions",
            "Actions taken from Slack buttons, by action (mute_story, …) and result (ok, refused, failed).",
            ["action", "result"],
            registry=r,
        )
        self.slack_requests_refused = Counter(
            p + "slack_requests_refused",
            "Slack action requests refused, by cause (signature: forged or stale, 401; malformed: 400).",
            ["cause"],
            registry=r,
        )
        self.alerts_suppressed = Counter(
            p + "alerts_suppressed",
            "Records not posted to Slack because of a Slack action, by cause (muted_story, muted_source, "
            "snoozed: held for the digest after the snooze).",
            ["cause"],
            registry=r,
        )
        self.store_seconds = Histogram(
            p + "store_operation_duration_seconds",
            "Store call latency by operation.",
            ["op"],
            buckets=STORE_BUCKETS,
            registry=r,
        )
        self.store_errors = Counter(
            p + "store_errors", "Store calls that raised, by operation.", ["op"], registry=r
        )
        self.alert_lag = Histogram(
            p + "alert_lag_seconds",
            "Time from an item's publication to its alert.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.config_reloads = Counter(
            p + "config_reloads",
            "Config reloads on SIGHUP, by result (ok, rejected).",
            ["result"],
            registry=r,
        )
        self.build = Info(p + "build", "Version of newswatch and Python.", registry=r)
        self.start_time = Gauge(p + "start_time_seconds", "Unix time the process started.", registry=r)
        self.up = Gauge(
            p + "up",
            "1 when the last health check passed (loop alive, store reachable), else 0.",
            registry=r,
        )

        self.build.info({"version": __version__, "python": platform.python_version()})
        self.start_time.set(time.time())
        self.up.set(1)
        # Pre-create the fixed label values so a dashboard shows 0 instead of "no data" before the first
        # failure, and rate() has a starting point.
        for status in FEED_STATUSES:
            self.feeds_polled.labels(status)
        for cause in CAUSES:
            self.feed_failures.labels(cause)
            self.page_failures.labels(cause)
        for refused in ("signature", "malformed"):
            self.slack_requests_refused.labels(refused)
        self._answered = 0
        self._not_modified = 0
        self.not_modified_ratio.set_function(self._ratio)
        if process:
            # Standard process_* and python_info series, on this registry rather than the global one.
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)

    def feed_polled(
        self, status: PollStatus, seconds: float | None = None, error: str | None = None
    ) -> Cause | None:
        """Record one poll: its outcome, its fetch time and, for an error, its cause; returns the cause."""
        self.feeds_polled.labels(status).inc()
        if seconds is not None:
            self.fetch_seconds.observe(seconds)
        if status == "error":
            cause = classify_error(error or "")
            self.feed_failures.labels(cause).inc()
            return cause
        self._answered += 1
        if status == "not_modified":
            self._not_modified += 1
        return None

    def page_fetched(self, error: str | None) -> Cause | None:
        """Record one article page of a full-text feed: used (None), or failed with ``error``; returns the cause."""
        if error is None:
            self.pages_fetched.inc()
            return None
        cause = classify_error(error)
        self.page_failures.labels(cause).inc()
        return cause

    def matched(self, watch: str, *, new_story: bool) -> None:
        """Record a match of an item on a watch, and whether it opened a story."""
        self.matches.labels(watch).inc()
        if new_story:
            self.stories_opened.labels(watch).inc()

    def alert_delivered(
        self, target: str, event: str, published: datetime | None = None, at: datetime | None = None
    ) -> None:
        """Record one delivery; give ``published``/``at`` for the first delivery of an alert only, so the
        lag histogram counts alerts, not alerts × notifiers."""
        self.alerts_sent.labels(target, event).inc()
        if published is not None and at is not None:
            self.observe_lag(published, at)

    def observe_lag(self, published: datetime, at: datetime) -> None:
        # Feeds with clocks ahead of ours give a negative lag; count it as 0 rather than dropping it.
        self.alert_lag.observe(max(0.0, (at - published).total_seconds()))

    @contextmanager
    def time_store(self, op: str) -> Iterator[None]:
        """Time one store call under ``op`` and count it as an error if it raises."""
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            self.store_errors.labels(op).inc()
            raise
        finally:
            self.store_seconds.labels(op).observe(time.perf_counter() - start)

    def _ratio(self) -> float:
        return self._not_modified / self._answered if self._answered else 0.0


def instrument_store(store: S, metrics: Metrics) -> S:
    """``store`` with every coroutine method timed into ``metrics.store_seconds{op=<method name>}``.

    A proxy rather than timing inside each backend keeps both stores free of metrics and gives them identical
    ``op`` labels.  It wraps by name at call time, so methods added to the Store protocol later are timed
    without touching this module; ``op`` stays bounded because it is a method name, never an argument.
    """
    return cast(S, _TimedStore(store, metrics))


class _TimedStore:
    def __init__(self, inner: object, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        # close() is not an operation worth a latency series; private helpers are not part of the protocol.
        if name.startswith("_") or name == "close" or not inspect.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            with self._metrics.time_store(name):
                return await attr(*args, **kwargs)

        return timed
