"""The fast path's Atom 1.0 reader: an Atom document in feedparser's shape, or a doubt (feedparser reads it).
See :mod:`newswatch.feeds.fastpath`.
"""

from __future__ import annotations

from typing import Any

from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin
from lxml import etree

from newswatch.feeds.fastpath_xml import (
    _ATOM_DATES,
    _ATOM_TEXT_TYPES,
    _CHANNEL_VALUES,
    _CONTEXT_NAMES,
    _FIELD_NAMES,
    _XHTML,
    _XHTML_NS,
    _XHTML_SPECIAL,
    FeedDocument,
    _attrs,
    _check_document,
    _Doubt,
    _fix,
    _guid,
    _name,
    _no_fields_below,
    _text,
)

# The mirrored behaviour is feedparser 6's; another major version must prove itself again.
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
