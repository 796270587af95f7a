"""Normalisation helpers: canonical URLs, HTML to plain text, control characters, dedupe keys and fingerprints.

Owns the pure, dependency-light functions that turn what a feed said into comparable values.  Everything
here is deterministic and side-effect free, so the parse stage can run it in a worker process and the
store can trust that two sightings of one item produce the same keys.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from lxml import etree

from newswatch.constants import TRACKING_PARAM_PREFIXES, TRACKING_PARAMS
from newswatch.shared.terminal import strip_controls

__all__ = [
    "canonical_url",
    "collapse_whitespace",
    "html_to_text",
    "http_url",
    "item_keys",
    "plain_text",
    "strip_source_suffix",
    "text_fingerprint",
    "url_key",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}

# --------------------------------------------------------------------------------------------------------------
# URLs


def canonical_url(url: str, base: str | None = None) -> str:
    """The identity form of a link: the same article reached through different links gives the same string.

    Scheme and host are lowercased, the default port and the fragment dropped, tracking parameters
    (``utm_*``, ``fbclid``, ``gclid`` …) removed; the remaining query parameters keep their order and their
    exact spelling (re-encoding them could turn two different URLs into one, or one into two).  A relative
    link is resolved against ``base``.  Anything that is not an http(s) URL comes back stripped but unchanged.
    """
    url = url.strip()
    if not url:
        return ""
    if base:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        return url
    netloc = _canonical_netloc(parts.netloc, scheme)
    path = parts.path or "/"
    query = _strip_tracking(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def http_url(link: str, base: str | None = None) -> str:
    """The canonical form of ``link`` when it is an http(s) URL with a host, else "".

    Only such a URL may become an item's ``url``, the link people click and the item's identity across feeds:
    ``javascript:``, ``data:``, ``file:``, ``mailto:``, a relative link in a local file, a host-less
    ``https://`` or a URL with spaces or control characters inside never does.
    """
    url = canonical_url(link, base) if link else ""
    if not url.startswith(("http://", "https://")) or _UNSAFE_URL_CHARS_RE.search(url):
        return ""
    # The host, read off the canonical form ("scheme://[userinfo@]host[:port]/…") without parsing it again.
    netloc = url.partition("://")[2].partition("/")[0].partition("?")[0].partition("#")[0]
    host = netloc.rpartition("@")[2]
    host = host.partition("]")[0].lstrip("[") if host.startswith("[") else host.partition(":")[0]
    return url if host else ""


# Whitespace and control characters: a "URL" with them inside is text, not a link (and could smuggle an escape).
_UNSAFE_URL_CHARS_RE = re.compile(r"[\x00-\x20\x7f-\x9f]")


def _canonical_netloc(netloc: str, scheme: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    host, port = hostport, ""
    if hostport.startswith("["):  # IPv6 literal: the port follows the closing bracket
        end = hostport.find("]")
        if end != -1:
            host, port = (
                hostport[: end + 1],
                hostport[end + 2 :] if hostport[end + 1 : end + 2] == ":" else "",
            )
    elif ":" in hostport:
        host, _, port = hostport.rpartition(":")
    host = host.lower().rstrip(".")  # "Example.COM." and "example.com" are one host
    if port and port.isdigit() and int(port) == _DEFAULT_PORTS[scheme]:
        port = ""
    out = f"{host}:{port}" if port else host
    # Userinfo is case-sensitive and rare in feeds; keep it as written.
    return f"{userinfo}{at}{out}"


def _strip_tracking(query: str) -> str:
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = unquote_plus(pair.partition("=")[0]).strip().lower()
        if name in TRACKING_PARAMS or name.startswith(TRACKING_PARAM_PREFIXES):
            continue
        kept.append(pair)
    return "&".join(kept)


# --------------------------------------------------------------------------------------------------------------
# HTML to text

# Elements whose start and end are a line break in the text: blocks, list items, table rows and cells.
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)
# Elements whose content is never reading text.
_DROP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg"}
)

# XML 1.0 forbids most C0 controls; lxml refuses strings containing them, and C0/C1 controls are never text
# anyway (see strip_controls).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Only text that could contain a tag or an entity needs the parser; most titles do not.
_MARKUP_RE = re.compile(r"[<&]")
# Numeric character references: "&#27;" would put an escape character in the text, and libxml2 hands a text
# node back that lxml then refuses to take (ValueError), so references to controls go before parsing.
_CHAR_REF_RE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML fragment or document.

    Block elements become line breaks, ``<br>`` too; entities are decoded; script, style and similar are
    dropped with their content; runs of spaces collapse to one, blank lines to one line break.  Terminal
    escape sequences and control characters go, written or as character references (:func:`strip_controls`).
    """
    if not html:
        return ""
    if _CONTROL_RE.search(html):  # search first: a new string costs time on long text, and is rarely needed
        html = strip_controls(html)
    if not _MARKUP_RE.search(html):
        return _collapse_lines(html)
    if "&#" in html:
        html = _CHAR_REF_RE.sub(_drop_control_reference, html)
    # Parse bytes with an explicit encoding: lxml refuses str input that carries an encoding declaration.
    data = html.encode("utf-8", "surrogatepass")
    try:
        root = etree.fromstring(data, _html_parser())
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        root = None
    if root is None:  # nothing but whitespace or comments
        return ""
    # Let libxml2 do the walking: drop the non-text elements, mark block boundaries with line breaks,
    # then serialise as text (several times faster than visiting every node from Python).
    etree.strip_elements(root, *_DROP_TAGS, with_tail=False)
    for el in root.iter(*_BLOCK_TAGS):
        el.text = "\n" + el.text if el.text else "\n"
        el.tail = "\n" + el.tail if el.tail else "\n"
    return _collapse_lines(etree.tostring(root, method="text", encoding="unicode"))


