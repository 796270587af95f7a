"""The one Aho-Corasick automaton over every alias, word, phrase and prefix of every watch.

Owns the atom table (each distinct key + case rule gets one integer id) and the single scan of an item:
``Index.scan`` runs the C automaton once over the item's lower-cased word stream and returns, per atom, the
stream spans where it occurred.  Keys carry a space on each side (a prefix only on the left), so every hit
is a whole word or a word start without any boundary test; capitalised aliases are then checked against the
case-kept stream, which costs one slice comparison per hit.
"""

from __future__ import annotations

from dataclasses import dataclass

import ahocorasick

from newswatch.match.text import Prepared

Span = tuple[int, int]  # [start, end) in the item's word stream: first letter .. the space after the last


@dataclass(frozen=True, slots=True)
class Atom:
    key: str  # " united states " (word/phrase) or " negotiat" (prefix)
    cased: str | None  # case-kept form that must match exactly, or None

    @property
    def prefix(self) -> bool:
        return not self.key.endswith(" ")


class Index:
    """Atoms added while compiling, then frozen into one automaton with :meth:`build`."""

    def __init__(self) -> None:
        self.atoms: list[Atom] = []
        self._ids: dict[Atom, int] = {}
        self._automaton: ahocorasick.Automaton | None = None
        self._keys: list[tuple[str, tuple[tuple[int, str | None], ...]]] = []

    def add(self, key: str, cased: str | None = None) -> int:
        """The id of the atom (``key``, ``cased``), adding it if new."""
        atom = Atom(key, cased)
        got = self._ids.get(atom)
        if got is None:
            got = self._ids[atom] = len(self.atoms)
            self.atoms.append(atom)
        return got

    def build(self) -> None:
        grouped: dict[str, list[tuple[int, str | None]]] = {}
        for i, atom in enumerate(self.atoms):
            grouped.setdefault(atom.key, []).append((i, atom.cased))
        self._keys = [(key, tuple(entries)) for key, entries in grouped.items()]
        if not self._keys:
            self._automaton = None
            return
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for i, (key, _) in enumerate(self._keys):
            automaton.add_word(key, i)
        automaton.make_automaton()
        self._automaton = automaton

    def scan(self, prep: Prepared) -> dict[int, list[Span]]:
        """Atom id -> stream spans of its occurrences in the item, in text order."""
        occ: dict[int, list[Span]] = {}
        if self._automaton is None:
            return occ
        # The hot loop only records end offsets per key; everything else is done once per distinct key.
        ends: dict[int, list[int]] = {}
        for end, k in self._automaton.iter(prep.lower):
            got = ends.get(k)
            if got is None:
                ends[k] = [end]
            else:
                got.append(end)
        lower, cased = prep.lower, prep.cased
        for k, key_ends in ends.items():
            key, entries = self._keys[k]
            klen = len(key)
            if key.endswith(" "):
                spans = [(end - klen + 2, end) for end in key_ends]
            else:  # a prefix ends inside a word; the occurrence is the whole word
                spans = [(end - klen + 2, lower.find(" ", end)) for end in key_ends]
            for atom, case_key in entries:
                if case_key is None:
                    occ[atom] = spans
                else:
                    kept = [s for s in spans if cased[s[0] - 1 : s[1] + 1] == case_key]
                    if kept:
                        occ[atom] = kept
        return occ

    def __len__(self) -> int:
        return len(self.atoms)
