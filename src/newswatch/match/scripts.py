"""What each writing system needs before matching: the per-character fold, case, and word shapes by script.

Owns the script knowledge of the matcher (issue 15); ``text`` applies it the same way to item text, query
words and aliases.

* :func:`fold_char` maps one character to one character (offsets into the text stay valid):
  typography (dashes, quotes) to ASCII; diacritics of Latin, Greek and Cyrillic letters dropped (``é`` → ``e``,
  Greek tonos, ``ё`` → ``е`` but not ``й``, ``ї``, ``ў``, which are letters of their own; Japanese ``が`` stays
  ``が``); Arabic alef, yeh and teh marbuta variants unified
  (``أ إ آ ٱ`` → ``ا``, ``ى ی ئ`` → ``ي``, ``ة`` → ``ه``), Greek final ``ς`` → ``σ``.  Characters that must
  vanish without splitting the word around them become :data:`ACRO_MARK`, a joiner the word stream drops:
  invisible characters (soft hyphen, zero-width joiners, variation selectors, every format character such as
  the bidi controls and tag characters, blank letters such as the Hangul filler), Arabic harakat and tatweel,
  Hebrew points and cantillation, and stray combining accents.  Other combining marks (Thai vowels and tone
  marks, Devanagari vowel signs) are part of their word: :func:`word_marks` lists them for the tokeniser.
* :func:`lower` is the case fold of the word stream and of every key: ``str.lower`` (length-preserving after
  :func:`fold_char`) with Greek final sigma unified.  ``ß`` → ``ss`` changes the length and is done by
  ``text.fold`` with a record of where.
* Scripts written without spaces (Chinese, Japanese, Thai): :func:`split_nospace` makes each of their
  characters a word of its own, so an alias matches inside a run of them and NEAR counts characters there.
* Arabic clitics: :func:`clitic_forms` spells an alias with the conjunctions و ف, the prepositions ب ل and the
  article ال attached, as they are written (``وحماس``, ``والحماس``, ``للحماس``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

ACRO_MARK = "\x00"  # a word character that joins what is around it and is dropped from the word stream

_PUNCT = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc\u02bb\uff07", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
}
# Invisible characters would split words ("Ha&shy;mas" in HTML feeds): soft hyphen, zero-width space, non-joiner
# (inside Persian words) and joiner, word joiner, BOM, and the variation selectors (emoji and CJK variants).
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff") | {
    chr(c) for r in (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0)) for c in r
}
# Characters that show as nothing, or as a blank, but are letters or symbols to Unicode, so a word written with
# one inside ("Ha\u3164mas") would read as two (issue 21 point 17): the Hangul fillers (U+3164 and U+FFA0 become
# U+1160 under NFKC) and the blank Braille pattern.  Every format character (category Cf: LRM/RLM, the bidi
# embeddings, overrides and isolates, invisible operators such as U+2062, U+180E, the tag characters, the Arabic
# letter mark) vanishes too, by category in fold_char.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_LETTERS = {
    # Arabic: alef with hamza above/below, madda, wasla -> alef; alef maksura, Farsi yeh, yeh with hamza ->
    # yeh; teh marbuta -> heh; tatweel (a stretching stroke) vanishes.
    **dict.fromkeys("أإآٱ", "ا"),
    **dict.fromkeys("ىیئ", "ي"),
    "ة": "ه",
    "\u0640": ACRO_MARK,
    "ς": "σ",
    # Cyrillic letters that look like accented ones but are letters of their own: kept.
    **{ch: ch for ch in "йЙїЇўЎ"},
}
# Combining marks that are dropped (Mn/Me only): accents in the combining blocks, Cyrillic titlo and friends,
# Hebrew points and cantillation, Arabic harakat, shadda, sukun, superscript alef and Quranic marks.
_STRIPPED_MARKS = (
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x0591, 0x05C7),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06ED),
    (0x08D3, 0x08FF),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)
# Characters of scripts written without spaces between words: Thai, Hiragana, Katakana (with the prolonged
# sound mark and its phonetic extensions), CJK ideographs (unified, extension A, compatibility, extensions B
# and on) and the ideographic iteration marks 々 〆 〇.  A combining mark of these scripts stays with the character
# before it.
_NOSPACE = (
    "\u0e00-\u0e7f\u3005-\u3007\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0003134f"
)
_NOSPACE_MARKS = "\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u3099\u309a"  # Thai vowels and tone marks, kana voicing
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


# Scripts whose accented letters lose their accents (by canonical decomposition): Latin, Greek, Cyrillic and
# Arabic (hamza forms).  Elsewhere a decomposable character is a letter of its own: Japanese が is not か.
_ACCENTED_SCRIPTS = (
    (0x00C0, 0x052F),
    (0x0600, 0x06FF),
    (0x1E00, 0x1FFF),
    (0x2C60, 0x2C7F),
    (0xA720, 0xA7FF),
    (0xAB30, 0xAB6F),
)


def _stripped(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _STRIPPED_MARKS)


def _accented_script(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _ACCENTED_SCRIPTS)


@lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    """One character folded to one character (see the module docstring)."""
    if ch in _PUNCT:
        return _PUNCT[ch]
    if ch in _INVISIBLE or ch in _BLANK_LETTERS:
        return ACRO_MARK
    if ch in _LETTERS:
        return _LETTERS[ch]
    category = unicodedata.category(ch)
    if category == "Cf":
        return ACRO_MARK
    if category in ("Mn", "Me") and _stripped(ord(ch)):
        return ACRO_MARK
    if category[0] == "M":  # a mark that is part of its word (Thai, Indic): kept as it is
        return ch
    base = ch
    if _accented_script(ord(ch)):
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if len(base) != 1:
            base = ch
    # The word stream is lower-cased as a whole; a character whose lower case is longer would shift every
    # offset after it, so such (very rare) characters are folded to one lower-case character here.
    return base if len(base.lower()) == 1 else base.lower()[0]


def lower(text: str) -> str:
    """The case fold of the word stream and of keys: lower case, final sigma as σ; same length as ``text``."""
    low = text.lower()
    if "ς" in low:  # str.lower writes a capital sigma at a word's end as ς
        low = low.replace("ς", "σ")
    return low


@cache
def word_marks() -> str:
    """A regex class body of the combining marks that are part of a word (what ``fold_char`` keeps).

    Python's ``\\w`` does not include marks, so without them a Thai or Devanagari word would fall apart at
    each vowel sign.  Built on first use from the running Python's Unicode tables.
    """
    ranges: list[tuple[int, int]] = []
    category = unicodedata.category
    # The basic multilingual plane only: a class reaching beyond it cannot be a bitmap, and the regex engine
    # would test each character against hundreds of ranges (three times slower on non-Latin text).
    for cp in range(0x0300, 0x10000):
        cat = category(chr(cp))
        if cat[0] != "M" or (cat != "Mc" and _stripped(cp)) or chr(cp) in _INVISIBLE:
            continue
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return "".join(chr(lo) if lo == hi else f"{chr(lo)}-{chr(hi)}" for lo, hi in ranges)


_NOSPACE_RUN = re.compile(f"[{_NOSPACE}]+")
_NOSPACE_MARK = re.compile(f"[{_NOSPACE_MARKS}]")
_NOSPACE_WORD = re.compile(f"[{_NOSPACE}][{_NOSPACE_MARKS}]*")


def split_nospace(text: str) -> str:
    """``text`` with a space on either side of each character of a script written without spaces.

    Such a word is one character with the combining marks that follow it (Thai vowels and tone marks, kana
    voicing marks).  One Python call per run of such characters, the characters spaced in C.
    """
    return _NOSPACE_RUN.sub(_spaced_run, text)


def _spaced_run(m: re.Match[str]) -> str:
    run = m.group()
    if _NOSPACE_MARK.search(run):
        return " " + " ".join(_NOSPACE_WORD.findall(run)) + " "
    return " " + " ".join(run) + " "


@cache
def nospace_apostrophe_re() -> re.Pattern[str]:
    """An apostrophe next to a character of a script written without spaces: it joins nothing there."""
    return re.compile(f"'(?=[{_NOSPACE}])|(?<=[{_NOSPACE}])'")


def has_nospace(text: str) -> bool:
    return _NOSPACE_RUN.search(text) is not None


def is_arabic(word: str) -> bool:
    return _ARABIC.search(word) is not None


_CONJUNCTIONS = ("", "و", "ف")
_PREPOSITIONS = ("", "ب", "ل")
_ARTICLE = "ال"


def clitic_forms(word: str) -> list[str]:
    """``word`` with every combination of a conjunction, a preposition and the article attached (not itself).

    ل before the article drops the article's alef, as written: ل + الحماس → للحماس.
    """
    bases = [word] if word.startswith(_ARTICLE) else [word, _ARTICLE + word]
    forms: dict[str, None] = {}
    for base in bases:
        for conj in _CONJUNCTIONS:
            for prep in _PREPOSITIONS:
                if prep == "ل" and base.startswith(_ARTICLE):
                    forms[conj + "ل" + base[1:]] = None
                else:
                    forms[conj + prep + base] = None
    forms.pop(word, None)
    return list(forms)
