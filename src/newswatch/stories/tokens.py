"""Words of news text: the tokeniser story grouping counts terms with, each term with its kind.

Owns turning text into term codes fast enough for every matched item (it runs in the worker processes): text
is normalised with C-speed bytes operations (Title Case headlines lower-cased, punctuation to spaces, a marker
glued to each sentence's first word), one ``bytes.split`` yields the written forms, and each distinct form is
classified once per process (news vocabulary repeats) into a term and its kind: plain word, name (capitalised
mid-sentence, or an acronym), number or year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["NAME", "NUMBER", "PLAIN", "START", "YEAR", "normalise", "selection_terms", "stem", "term_codes"]

PLAIN, NAME, NUMBER, YEAR = 0, 1, 2, 3

# A short English stop list: function words, reporting verbs and calendar words carry no event information
# (other languages' come from their lexicon, newswatch.stories.lexicon).
_STOPWORD_TEXT = """a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having he
her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now
of off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves said says say told according one
two new last first year years yesterday today week since may might must shall us mr mrs ms via per around
monday tuesday wednesday thursday friday saturday sunday january february april june july august september
october november december"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Sentence-initial capitals prove nothing, and neither do these words capitalised mid-sentence in headlines, nor
# in capitals as a wire's label ("UPDATE 1-", "BREAKING:").
_NOT_NAMES = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday update refile breaking exclusive live video watch "
    "analysis opinion corrected correction".split()
)

START = b"\x02"  # glued to the first word of a sentence: capitalised there, a word is no evidence of a name
_TABLE = bytearray(range(256))
for _c in range(32):
    _TABLE[_c] = 32
for _c in b"\n\r\t!?:|":
    _TABLE[_c] = START[0]
for _c in b'"#$%&()*+,-/;<=>@[\\]^_`{}~\x7f':
    _TABLE[_c] = 32
_BYTES_TABLE = bytes(_TABLE)
# Non-ASCII punctuation and spaces that would otherwise stick to words (looked for only in non-ASCII text).
_UNICODE_SUBS = (
    *((c, " ") for c in "\xa0\u2002\u2003\u2009\u200a\u200b\u202f“”‘«»„‹›—–‐‑…¿¡′″·"),
    ("•", "\n"),
)
_STRIP = ".'’\""


_HEADLINE_MAX_CHARS = 160  # longer lines are paragraphs: not worth checking word by word
_LOWER_START = re.compile(r"(?<!\S)[a-z]")


def _headline_case(line: str) -> bool:
    """True for a line in Title Case ("Microsoft Rushes Emergency Fix"): its capitals prove no names."""
    if len(line) > _HEADLINE_MAX_CHARS or len(_LOWER_START.findall(line)) > 6:
        return False  # a paragraph, or a sentence: too many words in lower case (cheap C-level checks)
    words = [w for w in line.split() if w[0].isalpha() and w.lower() not in _STOPWORDS]
    if len(words) < 3:
        return False
    caps = sum(1 for w in words if w[0].isupper() and not w.isupper())
    return caps >= 0.75 * len(words)


_HEADLINE_LINES = 4  # headlines and kickers stand at the top; lines further down are not checked (cost)


def _lower_headlines(text: str) -> str:
    """Lower-case every Title Case line among the first few but its acronyms, so only real names stay
    capitalised."""
    lines = text.split("\n", _HEADLINE_LINES)
    for i, line in enumerate(lines[:_HEADLINE_LINES]):
        if _headline_case(line):
            lines[i] = " ".join(w if w.isupper() else w.lower() for w in line.split())
    return "\n".join(lines)


def normalise(text: str) -> bytes:
    """Words separated by single spaces, ``START`` glued to each sentence's first word.

    Title Case lines are lower-cased first (acronyms kept): in a headline a capital is no evidence of a name.
    """
    text = _lower_headlines(text)
    if not text.isascii():
        for old, new in _UNICODE_SUBS:
            if old in text:
                text = text.replace(old, new)
    raw = b" ".join(text.encode("utf-8", "replace").translate(_BYTES_TABLE).split())
    # A full stop ends a sentence when a space follows.
    raw = raw.replace(b". ", b" \x02").replace(b"\x02 ", b"\x02").replace(b"\x02", b" \x02")
    return START + raw


