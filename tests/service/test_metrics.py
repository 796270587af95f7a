"""Metrics: the error classifier against the real fetch/parse messages, the exposition, and independence."""

from __future__ import annotations

import platform
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from newswatch import __version__
from newswatch.config import FetchConfig
from newswatch.feeds.fetch import fetch
from newswatch.feeds.parse import FeedParseError, parse_feed
from newswatch.service.metrics import CAUSES, LAG_BUCKETS, Metrics, classify_error, instrument_store
from newswatch.store.base import StoreError
from newswatch.store.sqlite import SQLiteStore


def sample(m: Metrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels or None)


# ------------------------------------------------------------------------------------------ classify_error


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        ("timeout after 30s", "timeout"),
        ("connect timeout after 10s", "timeout"),
        ("cannot connect to example.org:443: timed out", "timeout"),
        ("HTTP 404", "http_status"),
        ("HTTP 503", "http_status"),
        ("HTTP 301 without a Location header", "http_status"),
        ("too many redirects (more than 5)", "http_status"),
        ("redirect to a non-http URL: ftp://x", "http_status"),
        ("body larger than 10 MiB", "too_large"),
        ("decompressed body larger than 10 MiB", "too_large"),
        ("TLS error: certificate: hostname mismatch", "tls"),
        ("TLS error: [SSL: WRONG_VERSION_NUMBER] timed out", "tls"),
        ("connection refused", "connection"),
        ("cannot connect to example.org:80: Network is unreachable", "connection"),
        ("DNS lookup failed for nowhere.invalid", "connection"),
        ("server disconnected", "connection"),
        ("broken body: Response payload is not completed", "connection"),
        ("ConnectionResetError: [Errno 104] Connection reset by peer", "connection"),
        ("not a feed (HTML page)", "not_a_feed"),
        ("not a feed (no RSS or Atom root element)", "not_a_feed"),
        ("empty body", "not_a_feed"),
        ("malformed XML: mismatched tag at line 3", "malformed"),
        ("malformed XML", "malformed"),
        ("entity declarations are not allowed", "malformed"),
        ("corrupt gzip body: Error -3", "malformed"),
        ("unsupported content encoding: zstd", "malformed"),
        ("bad response: Invalid HTTP status line", "malformed"),
        # Local files: a path must not decide the class.
        ("not found: /srv/feeds/timeout.xml", "other"),
        ("not found: /srv/redirect/HTTP 404.xml", "other"),
        ("permission denied: /srv/feeds/a.xml", "other"),
        ("invalid URL: http://[", "other"),
        ("ValueError: something new", "other"),
        ("", "other"),
    ],
)
def test_classify_error(message: str, cause: str) -> None:
    assert classify_error(message) == cause
    assert cause in CAUSES


async def test_classify_error_on_real_fetch_messages(tmp_path: Path) -> None:
    """The classifier agrees with the messages fetch and parse actually produce today."""
    with socket.socket() as s:  # a port nothing listens on: bind, learn the number, close
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    limits = FetchConfig()
    async with aiohttp.ClientSession() as session:
        refused = await fetch(session, f"http://127.0.0.1:{port}/rss", limits)
        missing = await fetch(session, str(tmp_path / "timeout.xml"), limits)
    assert refused.error is not None and classify_error(refused.error) == "connection"
    assert missing.error is not None and classify_error(missing.error) == "other"

    now = datetime.now(UTC)
    for body, cause in [
        (b"<!doctype html><html><body>hi</body></html>", "not_a_feed"),
        (b"", "not_a_feed"),
        (b"<rss><channel><title>x</title><item><title>a</item></channel></rss", "malformed"),
    ]:
        with pytest.raises(FeedParseError) as err:
            parse_feed(body, "https://example.org/rss", None, now)
        assert classify_error(str(err.value)) == cause, str(err.value)


# ------------------------------------------------------------------------------------------ registry


def test_exposition_has_every_metric_with_prefix_and_bounded_labels() -> None:
    m = Metrics()
    m.feed_polled("ok", 0.2)
    m.matched("US–Hamas talks", new_story=True)
    m.alert_delivered(
        "slack", "alert", datetime(2025, 3, 5, tzinfo=UTC), datetime(2025, 3, 5, 0, 5, tzinfo=UTC)
    )
    m.alerts_pending.set(3)
    m.slack_seconds.labels("chat.postMessage").observe(0.3)
    m.slack_rate_limited.labels("chat.postMessage").inc()
    m.items_parsed.inc(12)
    m.config_reloads.labels("ok").inc()
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(m.registry).decode())}
    ours = {name for name in families if name.startswith("newswatch_")}
    assert ours >= {
        "newswatch_feeds_polled",
        "newswatch_feed_failures",
        "newswatch_fetch_duration_seconds",
        "newswatch_not_modified_ratio",
        "newswatch_items_parsed",
        "newswatch_matches",
        "newswatch_stories_opened",
        "newswatch_alerts_sent",
        "newswatch_alerts_pending",
        "newswatch_slack_request_duration_seconds",
        "newswatch_slack_rate_limited",
        "newswatch_store_operation_duration_seconds",
        "newswatch_alert_lag_seconds",
        "newswatch_build_info",
        "newswatch_up",
    }
    # Everything else on the registry is the standard process_*/python_* set, nothing unprefixed of ours.
    assert all(n.startswith(("newswatch_", "process_", "python_")) for n in families)
    labels = {k for f in families.values() for s in f.samples for k in s.labels}
    assert not labels & {"url", "feed", "feed_url", "title", "item"}
    assert sample(m, "newswatch_build_info", version=__version__, python=platform.python_version()) == 1


