"""Every regex over outside text runs in linear time (issue 21, the class behind points 1-3).

One case per pattern that reads feed, page, header, archive, Slack or log text, each fed 1 MB of the input that
made it (or would make it) quadratic: a run of spaces before a missing end, one introducer repeated, a long word
with no mark in it.  A quadratic pattern takes hours on 1 MB, a linear one well under a second, so the bound
(CPU seconds, not wall time: the cores are shared) is generous and still cannot be met by a quadratic pattern.

Patterns on text we wrote (config, watch queries) or on bounded values (``_headline_case`` reads lines of at most
160 characters) are not listed.  Each case goes through the function that applies the pattern, as the service
does.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from newswatch.delivery.notify import mrkdwn
from newswatch.delivery.notify.slackbuttons import user_id
from newswatch.feeds import fastpath
from newswatch.feeds.archive import archive_item
from newswatch.feeds.dates import parse_date
from newswatch.feeds.discovery import parse_link_header
from newswatch.feeds.parse import _content_type_for, _guess_single_byte, _is_truncated, _root_start
from newswatch.feeds.text import html_to_text, http_url, strip_source_suffix
from newswatch.match.text import prepare, tokenize
from newswatch.service.http import public
from newswatch.service.logs import redact, setup_logging
from newswatch.service.metrics import classify_error
from newswatch.shared.terminal import strip_controls

MB = 1_000_000
BOUND_S = 10.0  # CPU seconds for 1 MB; linear cases take well under 1 s, quadratic ones hours


def fill(unit: str, size: int = MB) -> str:
    return unit * (size // len(unit))


def log_line(url: str) -> str:
    """A "full text unavailable" line as the service writes it (filter, then both formats): point 2's path."""
    out = io.StringIO()
    for fmt in ("text", "json"):
        logger = setup_logging("info", fmt, out)  # type: ignore[arg-type]
        logger.warning("full text unavailable", extra={"feed": "Wire", "url": url, "error": "HTTP 404"})
    return out.getvalue()


def cased(text: str) -> str:
    return prepare(text, "", "").cased


NOW = datetime(2026, 12, 7, tzinfo=UTC)

CASES: dict[str, tuple[Callable[[Any], object], object]] = {
    # feeds/dates.py: the trailing-zone search (point 1)
    "date: spaces before the time": (parse_date, "Mon, 07 Dec 2026" + fill(" ") + "12:00:00"),
    "date: letters": (parse_date, fill("a")),
    "date: brackets": (parse_date, fill("(a) ")),
    # service/logs.py: redaction (point 2), every rule
    "log: URL of a.a.a.": (redact, "http://x/" + fill("a.")),
    "log: a whole line with that URL": (log_line, "http://x/" + fill("a.")),
    "log: userinfo without @": (redact, "http://u:" + fill("p")),
    "log: many schemes": (redact, fill("a://:")),
    "log: slack tokens": (redact, fill("xoxb-a ")),
    "log: webhook": (redact, "https://hooks.slack.com/" + fill("a")),
    "log: authorization": (redact, fill("authorization: ")),
    "log: bearer": (redact, fill("bearer ")),
    "log: query secrets": (redact, fill("token=")),
    # match/shouting.py and match/text.py (point 3): the whole preparation of an item
    "shouting: one long capitalised word": (cased, "U.S. " + fill("HAMAS'")),
    "shouting: runs ending in lower case": (cased, fill("HAMAS TALKS ") + "x"),
    "shouting: acronyms": (cased, fill("U.S.A. ")),
    "shouting: compounds": (cased, fill("US-HAMAS ")),
    "shouting: capitals without spaces": (cased, fill("AB") + "c"),
    "text: acronym dots": (tokenize, fill("a.")),
    "text: apostrophes": (tokenize, fill("'s")),
    "text: invisible marks": (cased, fill("a\u200b")),
    "text: non-ASCII capitals": (cased, fill("ХАМАС'") + "ы"),
    "text: spaced marks": (cased, fill(" \u200b")),
    # feeds/text.py
    "title suffix: spaces": (strip_source_suffix, "x - a" + fill(" ") + "b-c"),
    "title suffix: separators": (strip_source_suffix, fill("a - ")),
    "html: character references": (html_to_text, fill("&#1")),
    "html: control characters": (html_to_text, fill("\x01<")),
    "url: unsafe characters": (http_url, "http://x/" + fill("a")),
    # shared/terminal.py
    "terminal: string control introducers": (strip_controls, fill("\x90")),
    "terminal: OSC without end": (strip_controls, fill("\x1b]")),
    "terminal: CSI without final": (strip_controls, "\x1b[" + fill("0")),
    "terminal: escapes without final": (strip_controls, fill("\x1b ")),
    # feeds/parse.py and feeds/fastpath*.py
    "charset guess: unclosed tags": (_guess_single_byte, fill("<").encode()),
    "charset: declaration": (_content_type_for, (b"<?xml " + fill("encoding ").encode(), None)),
    "truncation: comments": (_is_truncated, fill("<!--").encode() + b"-->x"),
    "truncation: spaces": (_is_truncated, fill(" ").encode() + b"x"),
    "prolog: PIs and comments": (_root_start, fill("<?<!--").encode()),
    "fast path: declaration": (
        lambda b: fastpath.read_feed(b, "utf-8"),
        b"<?xml " + fill("version='").encode(),
    ),
    "fast path: namespaces": (
        lambda b: fastpath.read_feed(b, "utf-8"),
        b'<?xml version="1.0"?><rss version="2.0" ' + fill("xmlns:a='").encode(),
    ),
    # feeds/discovery.py: HTTP Link headers
    "link header: unclosed": (parse_link_header, [fill("<")]),
    "link header: parameters": (parse_link_header, ["<a>" + fill("; rel=")]),
    "link header: quoted rel": (parse_link_header, ["<a>; " + fill('rel="')]),
    # feeds/archive.py: replayed lines
    "archive: looks like HTML": (
        lambda text: archive_item({"title": text, "url": "https://a.example/"}, "x", "x", NOW),
        fill("<p"),
    ),
    # service/metrics.py: error classes (errors quote servers' text)
    "error class: connect": (classify_error, "cannot connect to " + fill("a: ")),
    "error class: anchors": (classify_error, fill("http ")),
    # service/http.py: health reasons shown without a token (they quote drivers' and servers' messages)
    "health reason: words and colons": (public, fill("a:")),
    "health reason: long host": (public, fill("a.b-") + ":x"),
    "health reason: paths": (public, fill("/a")),
    # delivery/notify: Slack text and ids
    "slack: whitespace": (mrkdwn.one_line, fill(" \t")),
    "slack: line breaks": (mrkdwn.flat, fill("\r\n")),
    "slack: link": (mrkdwn.link_url, "https://" + fill("a")),
    "slack: user id": (user_id, "U" + fill("A")),
}


def _spread(args: object) -> tuple[object, ...]:
    return args if isinstance(args, tuple) else (args,)


@pytest.mark.parametrize("case", list(CASES))
def test_each_pattern_is_linear_on_1_mb_of_its_worst_case(case: str) -> None:
    fn, args = CASES[case]
    started = time.process_time()
    fn(*_spread(args))
    spent = time.process_time() - started
    assert spent < BOUND_S, f"{case}: {spent:.1f} s of CPU for 1 MB"
