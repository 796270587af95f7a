"""The tokeniser as it was before issue 15 (scripts), frozen as an oracle: Latin-script text must be cut into
the same words, with the same display offsets, as before (tests/match/test_scripts.py).  Do not edit.

Its original docstring follows.

Text normalisation and tokenisation shared by item text, query terms and entity aliases.

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


# Typography that news copy is full of, folded first by plain replace() (all fold to ASCII, so order is free).
_COMMON_FOLDS = tuple((ch, _fold_char(ch)) for ch in "’“”‘—–")


def _fold_match(m: re.Match[str]) -> str:
    return _fold_char(m.group())


def fold(text: str) -> str:
    """Dashes, quotes and diacritics folded, case kept; ``len(fold(t)) == len(t)``."""
    if text.isascii():
        return text
    # News copy repeats a handful of non-ASCII characters (’ “ ” —): one replace() per character beats a
    # Python call per occurrence, and most items are ASCII afterwards.
    for ch, folded in _COMMON_FOLDS:
        if ch in text:
            text = text.replace(ch, folded)
    if text.isascii():
        return text
    # Sequential replacing is only right when no character folds into another one being replaced; otherwise
    # fall back to one substitution pass.
    chars = set(_NON_ASCII_RE.findall(text))
    folds = [(ch, _fold_char(ch)) for ch in chars]
    if any(f != ch and f in chars for ch, f in folds):
        return _NON_ASCII_RE.sub(_fold_match, text)
    for ch, f in folds:
        if f != ch:
            text = text.replace(ch, f)
    return text


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


def key_of(tokens: list[str]) -> str:
    """The automaton key of a word sequence: lower-cased, one space either side of every word."""
    return " " + " ".join(tokens).lower() + " "


# The three fields are normalised as one string, "title\x1fsummary\x1fcontent": one call per step instead of
# three.  FIELD_SEP is a non-word character for every regex above, exactly like the ends of a string, so the
# joined skeleton is the three skeletons joined; the stream tables below keep it instead of blanking it.
# ASCII text is translated as bytes: a 256-byte table is several times faster than str.translate's dict.
_STREAM_SEPARATORS = bytes(
    c if chr(c) in _WORD_CHARS or chr(c) == FIELD_SEP or c >= 128 else 32 for c in range(256)
)
_STREAM_SEPARATOR_RE = re.compile(r"[^\w'\x00\x1f]")
# A word made only of invisible characters ("a \u200b b") has no letters: it is no word at all.  It becomes
# spaces so that the skeleton and the stream count the same words.
_LONE_MARKS_RE = re.compile(r"(?<![^ \x1f])\x00+(?![^ \x1f])")
_GAP_RE = re.compile(r"[ \x00]*")
_WORD_RE = re.compile(r"[^ \x1f]*")


def _blank(m: re.Match[str]) -> str:
    return " " * len(m.group())


def _stream_skeleton(folded: str) -> str:
    """:func:`skeleton` of the joined fields, keeping FIELD_SEP (and without words of invisible characters)."""
    if "." in folded:
        folded = _ACRO_DOT_RE.sub(ACRO_MARK, folded)
    if "'" in folded:
        folded = _APOS_RE.sub(_blank_apostrophe, folded)
    ascii_only = folded.isascii()
    if ascii_only:
        skel = folded.encode("ascii").translate(_STREAM_SEPARATORS).decode("ascii")
    else:
        skel = _STREAM_SEPARATOR_RE.sub(" ", folded)
    if ACRO_MARK in skel:
        skel = _LONE_MARKS_RE.sub(_blank, skel)
    return skel


@dataclass(slots=True)
class Prepared:
    """One item as a word stream, plus what is needed to map hits back to its display text.

    ``skel`` is the three fields' skeletons joined by FIELD_SEP, so ``skel[starts[f]:starts[f] + len(texts[f])]``
    is aligned character for character with ``texts[f]``.  Display positions are found per hit, on demand
    (:meth:`locate_word`): listing every word's offsets costs an object per word, which is most of an item's
    budget, and only the few hits of a matching watch are ever shown.
    """

    texts: tuple[str, str, str]  # cleaned title, summary, content
    skel: str  # the fields' skeletons joined by FIELD_SEP
    starts: tuple[int, int, int]  # offset of each field in skel
    cased: str  # " Tok Tok \x1f Tok " (diacritics folded, case kept)
    lower: str  # cased.lower(), same length
    bounds: tuple[int, int]  # stream offsets of the two field separators
    marks: bool  # whether skel holds ACRO_MARKs (acronym dots, invisible characters)
    # locate_word's cache, and per field the last word it located: (stream offset, word index, skel offset)
    _located: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    _cursors: list[tuple[int, int, int] | None] = field(default_factory=lambda: [None, None, None])

    def token_index(self, offset: int) -> int:
        """Index of the word starting at stream ``offset`` (the separators count as words)."""
        return self.lower.count(" ", 0, offset) - 1

    def field_of(self, offset: int) -> int:
        return 0 if offset < self.bounds[0] else (1 if offset < self.bounds[1] else 2)

    def field_start(self, fld: int) -> int:
        """Stream offset of the first word of a field."""
        return 1 if fld == 0 else self.bounds[fld - 1] + 2

    def locate_word(self, offset: int) -> tuple[int, int, int, int]:
        """(field, start, end, word index in the field) of the word starting at stream ``offset``.

        ``start``/``end`` are offsets in the field's cleaned text.  The word is found by counting: between two
        word starts the stream holds the letters of the words in between plus one space after each, and the
        skeleton the same letters plus runs of spaces and acronym marks.  Starting from a lower bound, each
        step adds the letters still missing; a step or three reach the word.  Counting starts from the last
        word located in the field when it lies before this one (hits are located in text order), so an item
        costs about one pass over the text however many hits it shows; results are cached per offset.
        """
        got = self._located.get(offset)
        if got is not None:
            return got
        fld = self.field_of(offset)
        cursor = self._cursors[fld]
        if cursor is None or cursor[0] > offset:
            cursor = (self.field_start(fld), 0, self.starts[fld])
        o0, k0, p0 = cursor
        k = k0 + self.lower.count(" ", o0, offset)
        letters = offset - o0 - (k - k0)  # letters in the skeleton from p0 to just after word k - 1
        skel, marks = self.skel, self.marks
        # A lower bound: the letters, plus one space after each word before the last one.
        pos = p0 + letters + max(k - k0 - 1, 0)
        have = pos - p0 - skel.count(" ", p0, pos) - (skel.count(ACRO_MARK, p0, pos) if marks else 0)
        while have < letters:
            step = letters - have
            have += (
                step
                - skel.count(" ", pos, pos + step)
                - (skel.count(ACRO_MARK, pos, pos + step) if marks else 0)
            )
            pos += step
        # pos is just after the last letter before the word: skip the gap, keeping marks that start the word.
        gap_end = _GAP_RE.match(skel, pos).end()  # type: ignore[union-attr]  # matches the empty string
        space = skel.rfind(" ", pos, gap_end)
        start = space + 1 if space >= 0 else pos
        end = _WORD_RE.match(skel, start).end()  # type: ignore[union-attr]
        self._cursors[fld] = (offset, k, start)
        base = self.starts[fld]
        if marks and ACRO_MARK in skel[start:end] and self.texts[fld][end - base : end - base + 1] == ".":
            end += 1  # show an acronym with its final dot ("U.S." rather than "U.S")
        got = self._located[offset] = (fld, start - base, end - base, k)
        return got


def prepare(title: str, summary: str, content: str) -> Prepared:
    """Clean, fold and tokenise an item's three fields into one word stream."""
    texts = (clean(title), clean(summary), clean(content))
    joined = FIELD_SEP.join(t.replace(FIELD_SEP, " ") if FIELD_SEP in t else t for t in texts)
    skel = _stream_skeleton(fold(joined))
    marks = ACRO_MARK in skel
    cased = " " + skel.replace(FIELD_SEP, f" {FIELD_SEP} ") + " "
    if marks:
        cased = cased.replace(ACRO_MARK, "")
    # Squeeze runs of spaces so word N follows exactly N+1 spaces; a few replace() passes beat split/join 5x.
    while "  " in cased:
        cased = cased.replace("  ", " ")
    b0 = cased.index(FIELD_SEP)
    s1 = len(texts[0]) + 1
    starts = (0, s1, s1 + len(texts[1]) + 1)
    return Prepared(texts, skel, starts, cased, cased.lower(), (b0, cased.index(FIELD_SEP, b0 + 1)), marks)