def test_feed_polled_counts_status_cause_latency_and_ratio() -> None:
    m = Metrics(process=False)
    # Every status and cause exists at 0 before anything happens, so rate() and dashboards have a start.
    assert sample(m, "newswatch_feeds_polled_total", status="error") == 0
    assert sample(m, "newswatch_feed_failures_total", cause="tls") == 0
    assert sample(m, "newswatch_not_modified_ratio") == 0

    assert m.feed_polled("ok", 0.1) is None
    m.feed_polled("not_modified", 0.05)
    m.feed_polled("not_modified", 0.05)
    m.feed_polled("unchanged", 0.3)
    assert m.feed_polled("error", 30.0, "timeout after 30s") == "timeout"
    assert m.feed_polled("error", 0.01, "HTTP 404") == "http_status"

    assert sample(m, "newswatch_feeds_polled_total", status="not_modified") == 2
    assert sample(m, "newswatch_feeds_polled_total", status="error") == 2
    assert sample(m, "newswatch_feed_failures_total", cause="timeout") == 1
    assert sample(m, "newswatch_feed_failures_total", cause="http_status") == 1
    assert sample(m, "newswatch_fetch_duration_seconds_count") == 6
    assert sample(m, "newswatch_fetch_duration_seconds_bucket", le="0.05") == 3  # two 304s and the 404
    # 2 of the 4 answered polls were 304s; errors are not answers.
    assert sample(m, "newswatch_not_modified_ratio") == 0.5


def test_matches_stories_alerts_and_lag() -> None:
    m = Metrics(process=False)
    m.matched("talks", new_story=True)
    m.matched("talks", new_story=False)
    published = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)
    m.alert_delivered("slack", "alert", published, published + timedelta(seconds=45))
    m.alert_delivered("jsonl", "alert")  # the same alert to a second target: counted, no second lag
    m.alert_delivered("slack", "update", published, published + timedelta(days=3))
    m.observe_lag(published, published - timedelta(minutes=5))  # a feed clock ahead of ours

    assert sample(m, "newswatch_matches_total", watch="talks") == 2
    assert sample(m, "newswatch_stories_opened_total", watch="talks") == 1
    assert sample(m, "newswatch_alerts_sent_total", target="slack", event="alert") == 1
    assert sample(m, "newswatch_alerts_sent_total", target="jsonl", event="alert") == 1
    assert sample(m, "newswatch_alert_lag_seconds_count") == 3
    assert sample(m, "newswatch_alert_lag_seconds_bucket", le="10.0") == 1  # the negative one, as 0
    assert sample(m, "newswatch_alert_lag_seconds_bucket", le="60.0") == 2
    assert sample(m, "newswatch_alert_lag_seconds_bucket", le="172800.0") == 2  # 3 days is past 2 days
    assert sample(m, "newswatch_alert_lag_seconds_bucket", le="+Inf") == 3
    assert LAG_BUCKETS[0] == 10 and LAG_BUCKETS[-1] == 2 * 86400


def test_two_apps_in_one_process_are_independent() -> None:
    a, b = Metrics(), Metrics()  # would raise "Duplicated timeseries" on a shared registry
    a.items_parsed.inc(5)
    assert sample(a, "newswatch_items_parsed_total") == 5
    assert sample(b, "newswatch_items_parsed_total") == 0


async def test_instrument_store_times_every_call_on_the_real_store(tmp_path: Path) -> None:
    m = Metrics(process=False)
    store = SQLiteStore(tmp_path / "s.db")
    timed = instrument_store(store, m)
    await timed.ping()
    await timed.set_feed_states({"https://example.org/rss": {"etag": "x"}})
    assert await timed.get_feed_state("https://example.org/rss") == {"etag": "x"}
    await timed.close()
    assert sample(m, "newswatch_store_operation_duration_seconds_count", op="ping") == 1
    assert sample(m, "newswatch_store_operation_duration_seconds_count", op="set_feed_states") == 1
    assert sample(m, "newswatch_store_operation_duration_seconds_count", op="get_feed_state") == 1
    assert sample(m, "newswatch_store_operation_duration_seconds_count", op="close") is None

    # A failing call is timed and counted as an error, and the StoreError still reaches the caller.
    with pytest.raises(StoreError):
        await timed.ping()
    assert sample(m, "newswatch_store_errors_total", op="ping") == 1
    assert sample(m, "newswatch_store_operation_duration_seconds_count", op="ping") == 2
