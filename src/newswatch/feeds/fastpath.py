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

import re
from typing import Any

from feedparser.datetimes import _parse_date as _feedparser_parse_date
from feedparser.urls import _urljoin
from lxml import etree

from newswatch.feeds.fastpath_atom import _read_atom
from newswatch.feeds.fastpath_xml import (
    _ATOM_NS,
    _CHANNEL_VALUES,
    _CONTEXT_NAMES,
    _DECL_ENCODING_RE,
    _DECL_VERSION_RE,
    _FIELD_NAMES,
    _IMAGE_CHILDREN,
    _LINK_ENTITY_RE,
    _RSS_DATES,
    _UTF8_NAMES,
    _XML_DECL_RE,
    ENABLED,
    FeedDocument,
    _attrs,
    _check_document,
    _Doubt,
    _fix,
    _guid,
    _looks_like_html,
    _name,
    _no_fields_below,
    _parser,
    _text,
)

__all__ = ["FeedDocument", "feedparser_date", "read_feed"]


# The mirrored behaviour is feedparser 6's; another major version must prove itself again.
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
