"""Reading the dates feeds and archives give: RFC 822 and RFC 3339/ISO 8601 in any common zone, always UTC out.

Owns :func:`parse_date`, which never raises, and the rule for dates that cannot be used: a text that is not a
date, or a date outside what the rest of newswatch can compute with (year 0, year 9999 pushed past the end of
the calendar by its zone, offsets of days, anything before :data:`~newswatch.constants.EARLIEST_ITEM_DATE`),
reads as "no date", so the item is kept and dated when first seen.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz
from typing import Any

from newswatch.constants import EARLIEST_ITEM_DATE, MAX_DATE_CHARS

__all__ = ["DateOutOfRange", "from_struct_time", "parse_date", "read_date"]

# Everything the standard library raises for a date it cannot represent or a zone it cannot build.
_DATE_ERRORS = (ValueError, OverflowError, OSError, IndexError, TypeError)


class DateOutOfRange(ValueError):
    """A readable date that cannot be used (outside the calendar, absurd offset, before the earliest date)."""


def parse_date(text: str) -> datetime | None:
    """UTC datetime from an RFC 822 or RFC 3339/ISO 8601 date with any common zone name.

    None when the text is no date or the date is out of range; never raises, whatever the text.
    """
    try:
        return read_date(text)
    except DateOutOfRange:
        return None


def read_date(text: str) -> datetime | None:
    """Like :func:`parse_date`, but a readable date out of range raises :class:`DateOutOfRange`.

    None means "not a date at all"; callers that report bad input (replay) tell the two apart.
    """
    # Whitespace runs squeezed (linear) and length bounded before any regex or parser sees the text: a
    # date is a few dozen characters, and a run of 60,000 spaces made the zone search below quadratic.
    text = " ".join(text.split())
    if not text or len(text) > MAX_DATE_CHARS:
        return None
    try:
        dt: datetime | None = datetime.fromisoformat(text)
    except ValueError as exc:
        if "out of range" in str(exc):  # "year 0 is out of range": ISO 8601, but no date we can use
            raise DateOutOfRange(f"{text[:40]!r}: {exc}") from None
        dt = None
    except _DATE_ERRORS:
        dt = None
    if dt is None:
        dt = _parse_rfc822(text)
    if dt is None:
        return None
    if dt.tzinfo is None:  # no zone at all: UTC is the only defensible reading
        dt = dt.replace(tzinfo=UTC)
    return in_range(dt)


def from_struct_time(parsed: Any) -> datetime | None:
    """A UTC 9-tuple (feedparser's ``*_parsed`` values) as a datetime; None when it is no usable date."""
    try:
        dt = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except _DATE_ERRORS:  # year 0 or 10000 after feedparser applied the zone
        return None
    try:
        return in_range(dt)
    except DateOutOfRange:
        return None


def in_range(dt: datetime) -> datetime:
    """``dt`` in UTC, or :class:`DateOutOfRange` when it cannot be converted or is too early to be true."""
    try:
        utc = dt.astimezone(UTC)
    except _DATE_ERRORS:  # 0001-01-01T00:00+14:00 and 9999-12-31T23:59-12:00 leave the calendar
        raise DateOutOfRange(f"{dt.isoformat()} is out of range") from None
    if utc < EARLIEST_ITEM_DATE:
        raise DateOutOfRange(f"{utc.isoformat()} is before {EARLIEST_ITEM_DATE.date().isoformat()}")
    return utc


# Zone names seen in news feeds.  RFC 822 defines only UT/GMT/Z and the US zones; feedparser reads any other
# name as UTC, which puts a Paris or Delhi item hours off.  Ambiguous names take the reading common in news:
# IST is India, BST British Summer Time, CST US Central.
_ZONES: dict[str, float] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "IST": 5.5, "CET": 1, "CEST": 2,
    "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "TRT": 3, "AST": -4, "ADT": -3, "EST": -5,
    "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8,
    "HST": -10, "NZST": 12, "NZDT": 13, "AEST": 10, "AEDT": 11, "ACST": 9.5, "ACDT": 10.5, "AWST": 8,
    "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "PHT": 8, "WIB": 7, "ICT": 7, "PKT": 5, "GST": 4, "IRST": 3.5,
    "SAST": 2, "CAT": 2, "EAT": 3, "WAT": 1, "BRT": -3, "ART": -3,
}  # fmt: skip
# Searched only on a bounded text (read_date); the leading space is a single one after squeezing, so the
# pattern cannot re-scan a run of spaces from every start.
_TRAILING_ZONE_RE = re.compile(r" ?\(?([A-Za-z]{1,5})\)?$")
# "01 Jan 0000": email.utils reads any year under 100 as two-digit and would make year 0 the year 2000.
_LOW_YEAR_RE = re.compile(r"(?:^|[\s,])\d{1,2}\s+[A-Za-z]+\.?\s+0\d{3}(?:\s|$)")


def _parse_rfc822(text: str) -> datetime | None:
    offset: float | None = None
    m = _TRAILING_ZONE_RE.search(text)
    if m and not text[: m.start()].rstrip().endswith(("+", "-")):
        name = m.group(1).upper()
        if name in _ZONES:
            offset = _ZONES[name]
            text = text[: m.start()]
    try:
        parsed = parsedate_tz(text)
    except _DATE_ERRORS:
        return None
    if parsed is None:
        return None
    if low := _LOW_YEAR_RE.search(text):
        raise DateOutOfRange(f"year {low.group(0).split()[-1]} is out of range")
    try:
        dt = datetime(*parsed[:6])
    except _DATE_ERRORS:
        return None
    seconds = offset * 3600 if offset is not None else parsed[9]
    try:
        zone = timezone(timedelta(seconds=seconds or 0))
    except _DATE_ERRORS:  # "+9999": an offset of days, which no zone has
        raise DateOutOfRange(f"zone offset {parsed[9]}s is out of range") from None
    return dt.replace(tzinfo=zone)