def _drop_control_reference(m: re.Match[str]) -> str:
    """The reference as written, or "" when it names a control character, a surrogate or no character."""
    code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    text_like = code in (0x09, 0x0A, 0x0D) or 0x20 <= code < 0x7F or 0xA0 <= code <= 0x10FFFF
    return m.group(0) if text_like and not 0xD800 <= code <= 0xDFFF else ""


def _html_parser() -> etree.HTMLParser:
    # A new parser per call (about 3 µs): lxml parsers must not be shared between threads.
    # huge_tree lifts libxml2's nesting limit from 256 to 2048: real CMS output does nest past 256, and
    # beyond the limit libxml2 gives up on the whole fragment.
    return etree.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, recover=True, huge_tree=True
    )


def _collapse_lines(text: str) -> str:
    # str.split/splitlines rather than regular expressions: several times faster on article-length text.
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def plain_text(text: str) -> str:
    """Text that is plain already (an extracted article) as item text: controls stripped, as :func:`html_to_text`
    leaves it (one line per paragraph, runs of spaces as one), with no markup read into it."""
    return _collapse_lines(strip_controls(text))


def collapse_whitespace(text: str) -> str:
    """All runs of whitespace (line breaks included) as one space, trimmed."""
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------------------------
# Keys and fingerprints


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def item_keys(guid: str | None, canonical: str, feed: str, fingerprint: str = "") -> tuple[str, ...]:
    """Dedupe keys of an item, its own feed's first, in the order the store looks them up.

    1. ``guid:<sha256>`` of ``feed`` and the GUID when there is one, else ``link:<sha256>`` of ``feed`` and the
       canonical URL: the item's identity within the feed that carries it.  A GUID is only unique within the
       feed that numbers its items ("1001" in two outlets' feeds is two articles), and a feed claiming another
       feed's GUIDs matches nothing of it.
    2. ``url:<sha256>`` of the canonical URL (:func:`url_key`): across feeds the canonical URL is the
       identity, so another feed's copy of the link folds into the item first seen under it.
    3. ``ftext:<sha256>`` of ``feed`` and ``fingerprint`` (:func:`text_fingerprint` of the item's text, when
       given and the text is not empty), for an item whose feed gives it no opaque GUID (none, or its link
       again): the same feed with the same text is the same report, whatever new link token it carries (issue
       21).  An opaque GUID ("n-1001", a urn:uuid) is the feed's own word that two items are two, even with one
       text (a recurring notice, a live page's twin entries), and is taken.

    An empty canonical URL gives no ``link:`` or ``url:`` key (every link-less item would otherwise be one
    item); an item with neither a GUID nor a URL is known by ``text:<fingerprint>`` alone, across feeds.
    The item's id in the store is the first key it was recorded under; a sighting whose item id is none of its
    own keys was folded into another feed's item (:func:`newswatch.store.batch.plan_batch`).
    """
    keys: list[str] = []
    if guid and guid.strip():
        keys.append("guid:" + _sha256(f"{feed}\n{guid.strip()}"))
    elif canonical:
        keys.append("link:" + _sha256(f"{feed}\n{canonical}"))
    if canonical:
        keys.append(url_key(canonical))
    if not keys:
        return ("text:" + fingerprint,) if fingerprint else ()
    own = (guid or "").strip()
    opaque = bool(own) and not own.lower().startswith(("http://", "https://"))
    if fingerprint and fingerprint != _EMPTY_TEXT and not opaque:
        keys.append("ftext:" + _sha256(f"{feed}\n{fingerprint}"))
    return tuple(keys)


