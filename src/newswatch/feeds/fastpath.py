"""The fast path of the parse stage: plain RSS 2.0 and Atom 1.0 read with lxml, in feedparser's shape.

Owns :func:`read_feed`, which reads the common, clearly understood feed document with libxml2 and returns its
feed-level values and entries as the same dicts feedparser (the correctness reference) would build, so that
:mod:`newswatch.feeds.parse` turns both into items with one piece of code.  Whenever the document strays from what
is modelled here (a DOCTYPE, an encoding other than UTF-8/ASCII, an unknown namespace, ``xml:base``, RDF,
markup inside a title, a repeated field, an element feedparser maps onto a field we read, any XML error …)
it returns ``None`` and the caller uses feedparser.  Being wrong costs a missed or garbled alert, being slow
costs a millisecond, so anything in doubt goes to feedparser.

What feedparser does to every value, and is mirrored here: whitespace stripped, ``_urljoin`` on links and
permalink GUIDs, the "UTF-8 read as Latin-1" repair, the Windows-1252 C1 mapping, the ``&name;`` repair in
RSS links, the "looks like HTML" upgrade of RSS titles, GUID-as-link with ``guidislink``, and a content
element copied into an absent summary.

Security: the document is parsed with ``resolve_entities=False, no_network=True, load_dtd=False,
huge_tree=False``, and any document with a DOCTYPE is left to the caller (which refuses entity declarations
before any parser sees them).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import feedparser
from feedparser.datetimes import _parse_date as _feedparser_parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin
from lxml import etree

__all__ = ["FeedDocument", "feedparser_date", "read_feed"]

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


def read_feed(body: bytes, charset: str | None) -> FeedDocument | None:
    """The feed in feedparser's shape, or None when feedparser must read it.

    ``charset`` is the character set the caller settled on (and tells feedparser); only UTF-8 and ASCII
    documents, read the same way by libxml2, take the fast path.
    """
    if not ENABLED or charset is None or charset.lower() not in _UTF8_NAMES:
        return None
    if body[:3] == b"\xef\xbb\xbf" or body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:4]:
        return None
    head = body[:4096]
    if b"<!" in head and re.search(rb"<!DOCTYPE", head, re.IGNORECASE):
        return None
    decl = _XML_DECL_RE.match(body)
    if decl:
        enc = _DECL_ENCODING_RE.search(decl.group(0))
        if enc and enc.group(1).decode("ascii").lower() not in _UTF8_NAMES:
            return None
        version = _DECL_VERSION_RE.search(decl.group(0))
        if version and version.group(1) != b"1.0":
            return None
    try:
        root = etree.fromstring(body, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    try:
        if root.tag == "rss":
            return _read_rss(root, body)
        if root.tag == f"{{{_ATOM_NS}}}feed":
            return _read_atom(root, body)
    except _Doubt:
        return None
    return None


def feedparser_date(raw: str) -> Any:
    """feedparser's own date reading (a 9-tuple in UTC or None), for the ``*_parsed`` keys not built here."""
    return _feedparser_parse_date(raw)


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


def _read_rss(root: etree._Element, body: bytes) -> FeedDocument:
    version = root.get("version", "")
    if not version.startswith("2."):
        raise _Doubt  # 0.9x and friends: rare, and feedparser has special cases for them
    _check_document(root, body)
    channels = [c for c in root if _name(c) == "channel"]
    if len(channels) != 1 or len(root) != 1:
        raise _Doubt
    (channel,) = channels
    doc = FeedDocument(version="rss20")
    seen: set[str] = set()
    for child in channel:
        name = _name(child)
        if name == "item":
            doc.entries.append(_rss_item(child))
        elif name in _CHANNEL_VALUES:
            if name in seen or child.attrib:
                raise _Doubt
            seen.add(name)
            raw = _text(child)
            value = _fix(raw)
            if name == "title":
                if not value:
                    raise _Doubt  # an empty title lets a later one win in feedparser
                doc.feed["title"] = value
                doc.feed["title_detail"] = {"type": _rss_text_type(raw)}
            else:
                doc.feed[name] = value
        elif name == "image":
            for sub in child.iterdescendants():
                if _name(sub) not in _IMAGE_CHILDREN or len(sub):
                    raise _Doubt
        elif name in _CONTEXT_NAMES:
            raise _Doubt
        else:
            # Channel-level link, description, dates … go to feed keys we do not read, unless they nest
            # something that switches context or starts an entry.
            _no_fields_below(child)
    return doc


