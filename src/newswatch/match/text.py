"""Text normalisation and tokenisation shared by item text, query terms and entity aliases.

Owns the one definition of "a word" so that a query term, an alias and an item agree on it:

* ``clean`` turns plain text into display text: HTML entities decoded, NFKC.  Snippets and "terms as
  written" are cut from this text.
* ``fold`` maps display text character for character (``scripts.fold_char``: dashes, quotes, diacritics,
  Arabic letter variants, marks that vanish), case kept so capitalised aliases can be checked; the one
  exception to "same length" is ``ß``/``ẞ`` → ``ss``/``SS``, whose positions :func:`fold_mapped` records.
* ``tokenize`` splits folded text into words: ``U.S.`` is one word ``US``, possessives (``Hamas's``,
  ``Hamas’``) lose their ``'s``, hyphen and dash compounds (``US-Hamas``) are two words, and each character
  of a script written without spaces (Chinese, Japanese, Thai) is a word of its own.  Words inside shouting
  runs (``shouting``) are lower-cased: their capitals are no evidence for case-sensitive aliases.

An item becomes a :class:`Prepared` word stream, ``" tok tok \\x1f tok "``: every word between single
spaces, fields separated by a ``\\x1f`` token, so one Aho-Corasick pass over the lower-cased stream finds
whole words and phrases without any per-word Python work.
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import cache

from newswatch.match.scripts import (
    ACRO_MARK,
    fold_char,
    has_nospace,
    lower,
    nospace_apostrophe_re,
    split_nospace,
    word_marks,
)
from newswatch.match.shouting import without_shouting

FIELDS = ("title", "summary", "content")
FIELD_SEP = "\x1f"  # a token no key can contain, so phrases never run from the title into the summary

# Words are found without a per-word regex: a few length-preserving rewrites, then every character that cannot
# be part of a word becomes a space (str.translate on ASCII text, one regex otherwise) and str.split() does the
# rest.  Length preservation keeps offsets valid against the folded text for snippets.
#   * an acronym's inner dots (U.S., U.N.R.W.A) become ACRO_MARK, a word character removed from the stream;
#   * an apostrophe survives only between letters (O'Brien, don't); a possessive 's (Hamas's) and a dangling
#     apostrophe (Hamas’) become spaces;
#   * combining marks that belong to their word (Thai, Devanagari) are word characters, though not \\w.
_ACRO_DOT_RE = re.compile(r"\.(?<=(?<!\w)[^\W\d_]\.)(?=[^\W\d_](?!\w))")
_APOS_RE = re.compile(r"'(?:s(?!\w)|(?!\w)|(?<!\w'))")
_WORD_CHARS = {chr(c) for c in range(128) if chr(c).isalnum()} | {"_", "'", ACRO_MARK}
_ASCII_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if chr(c) not in _WORD_CHARS})
_SHARP_S = re.compile("[ßẞ]")
_SHARP_S_FOLDS = {"ß": "ss", "ẞ": "SS"}


def clean(text: str) -> str:
    """Display text: HTML entities decoded, NFKC."""
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text


# Typography that news copy is full of, folded first by plain replace() (all fold to ASCII, so order is free).
_COMMON_FOLDS = tuple((ch, fold_char(ch)) for ch in "’“”‘—–")


def fold(text: str) -> str:
    """Dashes, quotes, diacritics and script variants folded, case kept (see :func:`fold_mapped`)."""
    return fold_mapped(text)[0]


def fold_mapped(text: str) -> tuple[str, tuple[int, ...]]:
    """``text`` folded, and the positions in it of characters with no counterpart in ``text``.

    Folding maps each character to one, except ``ß`` → ``ss``: the second ``s`` of each is recorded, so that
    a folded offset ``p`` is ``p - bisect_left(grown, p)`` in ``text``.  Almost always ``grown`` is empty.
    """
    if text.isascii():
        return text, ()
    # News copy repeats a handful of non-ASCII characters (’ “ ” —): one replace() per character beats a
    # Python call per occurrence, and most items are ASCII afterwards.
    for ch, folded in _COMMON_FOLDS:
        if ch in text:
            text = text.replace(ch, folded)
    if text.isascii():
        return text, ()
    # Sequential replacing is only right when no character folds into another one being replaced, which
    # fold_char's idempotence rules out (a property test checks it); one translate() pass would be safe anyway.
    chars = {ch for ch in set(text) if not ch.isascii()}
    folds = [(ch, f) for ch in chars if (f := fold_char(ch)) != ch]
    replaced = {ch for ch, _ in folds}
    if any(f in replaced for _, f in folds):
        text = text.translate({ord(ch): f for ch, f in folds})
    else:
        for ch, f in folds:
            text = text.replace(ch, f)
    if "ß" not in chars and "ẞ" not in chars:
        return text, ()
    grown = tuple(m.start() + i + 1 for i, m in enumerate(_SHARP_S.finditer(text)))
    return _SHARP_S.sub(lambda m: _SHARP_S_FOLDS[m.group()], text), grown


def _blank_apostrophe(m: re.Match[str]) -> str:
    return " " * len(m.group())


@cache
def _separator_re(keep: str) -> re.Pattern[str]:
    """Every character that is not part of a word (plus ``keep``), for non-ASCII text."""
    return re.compile(f"[^\\w'{ACRO_MARK}{keep}{word_marks()}]")


def _apostrophes(folded: str) -> str:
    """Apostrophes that join nothing blanked: possessive 's, dangling ones, those next to Chinese or Thai."""
    folded = _APOS_RE.sub(_blank_apostrophe, folded)
    if not folded.isascii() and "'" in folded:
        folded = nospace_apostrophe_re().sub(" ", folded)
    return folded


