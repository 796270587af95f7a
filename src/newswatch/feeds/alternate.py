"""Feed autodiscovery: the feed an HTML page advertises with ``<link rel="alternate" type="application/rss+xml">``.

Owns reading that link from a page someone configured as a feed (a site's front page instead of its feed, as
Miniflux and FreshRSS accept too): RSS first, then Atom, in document order, resolved against the page's URL,
http(s) only.  Only the page's head is read (a bounded prefix), with lxml's HTML parser, which never touches
the network.  Fetching the feed found is the pipeline's.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from lxml import html as lxml_html

__all__ = ["alternate_feed", "looks_like_html"]

_HEAD_BYTES = 256 * 1024  # the <head> of any real page is well inside this
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.I | re.S
)
_FEED_TYPES = ("application/rss+xml", "application/atom+xml")


def looks_like_html(body: bytes) -> bool:
    """Whether a body is an HTML page rather than a feed (the cheap test, on its first bytes)."""
    return bool(_HTML_START.match(body[:4096].removeprefix(b"\xef\xbb\xbf")))


def alternate_feed(body: bytes, page_url: str) -> str | None:
    """The URL of the RSS or Atom feed an HTML page advertises, or None."""
    try:
        doc = lxml_html.fromstring(body[:_HEAD_BYTES])
    except (ValueError, SyntaxError):  # lxml's ParserError is a SyntaxError subclass
        return None
    found: dict[str, str] = {}
    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind in _FEED_TYPES and href and kind not in found:
            url = urljoin(page_url, href)
            if url.startswith(("http://", "https://")):
                found[kind] = url
    return next((found[k] for k in _FEED_TYPES if k in found), None)
