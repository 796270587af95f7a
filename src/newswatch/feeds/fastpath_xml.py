"""The fast path's shared pieces: the document it builds, its doubts, and reading lxml elements the way
feedparser reads them (names, attributes, text).  See :mod:`newswatch.feeds.fastpath` for what the fast path is.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import feedparser
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin
from lxml import etree

# The mirrored behaviour is feedparser 6's; another major version must prove itself again.
ENABLED = feedparser.__version__.startswith("6.")

_ATOM_NS = "http://www.w3.org/2005/Atom"
# feedparser's table of namespace URI (lowercased) -> prefix it uses in key names; anything else is unknown.
_NAMESPACES: dict[str, str] = {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html

# Names (as feedparser maps them) that feed a value we read, switch feedparser's context, or start an entry.
# Outside the places this module handles them, any of these means "not clearly understood".
_FIELD_NAMES = frozenset(
    {
        "rss", "channel", "feed", "item", "entry", "image", "textinput", "source",
        "title", "dc_title", "media_title", "link", "guid", "id", "guidislink",
        "description", "dc_description", "media_description", "abstract", "summary", "itunes_summary",
        "content", "content_encoded", "body", "xhtml_body", "fullitem",
        "pubdate", "published", "issued", "dcterms_issued", "updated", "modified", "lastbuilddate",
        "dc_date", "dcterms_modified", "created", "dcterms_created",
        "title_detail", "summary_detail", "published_parsed", "updated_parsed", "created_parsed",
        "ttl", "sy_updateperiod", "sy_updatefrequency",
    }
)  # fmt: skip
# Elements that open an entry or switch feedparser's context away from the feed.
_CONTEXT_NAMES = frozenset({"rss", "channel", "feed", "item", "entry", "textinput", "source"})
# Children of <image> in a channel that feedparser keeps inside the image's own context.
_IMAGE_CHILDREN = frozenset({"title", "url", "link", "width", "height", "description"})
_CHANNEL_VALUES = frozenset({"title", "ttl", "sy_updateperiod", "sy_updatefrequency"})
_RSS_DATES = {"pubdate": "published", "dc_date": "updated"}
_ATOM_DATES = {"published": "published", "updated": "updated"}
_XHTML = "application/xhtml+xml"
_ATOM_TEXT_TYPES = {
    "text": "text/plain",
    "html": "text/html",
    "xhtml": _XHTML,
    "text/plain": "text/plain",
    "text/html": "text/html",
    _XHTML: _XHTML,
}
_XHTML_NS = "{http://www.w3.org/1999/xhtml}"
# Inside XHTML content feedparser still calls its end handler for the element's mapped name; of XHTML
# elements only <body> has one (xhtml_body).  SVG and MathML get special treatment there too.
_XHTML_SPECIAL = frozenset({"body", "svg", "math"})
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_XML_DECL_RE = re.compile(rb"""^<\?xml\s[^>]*?>""")
_DECL_ENCODING_RE = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_DECL_VERSION_RE = re.compile(rb"""version\s*=\s*["']([^"']*)["']""")
_LINK_ENTITY_RE = re.compile("&([A-Za-z0-9_]+);")
_NS_DECL_RE = re.compile(rb"""xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']([^"']*)["']""")
_STANDARD_PREFIXES = frozenset(v.lower() for v in _NAMESPACES.values() if v)


class _Doubt(Exception):
    """Internal: the document is not one this module models; feedparser decides."""


@dataclass
class FeedDocument:
    """A feed's values in feedparser's shape: ``feed`` like ``d.feed`` and ``entries`` like ``d.entries``."""

    version: str
    feed: dict[str, Any] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers must not be shared between threads.  Comments and processing
    # instructions are dropped so the text around them joins, as feedparser's SAX handler sees it.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


# --------------------------------------------------------------------------------------------------------------
# Names and values as feedparser sees them


def _name(el: etree._Element) -> str:
    """The element's name the way feedparser maps it: known namespace prefix + "_" + lowercased local name."""
    tag = el.tag
    if not isinstance(tag, str):
        raise _Doubt  # an entity reference node or similar
    if tag[0] != "{":
        return tag.lower()
    ns, _, local = tag[1:].partition("}")
    prefix = _namespace_prefix(ns)
    if prefix is None:
        raise _Doubt  # feedparser would key it by whatever prefix the document chose
    return f"{prefix}_{local.lower()}" if prefix else local.lower()


def _namespace_prefix(uri: str) -> str | None:
    uri = uri.lower()
    if "backend.userland.com/rss" in uri:
        return ""
    return _NAMESPACES.get(uri)


def _attrs(el: etree._Element, allowed: frozenset[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in el.attrib.items():
        k = str(key)
        if k == _XML_LANG:
            continue  # only sets the language feedparser records, which we do not read
        if k.startswith("{") or k.lower() not in allowed:
            raise _Doubt
        kl = k.lower()
        # feedparser lowercases attribute names, and the values of rel and type
        out[kl] = str(value).lower() if kl in ("rel", "type") else str(value)
    return out


def _text(el: etree._Element) -> str:
    if len(el):
        raise _Doubt  # markup inside a text element: feedparser has its own ideas about it
    return (el.text or "").strip()


def _fix(value: str) -> str:
    """feedparser's repairs applied to every value it stores (its strict parser always reports UTF-8)."""
    if value.isascii():
        return value  # neither repair can change ASCII
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    return value.translate(_cp1252)


def _check_document(root: etree._Element, body: bytes) -> None:
    # xml:base (or any attribute named "base", which feedparser also honours) changes how links resolve.
    for el in root.iter():
        attrib = el.attrib
        if attrib and any(str(k).rpartition("}")[2].lower() == "base" for k in attrib):
            raise _Doubt
    # feedparser maps a document's prefixes onto its own; a document that binds one of feedparser's prefix
    # names to another namespace ("content" for Dublin Core …) would have its elements renamed.
    if b"xmlns:" in body:
        for prefix, uri in _NS_DECL_RE.findall(body):
            name = prefix.decode("ascii", "replace").lower()
            if name in _STANDARD_PREFIXES and _namespace_prefix(uri.decode("utf-8", "replace")) != name:
                raise _Doubt


def _no_fields_below(el: etree._Element) -> None:
    for sub in el.iterdescendants():
        if _name(sub) in _FIELD_NAMES:
            raise _Doubt


# --------------------------------------------------------------------------------------------------------------
# RSS 2.0


def _guid(entry: dict[str, Any], value: str, is_link: bool) -> None:
    """feedparser's ``_end_guid``: a permalink GUID is resolved, and becomes the link if none came before."""
    if is_link and value:
        value = _urljoin("", value)
    value = _fix(value)
    entry["id"] = value
    entry.setdefault("guidislink", is_link and "link" not in entry)
    if is_link:
        entry.setdefault("link", value)
