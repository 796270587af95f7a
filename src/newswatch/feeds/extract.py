"""Article text: which items are teasers, and the main text of the page behind one, with trafilatura.

Owns the teaser rule (:func:`is_teaser`) and turning a fetched HTML page into item text
(:func:`article_text`): the article without navigation, comments or boilerplate, as plain text with one line per
paragraph, control characters stripped like any feed text.  This is CPU work: it runs in the CPU stage's worker
processes (:mod:`newswatch.cpu`) and in ``newswatch match``, never on the event loop.

trafilatura and its dependencies (about 7 MB per process) are imported at the first page, not with this module,
so a worker that never extracts a page never loads them.  Fetching the page is :mod:`newswatch.feeds.article`.
"""

from __future__ import annotations

import codecs
import functools
import logging
from collections.abc import Callable
from email.message import Message

from newswatch import constants as C
from newswatch.feeds.text import plain_text
from newswatch.models import Item

__all__ = ["article_text", "is_teaser"]


def is_teaser(item: Item) -> bool:
    """An item whose text, title aside, is shorter than ``TEASER_CHARS``: a summary that points at the article."""
    return len(item.summary) + len(item.content) < C.TEASER_CHARS


def article_text(body: bytes, content_type: str | None = None) -> str:
    """The main text of an HTML page as plain text, or "" when trafilatura finds no article in it.

    The HTTP charset is used when the response named one; otherwise trafilatura decides (UTF-8 when the bytes are
    UTF-8, else a guess).  Only the first ``MAX_EXTRACT_BYTES`` of the page are read.
    """
    # Bounded input, bounded cost: trafilatura's time and memory grow with the page (issue 21 point 4); an
    # article's text comes early in its page, so a longer page is extracted from its first bytes.
    page = body[: C.MAX_EXTRACT_BYTES]
    html: bytes | str = page
    charset = _charset(content_type)
    if charset is not None:
        html = page.decode(charset, errors="replace")
    text = _extract()(html, include_comments=False, include_images=False, with_metadata=False)
    return plain_text(text or "")


def _charset(content_type: str | None) -> str | None:
    """The charset a Content-Type header names, when Python knows it."""
    if not content_type:
        return None
    header = Message()
    header["Content-Type"] = content_type
    charset = header.get_content_charset()
    if charset is None:
        return None
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return None


@functools.cache
def _extract() -> Callable[..., str | None]:
    from trafilatura import extract

    # trafilatura reports what it could not read through its own logger; without a handler anywhere, Python's
    # last-resort handler would print that on a worker's stderr.  The caller reports a page without text itself.
    logging.getLogger("trafilatura").addHandler(logging.NullHandler())
    return extract