def skeleton(folded: str) -> str:
    """Folded text with every non-word character a space, same length; its words are ``.split()``."""
    if "." in folded:
        folded = _ACRO_DOT_RE.sub(ACRO_MARK, folded)
    if "'" in folded:
        folded = _apostrophes(folded)
    return folded.translate(_ASCII_SEPARATORS) if folded.isascii() else _separator_re("").sub(" ", folded)


def tokenize(text: str, case_evidence: bool = True) -> list[str]:
    """The words of ``text`` (acronym dots and possessives removed), in their case.

    With ``case_evidence`` (item text), words inside shouting runs are lower-cased, as the matcher sees them;
    without (an alias as configured), capitals are kept as written.
    """
    folded = fold(clean(text))
    skel = skeleton(folded)
    if case_evidence:
        skel = without_shouting(folded, skel)
    words = skel.replace(ACRO_MARK, "")
    if not folded.isascii() and has_nospace(words):
        words = split_nospace(words)
    return words.split()


def key_of(tokens: list[str]) -> str:
    """The automaton key of a word sequence: lower-cased, one space either side of every word."""
    return " " + lower(" ".join(tokens)) + " "


# The three fields are normalised as one string, "title\x1fsummary\x1fcontent": one call per step instead of
# three.  FIELD_SEP is a non-word character for every regex above, exactly like the ends of a string, so the
# joined skeleton is the three skeletons joined; the stream tables below keep it instead of blanking it.
# ASCII text is translated as bytes: a 256-byte table is several times faster than str.translate's dict.
_STREAM_SEPARATORS = bytes(
    c if chr(c) in _WORD_CHARS or chr(c) == FIELD_SEP or c >= 128 else 32 for c in range(256)
)
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
        folded = _apostrophes(folded)
    ascii_only = folded.isascii()
    if ascii_only:
        skel = folded.encode("ascii").translate(_STREAM_SEPARATORS).decode("ascii")
    else:
        skel = _separator_re(FIELD_SEP).sub(" ", folded)
    if ACRO_MARK in skel:
        skel = _LONE_MARKS_RE.sub(_blank, skel)
    return skel


def _stream(skel: str, marks: bool, nospace: bool) -> str:
    """The word stream of a skeleton: ``" tok tok \\x1f tok "``, case kept."""
    stream = " " + skel.replace(FIELD_SEP, f" {FIELD_SEP} ") + " "
    if marks:
        stream = stream.replace(ACRO_MARK, "")
    if nospace:
        stream = split_nospace(stream)
    # Squeeze runs of spaces so word N follows exactly N+1 spaces; a few replace() passes beat split/join 5x.
    while "  " in stream:
        stream = stream.replace("  ", " ")
    return stream