def _rss_text_type(value: str) -> str:
    # RSS titles are nominally plain text; feedparser upgrades them when they look like HTML.
    return "text/html" if _looks_like_html(value) else "text/plain"


_RSS_ITEM_FIELDS = frozenset(
    {"title", "link", "guid", "description", "content_encoded", "source", *_RSS_DATES}
)


def _rss_item(item: etree._Element) -> dict[str, Any]:
    _attrs(item, frozenset())  # rdf:about, lastmod, href … would each set a field
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in item:
        name = _name(child)
        if name not in _RSS_ITEM_FIELDS:
            if name in _FIELD_NAMES:
                raise _Doubt
            _no_fields_below(child)
            continue
        if name in seen:
            raise _Doubt  # a repeated field: which one wins depends on details not modelled here
        seen.add(name)
        if name == "title":
            _attrs(child, frozenset())
            raw = _text(child)
            entry["title"] = _fix(raw)
            # feedparser decides before its character repairs
            entry["title_detail"] = {"type": _rss_text_type(raw)}
        elif name == "link":
            _attrs(child, frozenset())
            value = _text(child)
            if value:
                value = _urljoin("", value)
            value = _fix(value).replace("&amp;", "&")
            entry["link"] = _LINK_ENTITY_RE.sub(r"&\g<1>", value)
        elif name == "guid":
            attrs = _attrs(child, frozenset({"ispermalink"}))
            _guid(entry, _text(child), attrs.get("ispermalink", "true") == "true")
        elif name == "description":
            _attrs(child, frozenset())
            entry["summary"] = _fix(_text(child))
            entry["summary_detail"] = {"type": "text/html"}
        elif name == "content_encoded":
            _attrs(child, frozenset())
            value = _fix(_text(child))
            entry["content"] = [{"type": "text/html", "value": value}]
            entry.setdefault("summary", value)  # feedparser copies content into an absent summary
        elif name == "source":
            attrs = _attrs(child, frozenset({"url"}))
            source: dict[str, str] = {}
            if "url" in attrs:
                source["href"] = attrs["url"]
            value = _fix(_text(child))
            if value:
                source["title"] = value
            entry["source"] = source
        else:
            _attrs(child, frozenset())
            entry[_RSS_DATES[name]] = _fix(_text(child))
    return entry


def _guid(entry: dict[str, Any], value: str, is_link: bool) -> None:
    """feedparser's ``_end_guid``: a permalink GUID is resolved, and becomes the link if none came before."""
    if is_link and value:
        value = _urljoin("", value)
    value = _fix(value)
    entry["id"] = value
    entry.setdefault("guidislink", is_link and "link" not in entry)
    if is_link:
        entry.setdefault("link", value)


# --------------------------------------------------------------------------------------------------------------
# Atom 1.0

_ATOM_ENTRY_FIELDS = frozenset({"title", "link", "id", "summary", "content", *_ATOM_DATES})
_ATOM_LINK_ATTRS = frozenset({"rel", "type", "href", "hreflang", "title", "length"})


