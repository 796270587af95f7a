"""Entities: from an :class:`EntityConfig` to the automaton keys of its aliases, exclusions and fuzzy variants.

Owns the precision rules for names:

* an alias written in capitals (``US``, ``U.S.``, ``UN``, ``ХАМАС``) matches only in capitals, so the pronoun
  "us" is not the United States, and not inside shouting text (``shouting``) where capitals are no evidence;
  ``AliasSpec.case_sensitive`` overrides this per alias;
* ``exclude`` phrases ("Washington Commanders") veto an alias occurrence lying inside them;
* an Arabic alias also matches with the clitics و, ف, ب, ل, ال (or a combination such as وال) attached to its
  first word: ``حماس`` finds ``وحماس`` ("and Hamas"), written as one word;
* ``fuzzy: true`` adds every spelling at edit distance 1 of alias words of 6+ letters ("Bohler" for "Boehler"),
  never of acronyms or short words, and never by changing the first letter or the word's end (so "Israel"
  does not become "Israeli", nor "Qatar" "Qatari").
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from dataclasses import dataclass

from newswatch.config import AliasSpec, EntityConfig
from newswatch.match.scripts import clitic_forms, is_arabic
from newswatch.match.text import key_of, tokenize

FUZZY_MIN_LETTERS = 6
_ALPHABET = string.ascii_lowercase


@dataclass(frozen=True, slots=True)
class AliasKey:
    """One way of writing an entity, as the automaton sees it."""

    key: str  # lower-case automaton key: " united states "
    cased: str | None  # " US " when the alias must match exactly in this case
    alias: str  # the alias as configured, for explanations
    fuzzy: bool = False  # a spelling variant rather than the alias itself


@dataclass(frozen=True, slots=True)
class EntityKeys:
    """Everything the engine needs to find one entity."""

    name: str  # the key under ``entities:``, referenced as @name
    label: str  # display name
    aliases: tuple[AliasKey, ...]
    alias_texts: tuple[str, ...]  # as configured, for explanations
    excludes: tuple[str, ...]  # lower-case automaton keys
    empty_aliases: tuple[str, ...]  # aliases with no letters or digits (reported by `check`)


def is_capitalised(alias: str) -> bool:
    """Whether an alias is written in capitals (US, U.S., UN, NATO), hence case-sensitive by default."""
    letters = [c for c in alias if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def entity_keys(name: str, cfg: EntityConfig) -> EntityKeys:
    """The keys of one entity's aliases (with fuzzy variants when enabled) and exclusions."""
    aliases: dict[tuple[str, str | None], AliasKey] = {}
    empty: list[str] = []
    for spec in cfg.aliases:
        text, override = (spec.text, spec.case_sensitive) if isinstance(spec, AliasSpec) else (spec, None)
        tokens = tokenize(text, case_evidence=False)
        if not tokens:
            empty.append(text)
            continue
        sensitive = is_capitalised(text) if override is None else override
        for spelling in [tokens, *_with_clitics(tokens)]:
            cased = " " + " ".join(spelling) + " " if sensitive else None
            key = AliasKey(key_of(spelling), cased, text)
            aliases.setdefault((key.key, cased), key)
        if cfg.fuzzy and not sensitive:
            for variant in fuzzy_variants(tokens):
                k = key_of(variant)
                aliases.setdefault((k, None), AliasKey(k, None, text, fuzzy=True))
    excludes = tuple(dict.fromkeys(key_of(t) for t in map(tokenize, cfg.exclude) if t))
    texts = tuple(dict.fromkeys(a.alias for a in aliases.values() if not a.fuzzy))
    return EntityKeys(name, cfg.name or name, tuple(aliases.values()), texts, excludes, tuple(empty))


def _with_clitics(tokens: list[str]) -> list[list[str]]:
    """An Arabic alias with the clitics that attach to its first word (و, ف, ب, ل, ال and combinations)."""
    if not is_arabic(tokens[0]):
        return []
    return [[form, *tokens[1:]] for form in clitic_forms(tokens[0])]


def fuzzy_variants(tokens: list[str]) -> Iterator[list[str]]:
    """Alias word lists with exactly one long word at edit distance 1 (see the module docstring)."""
    lowered = [t.lower() for t in tokens]
    for i, word in enumerate(lowered):
        if len(word) < FUZZY_MIN_LETTERS or not word.isalpha() or tokens[i].isupper():
            continue
        for variant in sorted(_edits1(word)):
            yield [*lowered[:i], variant, *lowered[i + 1 :]]


def _edits1(word: str) -> set[str]:
    """Spellings at edit distance 1 that keep the first and the last letter's position."""
    letters = set(_ALPHABET) | {c for c in word if c.isalpha()}
    n = len(word)
    out: set[str] = set()
    for i in range(1, n - 1):  # deleting an inner letter: Boehler -> Bohler
        out.add(word[:i] + word[i + 1 :])
    for i in range(1, n):  # substituting any letter but the first
        for c in letters:
            out.add(word[:i] + c + word[i + 1 :])
    for i in range(1, n):  # inserting between two letters
        for c in letters:
            out.add(word[:i] + c + word[i:])
    out.discard(word)
    return out