def _classify(raw: bytes) -> tuple[str, int]:
    """The term of a written form ("" for none) and its kind."""
    word = raw.decode("utf-8", "replace")
    start = word.startswith("\x02")
    word = word.strip("\x02").strip(_STRIP)
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if "." in word:
        word = word.replace(".", "")
    word = word.strip(_STRIP)
    if not word:
        return "", PLAIN
    if word[0].isdigit():
        if not word.isdigit() or len(word) < 2:
            return "", PLAIN  # "3", "4th", "2-1" say little
        if len(word) == 4 and word[:2] in ("19", "20"):
            return word, YEAR
        return word, NUMBER
    lower = word.lower()
    if len(word) >= 2 and word.isupper() and lower not in _NOT_NAMES:
        return word, NAME  # an acronym is a name wherever it stands, and keeps its capitals: "US" is not "us"
    if lower in _STOPWORDS or len(lower) < 2:
        return "", PLAIN
    if word[0].isupper() and not start and lower not in _NOT_NAMES:
        return lower, NAME  # names are never stemmed: "Hamas" must not become "hama"
    return stem(lower), PLAIN


def stem(lower: str) -> str:
    """A plain word's term: English plurals folded to the singular ("hostages" -> "hostage")."""
    if len(lower) > 4 and lower.endswith("ies"):
        return lower[:-3] + "y"
    if len(lower) > 3 and lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        return lower[:-1]
    return lower


def selection_terms(written: Iterable[str], lang: str = "") -> frozenset[str]:
    """The terms of words a watch matched (as written in the item), in every form an item's text in ``lang`` may
    have given them: a word mid-sentence in capitals is a name and keeps its form, elsewhere it is a plain word,
    stemmed as the item's plain words are (:func:`newswatch.stories.lexicon.plain_terms`)."""
    from newswatch.stories.lexicon import plain_terms

    out: set[str] = set()
    for raw in normalise(" ".join(written)).replace(START, b" ").split():
        word = raw.decode("utf-8", "replace")
        for form in {word, word.lower(), word[:1].upper() + word[1:]}:
            term, kind = _classify(form.encode("utf-8"))
            if term:
                out.add(term)
                if kind == PLAIN or term.isupper():
                    out.update(plain_terms([term.lower()], lang))
    return frozenset(out)


class _Forms(dict[bytes, int]):
    """Written form -> ``term id << 2 | kind of this use`` (0: no term).

    ``__missing__`` classifies unseen forms, so a whole article is looked up with one C-level ``map`` and only
    new forms cost Python code.  Term ids index ``vocab`` and mean nothing outside this process.
    """

    MAX = 300_000  # forms remembered per process: a few tens of MB at most

    def __init__(self) -> None:
        super().__init__()
        self.vocab: list[str] = [""]
        self.ids: dict[str, int] = {}

    def __missing__(self, raw: bytes) -> int:
        term, kind = _classify(raw)
        code = 0
        if term:
            tid = self.ids.get(term)
            if tid is None:
                tid = self.ids[term] = len(self.vocab)
                self.vocab.append(term)
            code = tid << 2 | kind
        self[raw] = code
        return code


_FORMS = _Forms()


def _forms() -> _Forms:
    global _FORMS
    if len(_FORMS) > _Forms.MAX:
        # Start afresh rather than clear in place: a call running in another thread keeps a consistent table.
        _FORMS = _Forms()
    return _FORMS


def term_codes(normalised: bytes) -> tuple[Any, list[str]]:
    """Sorted term codes (``id << 2 | kind``, no zeros) of normalised text, and the vocabulary they index.

    Within one term the codes sort by kind, so the last code of a term tells whether any use was a name.
    """
    forms = _forms()
    words = normalised.split()
    codes = np.fromiter(map(forms.__getitem__, words), dtype=np.int64, count=len(words))
    codes = np.sort(codes)
    return codes[np.searchsorted(codes, 4) :], forms.vocab