@dataclass(slots=True)
class Prepared:
    """One item as a word stream, plus what is needed to map hits back to its display text.

    ``skel`` is the skeleton of ``folded``, the three fields folded and joined by FIELD_SEP: the two are aligned
    character for character, and with the display texts too, but for the characters listed in ``grown``.
    Display positions are found per hit, on demand (:meth:`locate_word`): listing every word's offsets costs
    an object per word, which is most of an item's budget, and only the few hits of a matching watch are shown.
    """

    texts: tuple[str, str, str]  # cleaned title, summary, content
    folded: str  # the fields folded and joined by FIELD_SEP
    skel: str  # the skeleton of ``folded``
    starts: tuple[int, int, int]  # offset of each field in skel
    stream: str  # " Tok Tok \x1f Tok " (diacritics folded, case as written)
    lower: str  # the stream lower-cased (scripts.lower), same length
    bounds: tuple[int, int]  # stream offsets of the two field separators
    marks: bool  # whether skel holds ACRO_MARKs (acronym dots, invisible characters, vanished marks)
    nospace: bool  # whether the text holds scripts written without spaces (a word per character)
    grown: tuple[int, ...]  # folded positions with no display counterpart (the second s of a folded ß)
    _cased: str | None = None
    # locate_word's cache, and per field the last word it located: (stream offset, word index, skel offset)
    _located: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    _cursors: list[tuple[int, int, int] | None] = field(default_factory=lambda: [None, None, None])

    @property
    def cased(self) -> str:
        """The stream with case as evidence: words of shouting runs lower-cased (``shouting``).

        Built on first use: only items in which a case-sensitive key occurred need it.
        """
        if self._cased is None:
            skel = without_shouting(self.folded, self.skel)
            self._cased = self.stream if skel is self.skel else _stream(skel, self.marks, self.nospace)
        return self._cased

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
        # A lower bound: the letters, plus one space after each word before the last one (in scripts written
        # without spaces, words may follow each other directly).
        pos = p0 + letters + (0 if self.nospace else max(k - k0 - 1, 0))
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
        if self.nospace:
            end = self._word_end(start, self.lower.find(" ", offset) - offset)
        else:
            end = _WORD_RE.match(skel, start).end()  # type: ignore[union-attr]
        self._cursors[fld] = (offset, k, start)
        base = self.starts[fld]
        if self.grown:
            start, end, base = self._display(start), self._display(end), self._display(base)
        text = self.texts[fld]
        if marks and text[end - base : end - base + 1] == "." and "." in text[start - base : end - base]:
            end += 1  # show an acronym with its final dot ("U.S." rather than "U.S")
        got = self._located[offset] = (fld, start - base, end - base, k)
        return got

    def _word_end(self, start: int, letters: int) -> int:
        """The skeleton offset after ``letters`` letters from ``start`` and the marks that follow them (a word
        of a script written without spaces ends where the next character starts)."""
        skel, end = self.skel, start + letters
        if self.marks and ACRO_MARK in skel[start:end]:
            end, seen = start, 0
            while seen < letters:
                seen += skel[end] != ACRO_MARK
                end += 1
        while end < len(skel) and skel[end] == ACRO_MARK:
            end += 1
        return end

    def _display(self, pos: int) -> int:
        """A folded offset as an offset in the display text (see ``fold_mapped``)."""
        return pos - bisect_left(self.grown, pos)


def prepare(title: str, summary: str, content: str) -> Prepared:
    """Clean, fold and tokenise an item's three fields into one word stream."""
    texts = (clean(title), clean(summary), clean(content))
    joined = FIELD_SEP.join(t.replace(FIELD_SEP, " ") if FIELD_SEP in t else t for t in texts)
    folded, grown = fold_mapped(joined)
    skel = _stream_skeleton(folded)
    marks = ACRO_MARK in skel
    nospace = not folded.isascii() and has_nospace(skel)
    stream = _stream(skel, marks, nospace)
    b0 = stream.index(FIELD_SEP)
    s1 = folded.index(FIELD_SEP)
    starts = (0, s1 + 1, folded.index(FIELD_SEP, s1 + 1) + 1)
    return Prepared(
        texts,
        folded,
        skel,
        starts,
        stream,
        lower(stream),
        (b0, stream.index(FIELD_SEP, b0 + 1)),
        marks,
        nospace,
        grown,
    )
