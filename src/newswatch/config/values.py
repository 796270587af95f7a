"""Value types of the config that are more than a plain type: durations and http(s) URLs; the strict base
model every section of the config builds on (unknown keys refused, values frozen).

Owns parsing them from what users write (``30s``, ``5m``; ``https://…``), the messages when that fails, and how
they are shown back (``format_duration``; ``redact_url``, since a webhook URL is itself a secret).  Validation
messages never repeat the value: it may be a token or a webhook URL.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------------------
# Durations: 30s, 5m, 2h, 1d, 1w (or a bare number of seconds)

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, None: 1}


def parse_duration(value: Any) -> Any:
    """Seconds from ``30s``/``5m``/``2h``/``1d``/``1w`` or a number; anything else is left to pydantic."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 5m, 2h or 1d")
    if isinstance(value, int | float):
        if not math.isfinite(value):  # YAML's .inf and .nan are floats too
            raise ValueError("a duration must be a finite number of seconds")
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if not m:
            raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 5m, 2h or 1d")
        return float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]


def format_duration(seconds: float) -> str:
    """The shortest exact form of a duration, for summaries (``300`` → ``5m``)."""
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


# --------------------------------------------------------------------------------------------------------------
# URLs


def check_http_url(value: str, example: str, *, userinfo: bool) -> str:
    """``value`` if it is an absolute http(s) URL with a host (and, unless ``userinfo``, no ``user:pass@``);
    otherwise ValueError with a message that does not repeat the value."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError:
        raise ValueError(f"is not a valid URL; write an http(s) URL such as {example}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as {example}") from None
    if not userinfo and (parts.username is not None or parts.password is not None):
        raise ValueError(
            "must not contain a user name or password (user:pass@…); remove them from the URL"
        ) from None
    return value


def redact_url(url: str) -> str:
    """Scheme and host only, for display: the path of a webhook URL is its secret."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(invalid URL)"
    host = parts.hostname or ""
    return (
        f"{parts.scheme}://{f'[{host}]' if ':' in host else host}{port}"  # an IPv6 address keeps its brackets
    )
