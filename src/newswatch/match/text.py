"""Text normalisation and tokenisation shared by item text, query terms and entity aliases.

Owns the one definition of "a word" so that a query term, an alias and an item agree on it:

* ``clean`` turns plain text into display text: HTML entities decoded, NFKC, soft hyphens and zero-width
  characters removed.  Snippets and "terms as written" are cut from this text.
* ``fold`` is a *length-preserving* map of display text: dashes become ``-``, curly quotes straight ones,
  diacritics are dropped (``Zürich`` → ``Zurich``).  Case is kept, so capitalised aliases can be checked.
* ``tokenize`` splits folded text into words: ``U.S.`` is one word ``US``, possessives (``Hamas's``,
  ``Hamas’``) lose their ``'s``, hyphen and dash compounds (``US-Hamas``) are two words.

An item becomes a :class:`Prepared` word stream, ``" tok tok \\x1f tok "``: every word between single
spaces, fields separated by a ``\\x1f`` token, so one Aho-Corasick pass over the lower-cased stream finds
whole words and phrases without any per-word Python work.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

FIELDS = ("title", "summary", "content")
FIELD_SEP = "\x1f"  # a token no key can contain, so phrases never run from the title into the summary

# An acronym with dots (U.S., U.N.R.W.A) is one word; otherwise letters/digits joined by inner apostrophes
# (O'Brien, don't).  A trailing possessive 's is consumed outside the group so it never becomes a word "s".
_TOKEN_RE = re.compile(r"([^\W\d_](?:\.[^\W\d_])+(?!\w)\.?|\w+(?:'(?!s\b)\w+)*)(?:'s\b)?")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
# Invisible characters that split words if left in ("Ha&shy;mas" in HTML feeds).
_INVISIBLE_RE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")

_PUNCT = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc\u02bb\uff07", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
}


def clean(text: str) -> str:
    """Display text: entities decoded, NFKC, invisible characters dropped."""
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        text = _INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", text))
    return text


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in _PUNCT:
        return _PUNCT[ch]
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if len(base) != 1:
        base = ch
    # The word stream is lower-cased as a whole; a character whose lower case is longer would shift every
    # offset after it, so such (very rare) characters are folded to one lower-case character here.
    return base if len(base.lower()) == 1 else base.lower()[0]


def _fold_match(m: re.Match[str]) -> str:
    return _fold_char(m.group())


def fold(text: str) -> str:
    """Dashes, quotes and diacritics folded, case kept; ``len(fold(t)) == len(t)``."""
    return text if text.isascii() else _NON_ASCII_RE.sub(_fold_match, text)


def tokenize(text: str) -> list[str]:
    """The words of ``text`` with case kept (acronym dots and possessives removed)."""
    return [t.replace(".", "") for t in _TOKEN_RE.findall(fold(clean(text)))]


def token_spans(folded: str) -> list[tuple[int, int]]:
    """(start, end) of each word of already folded text, aligned with :func:`tokenize`."""
    return [m.span(1) for m in _TOKEN_RE.finditer(folded)]


def key_of(tokens: list[str]) -> str:
    """The automaton key of a word sequence: lower-cased, one space either side of every word."""
    return " " + " ".join(tokens).lower() + " "


@dataclass(slots=True)
class Prepared:
    """One item as a word stream, plus what is needed to map hits back to its display text."""

    texts: tuple[str, str, str]  # cleaned title, summary, content
    folded: tuple[str, str, str]
    cased: str  # " Tok Tok \x1f Tok " (diacritics folded, case kept)
    lower: str  # cased.lower(), same length
    bounds: tuple[int, int]  # stream offsets of the two field separators
    counts: tuple[int, int, int]  # words per field
    _spans: list[list[tuple[int, int]] | None] = field(default_factory=lambda: [None, None, None])

    def token_index(self, offset: int) -> int:
        """Index of the word starting at stream ``offset`` (the separators count as words)."""
        return self.lower.count(" ", 0, offset) - 1

    def field_of(self, offset: int) -> int:
        return 0 if offset < self.bounds[0] else (1 if offset < self.bounds[1] else 2)

    def display_span(self, token: int) -> tuple[int, int, int]:
        """(field, start, end) in the cleaned field text of stream word number ``token``."""
        for f in range(3):
            if token < self.counts[f]:
                spans = self._spans[f]
                if spans is None:
                    spans = self._spans[f] = token_spans(self.folded[f])
                return f, spans[token][0], spans[token][1]
            token -= self.counts[f] + 1
        raise IndexError("token outside the item")


def prepare(title: str, summary: str, content: str) -> Prepared:
    """Clean, fold and tokenise an item's three fields into one word stream."""
    texts = (clean(title), clean(summary), clean(content))
    folded = (fold(texts[0]), fold(texts[1]), fold(texts[2]))
    words = [_TOKEN_RE.findall(f) for f in folded]
    counts = (len(words[0]), len(words[1]), len(words[2]))
    cased = " " + " ".join([*words[0], FIELD_SEP, *words[1], FIELD_SEP, *words[2]]).replace(".", "") + " "
    b0 = cased.index(FIELD_SEP)
    return Prepared(texts, folded, cased, cased.lower(), (b0, cased.index(FIELD_SEP, b0 + 1)), counts)
