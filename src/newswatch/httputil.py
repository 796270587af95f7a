"""HTTP helpers shared by stages: header values whose syntax RFC 9110 defines, read once and the same way.

Fetching feeds, Slack's Web API, Slack incoming webhooks and JSON webhooks all answer 429/503 with a
``Retry-After`` header; :func:`retry_after` is the one place that reads it.
"""

from __future__ import annotations

import time
from datetime import UTC
from email.utils import parsedate_to_datetime

from newswatch.constants import RETRY_AFTER_MAX_S

__all__ = ["retry_after"]

# More digits than any sane delay; also keeps int() clear of its 4300-digit guard (a ValueError).
_MAX_DIGITS = 12


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, or None when there is no usable value.

    RFC 9110 §10.2.3 allows delay-seconds (``120``) or an HTTP-date (``Fri, 31 Dec 1999 23:59:59 GMT``,
    or the obsolete RFC 850 and asctime forms). A date in the past means "now" (0.0). Anything else (a
    negative or fractional number, garbage) is None, so the caller falls back to its own back-off. The
    result is capped at :data:`~newswatch.constants.RETRY_AFTER_MAX_S`: a hostile or broken server must
    not park a feed or a Slack channel for a year.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        if len(value) > _MAX_DIGITS:
            return RETRY_AFTER_MAX_S
        return min(float(int(value)), RETRY_AFTER_MAX_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # HTTP-dates are always GMT (RFC 9110 §5.6.7); the asctime form carries no zone at all.
        when = when.replace(tzinfo=UTC)
    try:
        seconds = when.timestamp() - (time.time() if now is None else now)
    except (OverflowError, ValueError):
        return None
    return min(max(0.0, seconds), RETRY_AFTER_MAX_S)
