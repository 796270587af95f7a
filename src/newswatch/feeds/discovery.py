"""WebSub discovery (W3C Recommendation §4): which hub pushes a feed, and under which topic URL.

Owns reading a feed's hubs and self URL from HTTP ``Link`` headers first, then from ``<link rel="hub">`` /
``rel="self"`` in the document (Atom, or ``atom:link`` in an RSS channel), with a safe parser (no network,
no DTD, no entities).  Subscribing is :mod:`newswatch.feeds.push`'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin

from lxml import etree

__all__ = ["Discovery", "discover", "parse_link_header"]

_ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Discovery:
    hubs: tuple[str, ...] = ()
    self_url: str | None = None


# "<" excluded from the URL (no URI holds one), so each "<" of "<<<<…" stops at the next: linear, where "[^>]*"
# re-read the rest of the header from each one.
_LINK_RE = re.compile(r"<([^<>]*)>((?:\s*;\s*[^;,]*)*)")
_REL_RE = re.compile(r"""\brel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)


def parse_link_header(values: Iterable[str]) -> list[tuple[str, frozenset[str]]]:
    """(URL, rel tokens) for each link in one or more HTTP ``Link`` header values (RFC 8288)."""
    links: list[tuple[str, frozenset[str]]] = []
    for value in values:
        for m in _LINK_RE.finditer(value):
            rel = _REL_RE.search(m.group(2))
            rels = (rel.group(1) or rel.group(2) or "") if rel else ""
            links.append((m.group(1).strip(), frozenset(r.lower() for r in rels.split())))
    return links


def discover(body: bytes | None, link_headers: Iterable[str] = (), base_url: str | None = None) -> Discovery:
    """The feed's hubs and self URL: from ``Link`` headers when they name a hub, else from the document.

    The document is read with a safe parser (no network, no DTD, no entities) and only its feed-level
    ``<link>`` elements (Atom, or ``atom:link`` in an RSS channel) are looked at.
    """

    def absolute(url: str) -> str:
        return urljoin(base_url, url) if base_url else url

    header_links = parse_link_header(link_headers)
    hubs = tuple(absolute(u) for u, rels in header_links if "hub" in rels)
    selfs = [absolute(u) for u, rels in header_links if "self" in rels]
    if hubs:
        return Discovery(hubs, selfs[0] if selfs else None)
    doc_hubs: list[str] = []
    doc_self: str | None = None
    for href, rels in _document_links(body or b""):
        if "hub" in rels:
            doc_hubs.append(absolute(href))
        if "self" in rels and doc_self is None:
            doc_self = absolute(href)
    return Discovery(tuple(dict.fromkeys(doc_hubs)), selfs[0] if selfs else doc_self)


def _document_links(body: bytes) -> list[tuple[str, frozenset[str]]]:
    head = body[:4096].lower()
    if not body.strip() or b"<!entity" in head or b"<!doctype" in head:
        return []  # feeds with a DOCTYPE are rare; their hubs are not worth the parser's risks
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
    )
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError):
        return []
    if root is None:
        return []
    containers = [root]
    containers += [c for c in root if isinstance(c.tag, str) and c.tag.rpartition("}")[2] == "channel"]
    links = []
    for container in containers:
        for el in container:
            if not isinstance(el.tag, str) or el.tag.rpartition("}")[2] != "link":
                continue
            ns = el.tag[1:].partition("}")[0] if el.tag.startswith("{") else ""
            if ns != _ATOM_NS:
                continue  # an RSS <link> holds the site's URL as text, never a hub
            href = (el.get("href") or "").strip()
            if href:
                links.append((href, frozenset((el.get("rel") or "").lower().split())))
    return links
