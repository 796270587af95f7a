"""How the status pages look: the Jinja2 templates (``templates/*.html``), their filters and the story's
timeline picture, an SVG drawn here on the server.

Owns escaping.  Autoescaping is on for every template, so a title, outlet or error text from a feed is shown as
text, never markup; links from feeds are used only when they are http(s) (:func:`href`), so no
``javascript:`` URL becomes clickable; the SVG is built from escaped text and numbers only.  Rendering is
plain CPU work on small pages; the caller runs it in a thread (status.py), off the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

__all__ = ["href", "render", "timeline_svg"]

_ENV = Environment(
    loader=PackageLoader("newswatch.service", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(**context)


def href(url: Any) -> str:
    """``url`` when it is an http(s) URL (for an ``href``), else empty."""
    if not isinstance(url, str):
        return ""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    return url.strip() if scheme in ("http", "https") else ""


def when(epoch: Any) -> str:
    try:
        return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return "–"


def iso(value: Any) -> str:
    """A record's ISO publication time as people read it."""
    stamp = _epoch_of(value)
    return when(stamp) if stamp is not None else "no date"


_ENV.filters.update(href=href, when=when, iso=iso)

# The picture: one dot per report on a time axis, a row per outlet (in the order outlets first reported).
_W, _ROW, _LEFT, _RIGHT, _TOP = 900, 26, 210, 30, 34


def timeline_svg(lines: Sequence[Mapping[str, Any]]) -> Markup:
    """Reports over time, one row per outlet, the opening report marked: an inline SVG."""
    points = [
        (_report_time(ln), str(ln.get("source") or "(unknown)"), ln.get("event") == "alert") for ln in lines
    ]
    outlets = list(dict.fromkeys(source for _, source, _ in points))
    if not points:
        return Markup("")
    start, end = min(t for t, _, _ in points), max(t for t, _, _ in points)
    span = max(end - start, 3600.0)  # at least an hour wide, so one report is not a degenerate axis
    height = _TOP + _ROW * len(outlets) + 24

    def x(t: float) -> float:
        return _LEFT + (t - start) / span * (_W - _LEFT - _RIGHT)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" width="{_W}" height="{height}" '
        f'role="img" aria-label="Reports over time, by outlet">',
        f'<text x="{_LEFT}" y="20" font-size="12" fill="#5b6475">{escape(when(start))}</text>',
        f'<text x="{_W - _RIGHT}" y="20" font-size="12" fill="#5b6475" text-anchor="end">'
        f"{escape(when(start + span))}</text>",
    ]
    for row, outlet in enumerate(outlets):
        y = _TOP + _ROW * row + _ROW / 2
        parts.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ec"/>')
        parts.append(f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">'
                     f"{escape(outlet[:32])}</text>")  # fmt: skip
    for t, outlet, opened in points:
        y = _TOP + _ROW * outlets.index(outlet) + _ROW / 2
        fill = "#1d7a3a" if opened else "#3b6fd8"
        parts.append(f'<circle cx="{x(t):.1f}" cy="{y:.1f}" r="{7 if opened else 5}" fill="{fill}">'
                     f"<title>{escape(outlet)} · {escape(when(t))}</title></circle>")  # fmt: skip
    parts.append(f'<text x="{_LEFT}" y="{height - 6}" font-size="11" fill="#5b6475">'
                 "● large green: the report that opened the story</text></svg>")  # fmt: skip
    return Markup("".join(parts))


def _report_time(line: Mapping[str, Any]) -> float:
    """When a report came out: its publication time, else when newswatch recorded it."""
    published = _epoch_of(line.get("published"))
    return published if published is not None else float(line.get("at") or 0)


def _epoch_of(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None