def url_key(canonical: str) -> str:
    """The cross-feed key of a canonical URL (``url:<sha256>``), as :func:`item_keys` gives it."""
    return "url:" + _sha256(canonical)


def text_fingerprint(title: str, summary: str, content: str) -> str:
    """sha256 hex of the item's text after NFKC and whitespace collapsing.

    Re-wrapped lines, doubled spaces or a no-break space instead of a space do not change the fingerprint;
    any change of words does.
    """
    text = "\n".join((title, summary, content))
    return _sha256(collapse_whitespace(unicodedata.normalize("NFKC", text)))


_EMPTY_TEXT = text_fingerprint("", "", "")  # an item without words: its text tells it from nothing


# --------------------------------------------------------------------------------------------------------------
# Aggregator titles

# " – Outlet", " - Outlet", " — Outlet", " | Outlet" at the end of a title.
_SUFFIX_SEPARATORS = "-–—|"
_OUTLET_WORD_RE = re.compile(r"^(?:[A-Z0-9][\w.'&’]*|[a-z0-9-]+\.[a-z]{2,}|of|the|de|al|el|la|le|and|&)$")


def strip_source_suffix(title: str, source: str | None = None) -> str:
    """The title without an aggregator's appended outlet name (``"Talks begin – Reuters"`` → ``"Talks begin"``).

    With ``source`` (the outlet's name, e.g. from the entry's ``<source>`` element) the suffix is removed only
    when it is that name.  Without it, only a short suffix that looks like a name (every word capitalised or
    a domain) after a title of at least three words is removed, so "Talks resume - what we know" survives.
    """
    split = _split_suffix(title)
    if split is None:
        return title
    head, outlet = split
    if source is not None:
        if collapse_whitespace(outlet).casefold() == collapse_whitespace(source).casefold():
            return head
        return title
    words = outlet.split()
    if (
        len(head.split()) >= 3
        and 1 <= len(words) <= 4
        and len(outlet) <= 40
        and all(_OUTLET_WORD_RE.match(w) for w in words)
        and (words[0][0].isupper() or "." in words[0])
    ):
        return head
    return title


def _split_suffix(title: str) -> tuple[str, str] | None:
    """(title, outlet) around the last separator with whitespace on both sides, when no separator follows it.

    Plain string scans, not a regex: ``^(.*\\S)\\s+[-|]\\s+([^-|]+?)\\s*$`` tried every split of a long run of
    spaces (quadratic, issue 21).  The outlet cannot hold a separator, so only the last one can start it.
    """
    text = title.rstrip()
    sep = max(text.rfind(ch) for ch in _SUFFIX_SEPARATORS)
    if sep <= 0 or sep + 1 >= len(text) or not text[sep - 1].isspace() or not text[sep + 1].isspace():
        return None
    head, outlet = text[:sep].rstrip(), text[sep + 1 :].strip()
    if not head or not outlet or "\n" in head:  # the title before it is one line, as "." read it
        return None
    return head, outlet
