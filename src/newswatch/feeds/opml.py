"""OPML import: a feed reader's export in, the ``feeds:`` block of a newswatch config out.

Owns ``newswatch import-opml FILE.opml``: parsing the export safely (lxml with no network, no DTD loading,
no entity resolution, and documents declaring entities refused outright), walking nested category outlines,
dropping duplicate feeds, and printing YAML whose categories are comments, ready to paste into a config.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml
from lxml import etree

__all__ = ["OpmlError", "OpmlFeed", "opml_to_feeds_yaml", "read_opml", "run_import_opml"]

EXIT_OK = 0
EXIT_BAD_INPUT = 2  # the CLI's "bad config or usage" code: the file is not a usable OPML export


class OpmlError(Exception):
    """An input that is not a usable OPML document; ``str()`` is one line naming the cause."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    name: str | None
    category: tuple[str, ...]  # enclosing outlines' titles, outermost first


def opml_to_feeds_yaml(data: bytes, *, append: bool = False) -> str:
    """The ``feeds:`` YAML block for an OPML document; raises :class:`OpmlError` for malformed input.

    ``append`` leaves out the ``feeds:`` key line: the entries go under a config's existing ``feeds:`` (a
    second ``feeds:`` key is refused as defined twice)."""
    title, feeds, skipped = read_opml(data)
    lines = [f"# Imported from OPML{': ' + _comment(title) if title else ''} ({_count(len(feeds))})"]
    if not feeds:
        lines.append("# (no feeds)" if append else "feeds: []")
    else:
        if not append:
            lines.append("feeds:")
        category: tuple[str, ...] = ()
        for feed in feeds:
            if feed.category != category:
                label = " / ".join(feed.category) if feed.category else "(no category)"
                lines.append(f"  # {_comment(label)}")
                category = feed.category
            lines.append(f"  - url: {_scalar(feed.url)}")
            if feed.name:
                lines.append(f"    name: {_scalar(feed.name)}")
    for url in skipped:
        lines.append(f"# skipped, not an http(s) feed URL: {_comment(url)}")
    return "\n".join(lines) + "\n"


def run_import_opml(path: str, *, append: bool = False) -> int:
    """``newswatch import-opml FILE``: YAML to stdout, one-line errors to stderr; exit 0, or 2 on bad input.

    ``-`` reads standard input.
    """
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        print(f"newswatch: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        text = opml_to_feeds_yaml(data, append=append)
    except OpmlError as exc:
        print(f"newswatch: {path}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    sys.stdout.write(text)
    return EXIT_OK


def read_opml(data: bytes) -> tuple[str | None, list[OpmlFeed], list[str]]:
    """(the export's title, its feeds in document order without duplicates, feed URLs skipped as unusable)."""
    root = _parse(data)
    if _local(root.tag) != "opml":
        raise OpmlError(f"not an OPML document (root element <{_local(root.tag)}>)")
    body = next((el for el in root if _local(el.tag) == "body"), None)
    if body is None:
        raise OpmlError("not an OPML document (no <body>)")
    head = next((el for el in root if _local(el.tag) == "head"), None)
    title = None
    if head is not None:
        title_el = next((el for el in head if _local(el.tag) == "title"), None)
        if title_el is not None:
            title = _clean(title_el.text or "") or None

    feeds: list[OpmlFeed] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for feed in _walk(body, ()):
        if feed.url.startswith("feed://"):  # the old Safari/Firefox pseudo-scheme for "this is a feed"
            feed = OpmlFeed("http://" + feed.url.removeprefix("feed://"), feed.name, feed.category)
        key = _dedupe_key(feed.url)
        if key is None:
            skipped.append(feed.url)
            continue
        if key in seen:
            continue
        seen.add(key)
        feeds.append(feed)
    return title, feeds, skipped


# --------------------------------------------------------------------------------------------------------------
# Parsing


def _parse(data: bytes) -> etree._Element:
    if not data.strip():
        raise OpmlError("empty file")
    if _declares_entities(data):
        # An OPML export has no use for entities; refusing them means no billion laughs and no XXE, whatever
        # libxml2 would do with them (it expands internal entities in attribute values even when told not to
        # resolve entities).
        raise OpmlError("entity declarations are not allowed")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno
        msg = " ".join(str(exc.msg or exc).split())
        raise OpmlError(f"malformed XML: {msg}" + (f" at line {line}" if line else "")) from None
    except ValueError as exc:  # e.g. an unknown encoding name
        raise OpmlError(f"malformed XML: {exc}") from None
    if root is None:
        raise OpmlError("malformed XML: no root element")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):  # declared in an encoding we did not scan
        raise OpmlError("entity declarations are not allowed")
    return root


def _declares_entities(data: bytes) -> bool:
    head = data[:65536]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
        for codec in ("utf-16", "utf-32"):
            try:
                head = head.decode(codec, "ignore").encode("utf-8")
                break
            except (UnicodeError, LookupError):
                continue
    return b"<!entity" in head.lower()


def _walk(parent: etree._Element, category: tuple[str, ...]) -> Iterator[OpmlFeed]:
    for el in parent:
        if not isinstance(el.tag, str) or _local(el.tag) != "outline":
            continue
        attrs = {str(k).lower(): str(v) for k, v in el.attrib.items()}
        # The config expands ${VAR} in every string and has no escape: keep a title's "${" from becoming one.
        label = (_clean(attrs.get("title") or "") or _clean(attrs.get("text") or "")).replace("${", "$ {")
        url = (attrs.get("xmlurl") or "").strip()
        if url:
            yield OpmlFeed(url=url, name=label or None, category=category)
            # Some readers nest feeds under a feed; keep them, under the same category.
            yield from _walk(el, category)
        else:
            yield from _walk(el, (*category, label) if label else category)


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2].lower() if isinstance(tag, str) else ""


# --------------------------------------------------------------------------------------------------------------
# Output


def _dedupe_key(url: str) -> str | None:
    """The feed's identity for spotting duplicates, or None if it is not an http(s) URL.

    Scheme and host are case-insensitive and the fragment never reaches the server; everything else (path,
    query) may matter to the server and is compared as written.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if "${" in url:  # the config would expand it as an environment variable
        return None
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when YAML reads it back unchanged, else JSON-quoted (valid YAML)."""
    if value == value.strip() and "\n" not in value:
        try:
            if yaml.safe_load(value) == value and " #" not in value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _comment(text: str) -> str:
    return _clean(text)  # one line: a newline would end the comment and inject YAML


def _count(n: int) -> str:
    return "1 feed" if n == 1 else f"{n} feeds"
