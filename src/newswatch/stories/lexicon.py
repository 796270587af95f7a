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
pronouns, auxiliaries, and in every language a few very common verbs; and its names of weekdays and months,
from Babel's CLDR data) are never evidence that two reports tell one event; English's short stop list
(:mod:`newswatch.stories.tokens`) applies to every item besides.

Memory is bounded: a lexicon keeps only words at least as common as :data:`MIN_ZIPF` (about 30,000 per
language, a few MB); rarer words share the floor prior of 0 (they are as telling as any name).  At most one
lexicon per supported language is kept, each loaded on first use (about 0.2 s).
"""

from __future__ import annotations

import functools
import math
import re
import threading
from dataclasses import dataclass
from typing import Any

from newswatch.shared.language import DETECT_CHARS, detect_language

__all__ = [
    "DETECT_CHARS",
    "ELIDING",
    "SUPPORTED",
    "Lexicon",
    "elided",
    "language_of",
    "lexicon",
    "plain_terms",
]

FUNCTION_WORDS = 120  # a language's most frequent words: none of them tells one event from another
MIN_ZIPF = 3.0  # words rarer than 1 in a million are kept out of the lexicon: their prior is the floor, 0
DOC_TOKENS = 300  # words of a typical report, for turning word frequencies into document probabilities

# wordfreq's languages written with spaces between words (the tokeniser splits on spaces: Chinese and Japanese
# text would be one term per sentence, so it gets no lexicon rather than a wrong one).
SUPPORTED = frozenset(
    "ar bg bn ca cs da de el en es fa fi fil fr he hi hu id is it ko lt lv mk ms nb nl pl pt ro ru sh sk sl "
    "sv ta tr uk ur vi".split()
)
# Languages that elide articles and particles before a vowel ("l'assemblée", "d'un", "qu'il", "dell'anno"):
# the word is what follows the apostrophe.
ELIDING = frozenset({"fr", "it", "ca"})
_ELISION = re.compile(r"^(?:[a-z]{1,2}|qu|jusqu|lorsqu|puisqu|quoiqu|dell|dall|nell|sull|all|quell)['’]")


def elided(term: str) -> str:
    """``term`` without an elided article or particle in front ("l'assemblée" -> "assemblée")."""
    if "'" not in term and "’" not in term:
        return term
    return _ELISION.sub("", term) or term


_STEM_LOCK = threading.Lock()  # a stemmer object is not safe to share between threads
_ALIASES = {"no": "nb", "nn": "nb", "hr": "sh", "sr": "sh", "bs": "sh", "tl": "fil"}


def language_of(text: str) -> str:
    """The language of ``text`` when it is one with a lexicon (see :data:`SUPPORTED`), else ``""``."""
    code = detect_language(text)
    code = _ALIASES.get(code, code)
    return code if code in SUPPORTED else ""


# Snowball stemmers (PyStemmer) of the languages that have one: "vetou", "veta" and "veto" are one term, as
# "arrested" and "arrests" are, so two outlets' wordings of one event share what they say.
_SNOWBALL = {
    "ar": "arabic", "ca": "catalan", "cs": "czech", "da": "danish", "de": "german", "el": "greek",
    "en": "english", "es": "spanish", "fa": "persian", "fi": "finnish", "fr": "french", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "it": "italian", "lt": "lithuanian", "nb": "norwegian",
    "nl": "dutch", "pl": "polish", "pt": "portuguese", "ro": "romanian", "ru": "russian", "sh": "serbian",
    "sv": "swedish", "ta": "tamil", "tr": "turkish",
}  # fmt: skip


@dataclass(frozen=True)
class Lexicon:
    """One language's function words, prior document probabilities and stemmer (see the module docstring).

    ``prior`` holds both written words (names are looked up as written) and stems (a stem takes its most
    common form's probability); ``function`` likewise.
    """

    lang: str
    function: frozenset[str]
    prior: dict[str, float]
    stemmer: Any = None

    def p_doc(self, term: str) -> float:
        """The prior probability that a report contains ``term`` (0.0 for words rarer than :data:`MIN_ZIPF`)."""
        return self.prior.get(term, 0.0)

    def stems(self, words: list[str]) -> list[str]:
        """Each plain word's term in this language (the words themselves without a stemmer)."""
        if self.stemmer is None:
            return words
        with _STEM_LOCK:
            return list(self.stemmer.stemWords(words))


_EMPTY = Lexicon("", frozenset(), {})


def plain_terms(words: list[str], lang: str) -> list[str]:
    """The terms plain words (lower case, as the tokeniser spells them) become in an item in ``lang``: elided
    articles cut, stemmed.  What a watch matched is dropped from an item's evidence in this form."""
    if lang in ELIDING:
        words = [elided(w) for w in words]
    stemmer = _stemmer(lang)
    if stemmer is None:
        return words
    with _STEM_LOCK:
        return list(stemmer.stemWords(words))


@functools.lru_cache(maxsize=len(SUPPORTED) + 1)
def _stemmer(lang: str) -> Any:
    """The Snowball stemmer of ``lang`` (None without one); one per language and process."""
    algorithm = _SNOWBALL.get(lang)
    if algorithm is None:
        return None
    import Stemmer

    return Stemmer.Stemmer(algorithm)


def _calendar_words(lang: str) -> list[str]:
    """The language's names of weekdays and months, whole and abbreviated, as the tokeniser splits them
    ("segunda-feira": "segunda", "feira"): a date says when, never which event (Unicode CLDR, through Babel)."""
    from babel import Locale, UnknownLocaleError
    from babel.dates import get_day_names, get_month_names

    try:
        locale = Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return []
    names = [
        *get_day_names("wide", locale=locale).values(),
        *get_day_names("abbreviated", locale=locale).values(),
        *get_month_names("wide", locale=locale).values(),
        *get_month_names("abbreviated", locale=locale).values(),
    ]
    words = {w for n in names for w in re.split(r"[^\w]+", n.lower()) if len(w) > 1}
    return sorted(words)


@functools.lru_cache(maxsize=len(SUPPORTED) + 1)
def lexicon(lang: str) -> Lexicon:
    """The lexicon of ``lang`` (an empty one for ``""`` or a language without word frequencies)."""
    if lang not in SUPPORTED:
        return _EMPTY
    import wordfreq

    from newswatch.stories.tokens import stem

    stemmer = _stemmer(lang)
    floor = 10 ** (MIN_ZIPF - 9)
    freqs = {w: f for w, f in wordfreq.get_frequency_dict(lang, wordlist="best").items() if f >= floor}
    words = list(freqs)
    crude = [stem(w) for w in words]  # as the tokeniser spells a plain word
    stems = stemmer.stemWords(crude) if stemmer is not None else crude
    prior: dict[str, float] = {}
    for word, c, s in zip(words, crude, stems, strict=True):
        p = round(-math.expm1(-DOC_TOKENS * freqs[word]), 6)
        # A stem takes its most common form's probability.
        for form in {word, c, s}:
            if p > prior.get(form, 0.0):
                prior[form] = p
    top = [*wordfreq.top_n_list(lang, FUNCTION_WORDS, wordlist="best"), *_calendar_words(lang)]
    top_crude = [stem(w) for w in top]
    top_stems = stemmer.stemWords(top_crude) if stemmer is not None else top_crude
    return Lexicon(lang, frozenset({*top, *top_crude, *top_stems}), prior, stemmer)
