"""Words of news text: the tokeniser story grouping counts terms with.

Owns turning text into (term, kind) counts fast enough for every matched item: text is normalised with C-speed
bytes operations, one ``bytes.split`` yields the written forms, and each distinct form is classified once per
process (news vocabulary repeats) into a term and whether that use of it is a name or a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["NAME", "NUMBER", "PLAIN", "START", "normalise", "term_counts", "tokenize"]

# A short English stop list: function words carry no event information and would dominate raw counts.
_STOPWORD_TEXT = """a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having he
her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now
of off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves said says say told according one
two new last first year years yesterday today week since may might must shall us mr mrs ms via per around"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Tokenising ----------------------------------------------------------------------------------------------------
#
# Feature extraction must cost well under a millisecond per article in pure Python, and a Unicode word regex
# alone costs about half of that.  So text is normalised with C-speed bytes operations: punctuation becomes a
# space, sentence ends become a marker byte glued to the next word, whitespace collapses; then one
# ``bytes.split`` yields the written forms, and each distinct form is classified once per process (news
# vocabulary repeats) into a term and whether that use of it is a name.

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
PLAIN, NAME, NUMBER = 0, 1, 2


def normalise(text: str) -> bytes:
    """Words separated by spaces, ``START`` glued to each sentence's first word."""
    if not text.isascii():
        for old, new in _UNICODE_SUBS:
            if old in text:
                text = text.replace(old, new)
    raw = b" ".join(text.encode("utf-8", "replace").translate(_BYTES_TABLE).split())
    # A full stop ends a sentence when a space follows ("U.S. officials" starts one too, as it always did).
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
        # Numbers of 2+ digits (years, counts, scores) are telling; "3" or "4th" are not.
        return (word, NUMBER) if len(word) >= 2 and word.isdigit() else ("", PLAIN)
    if len(word) >= 2 and word.isupper():
        return word.lower(), NAME  # an acronym is a name wherever it stands ("US" is not "us")
    lower = word.lower()
    if lower in _STOPWORDS or len(lower) < 2:
        return "", PLAIN
    if word[0].isupper() and not start:
        return lower, NAME  # names are never stemmed: "Hamas" must not become "hama"
    if len(lower) > 4 and lower.endswith("ies"):
        lower = lower[:-3] + "y"
    elif len(lower) > 3 and lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        lower = lower[:-1]
    return lower, PLAIN


class _Forms(dict[bytes, int]):
    """Written form -> ``term id << 2 | kind of this use`` (0: no term).

    A dict whose ``__missing__`` classifies unseen forms, so a whole article is looked up with one C-level
    ``map`` and only new forms cost Python code.  Term ids index ``vocab`` and mean nothing outside it.
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


def tokenize(text: str) -> list[tuple[str, bool]]:
    """Split text into (term, is_name) pairs; stop words and single characters are dropped.

    A name is a capitalised word that does not start a sentence, or an acronym ("U.S.", "NATO"); names are not
    stemmed ("Hamas" must not become "hama").  Other words lose a plural "s" so "hostages" meets "hostage".
    (:func:`term_counts` counts the same terms without building this list.)
    """
    forms = _forms()
    codes = [forms[w] for w in normalise(text).split()]
    return [(forms.vocab[c >> 2], c & 3 == NAME) for c in codes if c]


def term_counts(words: Sequence[bytes]) -> tuple[list[str], Any, Any]:
    """Distinct terms, their counts, and their kinds (a name if any use is one), in no useful order."""
    forms = _forms()
    codes = np.fromiter(map(forms.__getitem__, words), dtype=np.int64, count=len(words))
    # Group by term id with one sort (np.unique costs more on arrays this small); codes below 4 carry no term.
    # Within a group the kinds sort ascending, so the last use of a term tells whether any use was a name.
    codes = np.sort(codes)
    codes = codes[np.searchsorted(codes, 4) :]
    if not len(codes):
        return [], codes, codes
    ids = codes >> 2
    starts = np.flatnonzero(np.concatenate([np.ones(1, dtype=bool), ids[1:] != ids[:-1]]))
    ends = np.concatenate([starts[1:], np.full(1, len(ids), dtype=starts.dtype)])
    terms = list(map(forms.vocab.__getitem__, ids[starts].tolist()))
    return terms, ends - starts, codes[ends - 1] & 3
