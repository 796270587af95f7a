"""Log output for the ``newswatch`` logger: one line per event, as text or JSON, with secrets redacted.

Owns the line formats, their stable keys and the redaction rules.  Callers log a short fixed event text and
put the variable parts in ``extra=``, so both formats carry the same keys and log pipelines can filter on
them without parsing prose::

    log.warning("feed failed", extra={"feed": label, "url": feed.url, "cause": cause, "error": error})

text: ``2026-01-01T00:00:00Z WARNING feed failed feed="Al Mayadeen" url=https://… cause=timeout error=…``
json: ``{"ts": "2026-01-01T00:00:00.000Z", "level": "warning", "msg": "feed failed", "feed": …}``

Redaction runs on the finished line as well as on the record, so a secret cannot slip through a path the
filter did not foresee (a traceback, a repr of an exception, an unknown ``extra`` key).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, Literal, TextIO

LogFormat = Literal["text", "json"]

LOGGER_NAME: Final = "newswatch"

# The keys callers use for context, in the order lines show them; other extras follow in the order given.
CONTEXT_KEYS: Final = ("feed", "url", "watch", "story", "channel", "target", "cause", "status", "error")

LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

REDACTED: Final = "***"


def setup_logging(level: str, fmt: LogFormat, stream: TextIO | None = None) -> logging.Logger:
    """Send the ``newswatch`` logger to ``stream`` (stderr when None) at ``level`` in ``fmt``.

    Replaces the logger's handlers, so calling it again (tests, a reload) never duplicates lines, and stops
    propagation, so a library's root configuration cannot print the same event twice or unredacted.
    """
    try:
        numeric = LEVELS[level.strip().lower()]
    except KeyError:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}") from None
    if fmt not in ("text", "json"):
        raise ValueError(f"log format {fmt!r} is not one of text, json")
    # Without a stream, sys.stderr is looked up at each line, so a replaced stderr (pytest, a daemon) is used
    # and a closed one left behind by an earlier caller never is.
    handler: logging.StreamHandler[TextIO] = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(LOGGER_NAME)
    for old in logger.handlers[:]:
        logger.removeHandler(old)
        old.close()
    logger.addHandler(handler)
    logger.setLevel(numeric)
    logger.propagate = False
    return logger


class _StderrHandler(logging.StreamHandler[TextIO]):
    """A stream handler on whatever ``sys.stderr`` is when a line is written."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


# ------------------------------------------------------------------------------------------------ redaction

_PATTERNS: Final[tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...]] = (
    # Slack bot/user/app/refresh tokens: xoxb-…, xoxp-…, xoxa-…, xoxr-…, xoxs-…, xoxe.xoxp-…, xapp-….
    (re.compile(r"\b(?:xox[abeoprs](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+"), REDACTED),
    # Incoming-webhook and workflow URLs carry their secret in the path; keep the host so the line still
    # says which kind of target failed.
    (re.compile(r"(https?://hooks\.slack(?:-gov)?\.com/)[^\s\"'<>]+", re.IGNORECASE), r"\1" + REDACTED),
    # Authorization headers in any spelling a repr or a dump may give: "Authorization: Bearer x",
    # "'Authorization': 'Basic x'", "authorization=x".
    (
        re.compile(
            r"(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?:(bearer|basic|token)\s+)?[^\s\"',;}]+", re.IGNORECASE
        ),
        lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + REDACTED,
    ),
    (re.compile(r"\b(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1" + REDACTED),
    # The password of a URL's userinfo (redis://:pw@host, https://user:pw@host).  Greedy up to the last
    # "@" before a "/" or a space, so a password containing "@" is covered whole.  Anchored on "://" alone,
    # not on a scheme before it: "[a-z][a-z0-9+.-]*://" tried from every letter of "a.a.a.…" re-read the
    # rest of the line each time (quadratic, issue 21).  Each "://" starts one scan, which stops at the next
    # "/" (the next "://" included) or space, so the scans never overlap.
    (re.compile(r"(://[^\s/@:]*:)[^\s/]*@"), r"\1" + REDACTED + "@"),
    # Secrets in query strings and key=value dumps.
    (
        re.compile(
            r"\b((?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?token|client[_-]?secret)=)"
            r"[^\s&\"',;]+",
            re.IGNORECASE,
        ),
        r"\1" + REDACTED,
    ),
)


def redact(text: str) -> str:
    """``text`` with every secret the patterns know replaced by ``***``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return redact(str(value))


class RedactingFilter(logging.Filter):
    """Rewrites a record so no secret survives in its message, its arguments or its extra fields.

    A handler filter rather than a logger filter: logger filters do not see records that child loggers
    (``newswatch.feeds.fetch``…) propagate up, handler filters see every record the handler prints.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # Filters run outside logging's emit error handling: a log call whose arguments do not fit its
            # format must still print something, not raise into the pipeline.
            message = f"{record.msg} (unformattable log arguments: {record.args!r})"
        record.msg = redact(message)
        record.args = None
        for key in _extra_keys(record):
            setattr(record, key, _redact_value(getattr(record, key)))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# ------------------------------------------------------------------------------------------------ formats

# Every attribute a bare LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def _extra_keys(record: logging.LogRecord) -> list[str]:
    extras = [k for k in record.__dict__ if k not in _RECORD_ATTRS and not k.startswith("_")]
    known = [k for k in CONTEXT_KEYS if k in extras]
    return known + [k for k in extras if k not in CONTEXT_KEYS]


def _timestamp(record: logging.LogRecord, *, millis: bool) -> str:
    t = datetime.fromtimestamp(record.created, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{t.microsecond // 1000:03d}Z" if millis else "Z")


_BARE: Final = re.compile(r"[^\s\"=\\]+")


def _text_value(value: Any) -> str:
    text = str(value)
    # Quote only when needed, so URLs and plain words stay greppable as key=value.
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``<UTC time>Z <LEVEL> <event> key=value …``, then an indented traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record, millis=False), record.levelname, record.getMessage()]
        parts += [f"{k}={_text_value(getattr(record, k))}" for k in _extra_keys(record)]
        line = " ".join(parts)
        exc = self._exception_text(record)
        if exc:
            line += "\n" + "\n".join("  " + ln for ln in exc.splitlines())
        return redact(line)

    def _exception_text(self, record: logging.LogRecord) -> str:
        text = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        if record.stack_info:
            text = (text + "\n" if text else "") + self.formatStack(record.stack_info)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``msg``, ``logger``, then the context keys, then
    ``exc`` for a traceback.  Keys are stable; a key is left out rather than written as null.

    The message is ``msg`` rather than structlog's ``event`` because alerts have an ``event`` (alert,
    update) that callers log as an extra; ``msg`` is one ``logging`` already refuses in ``extra=``.
    """

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": _timestamp(record, millis=True),
            "level": record.levelname.lower(),
            "msg": redact(record.getMessage()),
            "logger": record.name,
        }
        for k in _extra_keys(record):
            # An extra named like a fixed key must not overwrite it; keep both.
            doc["extra_" + k if k in _JSON_FIXED else k] = _json_value(getattr(record, k))
        exc = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        if exc:
            doc["exc"] = redact(exc)
        if record.stack_info:
            doc["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(doc, ensure_ascii=False, default=str)


_JSON_FIXED: Final = frozenset({"ts", "level", "msg", "logger", "exc", "stack"})


def _json_value(value: Any) -> Any:
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return redact(str(value))
