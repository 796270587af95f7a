"""Text normalisation and tokenisation shared by item text, query terms and entity aliases.

Owns the one definition of "a word" so that a query term, an alias and an item agree on it:

* ``clean`` turns plain text into display text: HTML entities decoded, NFKC.  Snippets and "terms as
  written" are cut from this text.
* ``fold`` is a *length-preserving* map of display text: dashes become ``-``, curly quotes straight ones,
  diacritics are dropped (``Zürich`` → ``Zurich``), soft hyphens and zero-width characters join the letters
  around them.  Case is kept, so capitalised aliases can be checked.
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
from itertools import accumulate, compress, count
from operator import add

FIELDS = ("title", "summary", "content")
FIELD_SEP = "\x1f"  # a token no key can contain, so phrases never run from the title into the summary

# Words are found without a per-word regex: a few length-preserving rewrites, then every character that cannot
# be part of a word becomes a space (str.translate on ASCII text, one regex otherwise) and str.split() does the
# rest.  Length preservation keeps offsets valid against the display text for snippets.
#   * an acronym's inner dots (U.S., U.N.R.W.A) become ACRO_MARK, a word character removed from the stream;
#   * an apostrophe survives only between letters (O'Brien, don't); a possessive 's (Hamas's) and a dangling
#     apostrophe (Hamas’) become spaces.
ACRO_MARK = "\x00"
_ACRO_DOT_RE = re.compile(r"\.(?<=(?<!\w)[^\W\d_]\.)(?=[^\W\d_](?!\w))")
_APOS_RE = re.compile(r"'(?:s(?!\w)|(?!\w)|(?<!\w'))")
_WORD_CHARS = {chr(c) for c in range(128) if chr(c).isalnum()} | {"_", "'", ACRO_MARK}
_ASCII_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if chr(c) not in _WORD_CHARS})
_SEPARATOR_RE = re.compile(r"[^\w'\x00]")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
# Invisible characters would split words ("Ha&shy;mas" in HTML feeds); they fold to ACRO_MARK, which joins.
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")

_PUNCT = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc\u02bb\uff07", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
}


def clean(text: str) -> str:
    """Display text: HTML entities decoded, NFKC."""
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in _PUNCT:
        return _PUNCT[ch]
    if ch in _INVISIBLE:
        return ACRO_MARK
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


def _blank_apostrophe(m: re.Match[str]) -> str:
    return " " * len(m.group())


def skeleton(folded: str) -> str:
    """Folded text with every non-word character a space, same length; its words are ``.split()``."""
    if "." in folded:
        folded = _ACRO_DOT_RE.sub(ACRO_MARK, folded)
    if "'" in folded:
        folded = _APOS_RE.sub(_blank_apostrophe, folded)
    return folded.translate(_ASCII_SEPARATORS) if folded.isascii() else _SEPARATOR_RE.sub(" ", folded)


def tokenize(text: str) -> list[str]:
    """The words of ``text`` with case kept (acronym dots and possessives removed)."""
    return skeleton(fold(clean(text))).replace(ACRO_MARK, "").split()


def token_spans(skel: str, display: str) -> list[tuple[int, int]]:
    """(start, end) in the display text of each word of a skeleton, aligned with its ``split()``."""
    # Offsets from piece lengths with C-level iterators: a regex match object per word costs 5x more.
    pieces = skel.split(" ")
    starts = list(compress(map(add, accumulate(map(len, pieces), initial=0), count()), pieces))
    words = [p for p in pieces if p]
    ends = list(map(add, starts, map(len, words)))
    if ACRO_MARK in skel:  # show an acronym with its final dot ("U.S." rather than "U.S")
        for i, word in enumerate(words):
            if ACRO_MARK in word and display[ends[i] : ends[i] + 1] == ".":
                ends[i] += 1
    return list(zip(starts, ends, strict=True))


def key_of(tokens: list[str]) -> str:
    """The automaton key of a word sequence: lower-cased, one space either side of every word."""
    return " " + " ".join(tokens).lower() + " "


@dataclass(slots=True)
class Prepared:
    """One item as a word stream, plus what is needed to map hits back to its display text."""

    texts: tuple[str, str, str]  # cleaned title, summary, content
    skeletons: tuple[str, str, str]  # same lengths as texts
    cased: str  # " Tok Tok \x1f Tok " (diacritics folded, case kept)
    lower: str  # cased.lower(), same length
    bounds: tuple[int, int]  # stream offsets of the two field separators
    _counts: tuple[int, int, int] | None = None
    _spans: list[list[tuple[int, int]] | None] = field(default_factory=lambda: [None, None, None])

    def token_index(self, offset: int) -> int:
        """Index of the word starting at stream ``offset`` (the separators count as words)."""
        return self.lower.count(" ", 0, offset) - 1

    def field_of(self, offset: int) -> int:
        return 0 if offset < self.bounds[0] else (1 if offset < self.bounds[1] else 2)

    @property
    def counts(self) -> tuple[int, int, int]:
        """Words per field."""
        if self._counts is None:
            b0, b1, s = self.bounds[0], self.bounds[1], self.lower
            self._counts = (s.count(" ", 0, b0) - 1, s.count(" ", b0 + 1, b1) - 1, s.count(" ", b1 + 1) - 1)
        return self._counts

    def display_span(self, token: int) -> tuple[int, int, int]:
        """(field, start, end) in the cleaned field text of stream word number ``token``."""
        counts = self.counts
        for f in range(3):
            if token < counts[f]:
                spans = self._spans[f]
                if spans is None:
                    spans = self._spans[f] = token_spans(self.skeletons[f], self.texts[f])
                return f, spans[token][0], spans[token][1]
            token -= counts[f] + 1
        raise IndexError("token outside the item")


def prepare(title: str, summary: str, content: str) -> Prepared:
    """Clean, fold and tokenise an item's three fields into one word stream."""
    texts = (clean(title), clean(summary), clean(content))
    skels = (skeleton(fold(texts[0])), skeleton(fold(texts[1])), skeleton(fold(texts[2])))
    cased = f" {skels[0]} {FIELD_SEP} {skels[1]} {FIELD_SEP} {skels[2]} "
    if ACRO_MARK in cased:
        cased = cased.replace(ACRO_MARK, "")
    # Squeeze runs of spaces so word N follows exactly N+1 spaces; a few replace() passes beat split/join 5x.
    while "  " in cased:
        cased = cased.replace("  ", " ")
    b0 = cased.index(FIELD_SEP)
    return Prepared(texts, skels, cased, cased.lower(), (b0, cased.index(FIELD_SEP, b0 + 1)))
