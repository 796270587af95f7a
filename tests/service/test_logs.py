"""Log lines: the text and JSON shapes with their stable keys, levels, and secrets that never reach output."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from newswatch.service.logs import LogFormat, redact, setup_logging

TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
WEBHOOK = "https://hooks.slack.com/services/T0ABCDEF/B0ABCDEF/q1w2e3r4t5y6u7i8o9p0"


@pytest.fixture(autouse=True)
def _restore_logger() -> Iterator[None]:
    # setup_logging reconfigures the process-wide "newswatch" logger; leave it as other tests expect it.
    logger = logging.getLogger("newswatch")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def configure(fmt: LogFormat, level: str = "debug") -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    setup_logging(level, fmt, out)
    return logging.getLogger("newswatch.pipeline"), out  # a child logger, as modules use


def test_text_line_shape() -> None:
    log, out = configure("text")
    log.warning(
        "feed failed",
        extra={
            "error": "timeout after 30s",
            "cause": "timeout",
            "url": "https://example.org/rss.xml",
            "feed": "Al Mayadeen English",
        },
    )
    line = out.getvalue()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ WARNING feed failed feed=\"Al Mayadeen English\" "
        r"url=https://example\.org/rss\.xml cause=timeout error=\"timeout after 30s\"\n",
        line,
    ), line


def test_json_line_keys_and_order() -> None:
    log, out = configure("json")
    log.info(
        "alert sent",
        extra={
            "story": "s-1",
            "watch": "US–Hamas talks",
            "channel": "#mideast",
            "event": "alert",
            "attempt": 2,
        },
    )
    line = out.getvalue()
    assert line.count("\n") == 1
    doc = json.loads(line)
    assert list(doc) == ["ts", "level", "msg", "logger", "watch", "story", "channel", "event", "attempt"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["ts"])
    assert doc["level"] == "info" and doc["msg"] == "alert sent" and doc["logger"] == "newswatch.pipeline"
    assert doc["watch"] == "US–Hamas talks" and doc["attempt"] == 2 and doc["event"] == "alert"


def test_json_extra_cannot_overwrite_fixed_keys() -> None:
    log, out = configure("json")
    log.info("x", extra={"ts": "forged", "level": "critical"})
    doc = json.loads(out.getvalue())
    assert doc["level"] == "info" and doc["ts"] != "forged"
    assert doc["extra_ts"] == "forged" and doc["extra_level"] == "critical"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_exception_is_part_of_the_event(fmt: LogFormat) -> None:
    log, out = configure(fmt)
    try:
        raise RuntimeError("store exploded")
    except RuntimeError:
        log.exception("cycle failed", extra={"feed": "x"})
    text = out.getvalue()
    if fmt == "json":
        assert text.count("\n") == 1  # one event, one line, even with a traceback
        assert "RuntimeError: store exploded" in json.loads(text)["exc"]
    else:
        first, *rest = text.splitlines()
        assert first.endswith("ERROR cycle failed feed=x")
        assert rest and all(ln.startswith("  ") for ln in rest)


def test_level_filters_and_quiet_nights() -> None:
    log, out = configure("text", level="WARNING")
    log.debug("item skipped")
    log.info("cycle done")
    log.warning("feed failed")
    assert out.getvalue().count("\n") == 1 and "feed failed" in out.getvalue()


def test_setup_twice_does_not_duplicate_lines() -> None:
    configure("text")
    log, out = configure("json")
    log.info("once")
    assert out.getvalue().count("\n") == 1
    assert len(logging.getLogger("newswatch").handlers) == 1


def test_bad_format_arguments_do_not_raise_and_are_redacted() -> None:
    log, out = configure("text")
    log.info("two %s %s", TOKEN)
    assert "unformattable log arguments" in out.getvalue()
    assert "xoxb-" not in out.getvalue()


@pytest.mark.parametrize(("level", "fmt"), [("loud", "text"), ("info", "xml")])
def test_bad_level_or_format(level: str, fmt: Any) -> None:
    with pytest.raises(ValueError, match="is not one of"):
        setup_logging(level, fmt, io.StringIO())


# ------------------------------------------------------------------------------------------ secrets


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_token_never_reaches_output_by_any_path(fmt: LogFormat) -> None:
    log, out = configure(fmt)
    log.error(f"auth.test failed for {TOKEN}")  # in the message
    log.error("auth.test failed for %s", TOKEN)  # in the args
    log.error("posting %r", {"token": TOKEN, "channel": "#news"})  # inside a repr
    log.error("delivery failed", extra={"error": f"invalid_auth ({TOKEN})", "channel": "#news"})  # in extra
    log.error("delivery failed", extra={"target": {"headers": {"Authorization": f"Bearer {TOKEN}"}}})
    try:
        raise RuntimeError(f"slack said no to {TOKEN}")
    except RuntimeError:
        log.exception("traceback")  # in the exception text
    log.error("stack", stack_info=True, extra={"url": WEBHOOK})
    text = out.getvalue()
    assert "xoxb-" not in text
    assert "AbCdEfGhIjKlMnOpQrStUvWx" not in text
    assert "q1w2e3r4t5y6u7i8o9p0" not in text
    assert text.count("***") >= 7
    assert "#news" in text  # redaction took the secret, not the context


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"token {TOKEN} rejected", "token *** rejected"),
        ("xoxp-1-2-3 xoxa-2-abc xoxr-x xoxs-y xapp-1-A0-123-abc xoxe.xoxp-1-abc", "*** *** *** *** *** ***"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
        ("{'Authorization': 'Bearer abc'}", "{'Authorization': 'Bearer ***'}"),
        ('"authorization": "Basic dXNlcjpwYXNz"', '"authorization": "Basic ***"'),
        ("authorization=abc123", "authorization=***"),
        ("sent with bearer s3cr3t-token", "sent with bearer ***"),
        ("redis://:s3cret@redis:6379/0", "redis://:***@redis:6379/0"),
        ("rediss://default:p@ss@cache.example:6380/1 down", "rediss://default:***@cache.example:6380/1 down"),
        ("https://user:pw@example.org/feed.xml", "https://user:***@example.org/feed.xml"),
        (WEBHOOK, "https://hooks.slack.com/***"),
        ("to https://hooks.slack.com/workflows/T0/A0/123/abc.", "to https://hooks.slack.com/***"),
        ("https://example.org/rss?api_key=abc&x=1", "https://example.org/rss?api_key=***&x=1"),
        ("password=hunter2 user=bob", "password=*** user=bob"),
        # Not secrets: left alone.
        ("http://example.org:8080/rss.xml", "http://example.org:8080/rss.xml"),
        ("redis://redis:6379/0", "redis://redis:6379/0"),
        ("mail editor@example.org at http://x.org:80 now", "mail editor@example.org at http://x.org:80 now"),
        ("feed failed: HTTP 401 (token expired?)", "feed failed: HTTP 401 (token expired?)"),
    ],
)
def test_redact(raw: str, expected: str) -> None:
    assert redact(raw) == expected


def test_redis_password_in_a_store_error_line() -> None:
    log, out = configure("text")
    log.error(
        "store unreachable",
        extra={"error": "Redis store redis://:hunter2@10.0.0.5:6379/0: ConnectionError: refused"},
    )
    assert "hunter2" not in out.getvalue()
    assert "redis://:***@10.0.0.5:6379/0" in out.getvalue()
