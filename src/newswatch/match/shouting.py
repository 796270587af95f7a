"""Shouting: where text is written in capitals, capitals are no evidence of an acronym (issue 11 point 11).

Owns the rule that keeps ``@us`` (alias ``US``, case-sensitive because written in capitals) out of a headline
such as "HAMAS TOLD US TO WAIT".  A *shouting run* is a stretch of one field where

* no word has a lower-case letter (words without cased letters, such as numbers or Chinese, neither break the
  run nor count), and
* words follow each other with only spaces, commas, quotes, ``&``, ``/``, hyphens inside compounds and the dots
  of acronyms between them: a sentence end (``.`` ``!`` ``?``), ``:`` ``;``, brackets, a spaced dash or a line
  break ends the run, so a dateline ("KUALA LUMPUR — US officials said") does not shout over the sentence;

and which holds at least :data:`SHOUT_MIN_WORDS` words with capitals, :data:`SHOUT_MIN_LONG_WORDS` of them with
:data:`SHOUT_LONG_WORD` letters in a row (so a list of acronyms, "US, UK, EU and NATO", is not shouting).

Inside a shouting run every word is treated as lower case for case-sensitive aliases, so they do not match
there (a case-insensitive alias still does).  A word written with acronym dots (``U.S.``) keeps its capitals:
nobody writes the pronoun "us" as "U.S.", even when shouting, so the dots are evidence the capitals are not.
The rule applies to Latin, Greek and Cyrillic alike (``ХАМАС`` in "ПЕРЕГОВОРЫ ЛИДЕРОВ С ХАМАС").
"""

from __future__ import annotations

import re
from functools import cache

from newswatch.constants import SHOUT_LONG_WORD, SHOUT_MIN_LONG_WORDS, SHOUT_MIN_WORDS
from newswatch.match.scripts import ACRO_MARK

# Between two words of a run: spaces, commas, quotes (folded to ASCII), &, /, a hyphen inside a compound
# (US-HAMAS), an acronym's inner dot (U.S) or its final dot when another word follows (U.S. ENVOY).
_SEP = r"""(?:[ \t,'"&/]|(?<=\w)-(?=\w)|\.(?=\w)|(?<=\.\w)\.)+"""
_WORD_IN_RUN = re.compile(r"(?:\w|\x00)+")
_LETTERS = re.compile(r"[^\W\d_]+")
# A cheap necessary condition on ASCII text (most items): SHOUT_MIN_LONG_WORDS runs of SHOUT_LONG_WORD capitals,
# found by translating capitals to "A" and searching bytes, a few microseconds where the regex takes tens.
_CAPITALS = bytes.maketrans(bytes(range(65, 91)), b"A" * 26)
_LONG_CAPITALS = b"A" * SHOUT_LONG_WORD


@cache
def _run_re(ascii_only: bool) -> re.Pattern[str]:
    """Runs of at least two words without lower-case letters; the counts are checked in Python."""
    # Non-ASCII text: every lower-case letter Python knows (the class is built once, on first use).
    lower_letters = "a-z" if ascii_only else "".join(chr(c) for c in range(0x10000) if chr(c).islower())
    word = rf"(?:[^\W{lower_letters}]|\x00)+(?![\w\x00])"
    # The first word starts with a plain character class (its start checked by a look-behind after it), so
    # the regex engine can skip ahead to candidate characters instead of trying every position.
    first = rf"[^\W{lower_letters}](?<![\w\x00].)(?:[^\W{lower_letters}]|\x00)*(?![\w\x00])"
    return re.compile(rf"{first}(?:{_SEP}{word})+")


def _may_shout(folded: str) -> bool:
    if not folded.isascii():
        return True
    shape = folded.encode("ascii").translate(_CAPITALS)
    pos = 0
    for _ in range(SHOUT_MIN_LONG_WORDS):
        pos = shape.find(_LONG_CAPITALS, pos)
        if pos < 0:
            return False
        pos += len(_LONG_CAPITALS)
        # Past the rest of these capitals: the next run found is another word.
        while pos < len(shape) and shape[pos] == 65:
            pos += 1
    return True


def shouting_runs(folded: str) -> list[tuple[int, int]]:
    """(start, end) of every shouting run in folded text (several fields may be joined by ``\\x1f``)."""
    if not _may_shout(folded):
        return []
    return [m.span() for m in _run_re(folded.isascii()).finditer(folded) if _shouts(m.group())]


def _shouts(run: str) -> bool:
    """Whether a run of words without lower-case letters has enough capitals (stops as soon as it knows)."""
    capitals = long_words = 0
    for m in _WORD_IN_RUN.finditer(run):
        word = m.group()
        if word == word.lower():  # no capitals: a number, or a script without case
            continue
        capitals += 1
        long_words += max(map(len, _LETTERS.findall(word)), default=0) >= SHOUT_LONG_WORD
        if capitals >= SHOUT_MIN_WORDS and long_words >= SHOUT_MIN_LONG_WORDS:
            return True
    return False


def without_shouting(folded: str, skel: str) -> str:
    """``skel`` (the skeleton of ``folded``, same length) with the words of shouting runs in lower case,
    except words written with acronym dots."""
    runs = shouting_runs(folded)
    if not runs:
        return skel
    parts, pos = [], 0
    for start, end in runs:
        piece = skel[start:end]
        low = piece.lower()
        if len(low) != len(piece):  # cannot happen after folding; keep the case rather than shift offsets
            continue
        parts.append(skel[pos:start])
        done = 0
        # Acronym dots are marks in the skeleton: only words holding one need a look at the folded text.
        for w_start, w_end in _marked_words(piece):
            if "." in folded[start + w_start : start + w_end]:
                parts += [low[done:w_start], piece[w_start:w_end]]
                done = w_end
        parts.append(low[done:])
        pos = end
    parts.append(skel[pos:])
    return "".join(parts)


def _marked_words(piece: str) -> list[tuple[int, int]]:
    """(start, end) of every word of a skeleton piece that holds an acronym mark, in order.

    Found from the marks outwards with str.find, not with a regex: ``[^ ]*\x00[^ ]*`` re-read a long word
    without marks from each of its characters (a 24 KB "HAMAS'HAMAS'…" took seconds, issue 21).
    """
    # One separator to look for (same length), so each look stops at the edge of the word it is in.
    flat = piece.replace("\x1f", " ")
    spans: list[tuple[int, int]] = []
    mark = flat.find(ACRO_MARK)
    while mark >= 0:
        end = flat.find(" ", mark)
        end = len(flat) if end < 0 else end
        spans.append((flat.rfind(" ", 0, mark) + 1, end))
        mark = flat.find(ACRO_MARK, end)
    return spans
