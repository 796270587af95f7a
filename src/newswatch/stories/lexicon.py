"""Languages of news text, for story grouping: which language an item is written in, that language's function
words, and how common each of its words is before the stream has taught anything.

Owns the two outside sources the story features lean on, both read in the worker processes only:

* **language identification** (:mod:`newswatch.shared.language`), mapped to the languages that have word
  frequencies;
* **word frequencies** from ``wordfreq`` (many sources per language: subtitles, news, Wikipedia, books, the web),
  turned into a *prior document probability* per word: the chance that a news report of about
  :data:`DOC_TOKENS` words contains it, ``1 - exp(-DOC_TOKENS * frequency)``.  The recording process blends
  these priors with the document frequencies it learns (:mod:`newswatch.stories.profile`), so a fresh store
  already knows that "government" is common and "Boehler" is not.

A language's **function words** (its :data:`FUNCTION_WORDS` most frequent words: articles, prepositions,
pronouns, auxiliaries, and in every language a few very common verbs) are never evidence that two reports
tell one event; English's short stop list (:mod:`newswatch.stories.tokens`) applies to every item besides.

Memory is bounded: a lexicon keeps only words at least as common as :data:`MIN_ZIPF` (about 30,000 per
language, a few MB); rarer words share the floor prior of 0 (they are as telling as any name).  At most one
lexicon per supported language is kept, each loaded on first use (about 0.2 s).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from newswatch.shared.language import DETECT_CHARS, detect_language

__all__ = ["DETECT_CHARS", "SUPPORTED", "Lexicon", "language_of", "lexicon"]

FUNCTION_WORDS = 120  # a language's most frequent words: none of them tells one event from another
MIN_ZIPF = 3.0  # words rarer than 1 in a million are kept out of the lexicon: their prior is the floor, 0
DOC_TOKENS = 300  # words of a typical report, for turning word frequencies into document probabilities

# wordfreq's languages written with spaces between words (the tokeniser splits on spaces: Chinese and Japanese
# text would be one term per sentence, so it gets no lexicon rather than a wrong one).
SUPPORTED = frozenset(
    "ar bg bn ca cs da de el en es fa fi fil fr he hi hu id is it ko lt lv mk ms nb nl pl pt ro ru sh sk sl "
    "sv ta tr uk ur vi".split()
)
_ALIASES = {"no": "nb", "nn": "nb", "hr": "sh", "sr": "sh", "bs": "sh", "tl": "fil"}


def language_of(text: str) -> str:
    """The language of ``text`` when it is one with a lexicon (see :data:`SUPPORTED`), else ``""``."""
    code = detect_language(text)
    code = _ALIASES.get(code, code)
    return code if code in SUPPORTED else ""


@dataclass(frozen=True, slots=True)
class Lexicon:
    """One language's function words and prior document probabilities (see the module docstring)."""

    lang: str
    function: frozenset[str]
    prior: dict[str, float]

    def p_doc(self, term: str) -> float:
        """The prior probability that a report contains ``term`` (0.0 for words rarer than :data:`MIN_ZIPF`)."""
        return self.prior.get(term, 0.0)


_EMPTY = Lexicon("", frozenset(), {})


@functools.lru_cache(maxsize=len(SUPPORTED) + 1)
def lexicon(lang: str) -> Lexicon:
    """The lexicon of ``lang`` (an empty one for ``""`` or a language without word frequencies)."""
    if lang not in SUPPORTED:
        return _EMPTY
    import wordfreq

    from newswatch.stories.tokens import stem

    floor = 10 ** (MIN_ZIPF - 9)
    prior: dict[str, float] = {}
    for word, freq in wordfreq.get_frequency_dict(lang, wordlist="best").items():
        if freq < floor:
            continue
        p = round(-math.expm1(-DOC_TOKENS * freq), 6)
        # Terms are stemmed as the tokeniser stems them; a stem takes its most common form's probability.
        for form in {word, stem(word)}:
            if p > prior.get(form, 0.0):
                prior[form] = p
    top = wordfreq.top_n_list(lang, FUNCTION_WORDS, wordlist="best")
    function = frozenset({*top, *map(stem, top)})
    return Lexicon(lang, function, prior)