def _read_atom(root: etree._Element, body: bytes) -> FeedDocument:
    _check_document(root, body)
    doc = FeedDocument(version="atom10")
    seen: set[str] = set()
    for child in root:
        name = _name(child)
        if name == "entry":
            doc.entries.append(_atom_entry(child))
        elif name in _CHANNEL_VALUES:
            if name in seen:
                raise _Doubt
            seen.add(name)
            if name == "title":
                kind = _atom_text_type(child)
                value = _atom_value(child, kind)
                if not value:
                    raise _Doubt
                doc.feed["title"] = value
                doc.feed["title_detail"] = {"type": kind}
            else:
                if child.attrib:
                    raise _Doubt
                doc.feed[name] = _fix(_text(child))
        elif name in _CONTEXT_NAMES or name == "image":
            raise _Doubt
        else:
            _no_fields_below(child)
    return doc


def _atom_text_type(el: etree._Element) -> str:
    attrs = _attrs(el, frozenset({"type"}))
    kind = _ATOM_TEXT_TYPES.get(attrs.get("type", "text"))
    if kind is None:
        raise _Doubt  # base64-encoded and other media types are left to feedparser
    return kind


def _atom_value(el: etree._Element, kind: str) -> str:
    return _fix(_xhtml_markup(el) if kind == _XHTML else _text(el))


def _xhtml_markup(el: etree._Element) -> str:
    """Inline XHTML as markup, rebuilt the way feedparser does (tags without prefixes, text escaped).

    Attributes are left out: the item's text is all that is made of this markup, and they are not text.
    """
    parts = [_escape(el.text or "")]
    for child in el:
        _xhtml_element(child, parts)
    return "".join(parts).strip()


def _xhtml_element(el: etree._Element, parts: list[str]) -> None:
    tag = el.tag
    if not isinstance(tag, str) or not tag.startswith(_XHTML_NS):
        raise _Doubt  # markup outside the XHTML namespace: feedparser may treat it as feed elements
    local = tag[len(_XHTML_NS) :].lower()
    if local in _XHTML_SPECIAL:
        raise _Doubt
    parts.append(f"<{local}>")
    parts.append(_escape(el.text or ""))
    for child in el:
        _xhtml_element(child, parts)
    parts.append(f"</{local}>")
    parts.append(_escape(el.tail or ""))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") if text else ""


def _atom_entry(entry_el: etree._Element) -> dict[str, Any]:
    _attrs(entry_el, frozenset())
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in entry_el:
        name = _name(child)
        if name not in _ATOM_ENTRY_FIELDS:
            if name in _FIELD_NAMES:
                raise _Doubt
            _no_fields_below(child)
            continue
        if name == "link":
            _atom_link(entry, child)
            continue
        if name in seen:
            raise _Doubt
        seen.add(name)
        if name == "title":
            kind = _atom_text_type(child)
            entry["title"] = _atom_value(child, kind)
            entry["title_detail"] = {"type": kind}
        elif name == "id":
            _attrs(child, frozenset())
            _guid(entry, _text(child), True)  # feedparser treats an Atom id as a permalink GUID
        elif name == "summary":
            kind = _atom_text_type(child)
            entry["summary"] = _atom_value(child, kind)
            entry["summary_detail"] = {"type": kind}
        elif name == "content":
            if "src" in child.attrib:
                raise _Doubt
            kind = _atom_text_type(child)
            value = _atom_value(child, kind)
            entry["content"] = [{"type": kind, "value": value}]
            entry.setdefault("summary", value)
        else:
            _attrs(child, frozenset())
            entry[_ATOM_DATES[name]] = _fix(_text(child))
    return entry


def _atom_link(entry: dict[str, Any], el: etree._Element) -> None:
    """feedparser's ``_start_link`` for an Atom link: an alternate HTML link with an href becomes the link."""
    if len(el):
        raise _Doubt
    attrs = _attrs(el, _ATOM_LINK_ATTRS)
    if "href" not in attrs:
        raise _Doubt  # feedparser would read the element's text as the link
    rel = attrs.get("rel", "alternate")
    kind = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
    if rel == "alternate" and _FeedParserMixin.map_content_type(kind) in _FeedParserMixin.html_types:
        entry["link"] = _urljoin("", attrs["href"])
