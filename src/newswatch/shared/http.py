"""HTTP helpers shared by stages: header values whose syntax RFC 9110 defines, read once and the same way.

Fetching feeds, Slack's Web API, Slack incoming webhooks and JSON webhooks all answer 429/503 with a
``Retry-After`` header; :func:`retry_after` is the one place that reads it.
"""

from __future__ import annotations

import ipaddress
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


def parse_listen(listen: str, key: str = "http.listen") -> tuple[str, int]:
    """``"host:port"``, ``":port"`` (all interfaces) or ``"[v6addr]:port"`` → ``(host, port)``.

    Port 0 is allowed and asks the OS for a free port (tests).  An unbracketed IPv6 address is refused:
    ``::1:9464`` cannot be split into address and port without guessing.  ``key`` names the setting in errors.
    """
    text = listen.strip()
    if not text:
        raise ValueError(f"{key} is empty; write host:port, e.g. 127.0.0.1:9464")
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or text[close + 1 : close + 2] != ":":
            raise ValueError(f"{key} {listen!r}: write an IPv6 address as [addr]:port, e.g. [::1]:9464")
        host, port_text = text[1:close], text[close + 2 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{key} {listen!r}: {host!r} is not an IPv6 address") from None
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(f"{key} {listen!r} has no port; write host:port, e.g. 127.0.0.1:9464")
        if ":" in host:
            raise ValueError(f"{key} {listen!r}: put an IPv6 address in brackets, e.g. [::1]:9464")
        if not host:
            host = "0.0.0.0"  # ":9464": every IPv4 interface, the usual meaning inside a container
    if not port_text.isdigit():
        raise ValueError(f"{key} {listen!r}: port {port_text!r} is not a number")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"{key} {listen!r}: port {port} is out of range (0-65535)")
    return host, port
