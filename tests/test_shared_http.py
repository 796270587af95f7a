"""The one Retry-After parser (RFC 9110 §10.2.3): seconds or an HTTP date, garbage ignored, capped."""

from __future__ import annotations

import pytest

from newswatch.constants import RETRY_AFTER_MAX_S
from newswatch.shared.http import retry_after

NOW = 784_111_777.0  # Sun, 06 Nov 1994 08:49:37 GMT, the RFC's own example


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        # The three HTTP-date forms RFC 9110 requires a recipient to read, each 60 s after NOW.
        ("Sun, 06 Nov 1994 08:50:37 GMT", 60.0),
        ("Sunday, 06-Nov-94 08:50:37 GMT", 60.0),
        ("Sun Nov  6 08:50:37 1994", 60.0),
        ("Sun, 06 Nov 1994 08:00:00 GMT", 0.0),  # in the past: retry now
        (str(10**9), RETRY_AFTER_MAX_S),  # capped
        ("9" * 5000, RETRY_AFTER_MAX_S),  # more digits than int() accepts by default
        ("Fri, 31 Dec 9999 23:59:59 GMT", RETRY_AFTER_MAX_S),
    ],
)
def test_seconds_and_http_dates(value: str, seconds: float) -> None:
    assert retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    "value", [None, "", "-5", "1.5", "soon", "Sun, 31 Feb 1994 08:49:37 GMT", "٣", "1e3", "Sun, 06 Nov"]
)
def test_garbage_is_none(value: str | None) -> None:
    assert retry_after(value, now=NOW) is None


def test_without_now_it_counts_from_the_wall_clock() -> None:
    assert retry_after("Sun, 06 Nov 1994 08:49:37 GMT") == 0.0  # long past
