"""The one Aho-Corasick automaton over every alias, word, phrase and prefix of every watch.

Owns the atom table (each distinct key + case rule gets one integer id) and the single scan of an item:
``Index.scan`` runs the C automaton once over the item's lower-cased word stream and records, per key, the
stream offsets where it ends.  Keys carry a space on each side (a prefix only on the left), so every hit is a
whole word or a word start without any boundary test.  The :class:`Scan` then knows which atoms occurred
(``present``, what the presearcher and most operators need) and turns end offsets into spans only for the
atoms a query asks about; capitalised aliases are checked against the case-kept stream, one slice comparison
per hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

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


class Scan:
    """One item's automaton hits: which atoms occurred, and (lazily, cached) where."""

    __slots__ = ("_index", "_spans", "ends", "prep", "present")

    def __init__(self, index: Index, prep: Prepared, ends: dict[int, list[int]], present: set[int]) -> None:
        self._index = index
        self.prep = prep
        self.ends = ends  # key number -> end offsets (last character) in the stream, in text order
        self.present = present  # atoms with at least one occurrence that passes its case rule
        self._spans: dict[int, list[Span]] = {}

    def spans(self, atom: int) -> list[Span]:
        """Stream spans of an atom's occurrences, in text order (empty when it did not occur)."""
        got = self._spans.get(atom)
        if got is None:
            got = self._spans[atom] = self._compute(atom) if atom in self.present else []
        return got

    def _compute(self, atom: int) -> list[Span]:
        index = self._index
        k = index.key_of_atom[atom]
        klen = index.key_lengths[k]
        ends = self.ends[k]
        if index.prefix_keys[k]:  # a prefix ends inside a word; the occurrence is the whole word
            find = self.prep.lower.find
            spans = [(end - klen + 2, find(" ", end)) for end in ends]
        else:
            spans = [(end - klen + 2, end) for end in ends]
        case_key = index.atoms[atom].cased
        if case_key is not None:
            cased = self.prep.cased
            spans = [s for s in spans if cased[s[0] - 1 : s[1] + 1] == case_key]
        return spans

    @property
    def occ(self) -> dict[int, list[Span]]:
        """Every atom that occurred -> its spans (for explanations; the fast path asks per atom)."""
        return {atom: self.spans(atom) for atom in sorted(self.present)}


class Index:
    """Atoms added while compiling, then frozen into one automaton with :meth:`build`."""

    def __init__(self) -> None:
        self.atoms: list[Atom] = []
        self._ids: dict[Atom, int] = {}
        self._automaton: ahocorasick.Automaton | None = None
        # Per key number (the automaton's value), filled by build():
        self.key_lengths: list[int] = []
        self.prefix_keys: list[bool] = []
        self._plain: list[tuple[int, ...]] = []  # atoms of the key without a case rule: present on any hit
        self._cased: dict[int, tuple[tuple[int, str], ...]] = {}  # key -> (atom, case-kept key) to check
        self.key_of_atom: list[int] = []

    def add(self, key: str, cased: str | None = None) -> int:
        """The id of the atom (``key``, ``cased``), adding it if new."""
        atom = Atom(key, cased)
        got = self._ids.get(atom)
        if got is None:
            got = self._ids[atom] = len(self.atoms)
            self.atoms.append(atom)
        return got

    def build(self) -> None:
        keys: dict[str, int] = {}
        plain: list[list[int]] = []
        cased: dict[int, list[tuple[int, str]]] = {}
        self.key_of_atom = []
        for i, atom in enumerate(self.atoms):
            k = keys.get(atom.key)
            if k is None:
                k = keys[atom.key] = len(keys)
                plain.append([])
            self.key_of_atom.append(k)
            if atom.cased is None:
                plain[k].append(i)
            else:
                cased.setdefault(k, []).append((i, atom.cased))
        self.key_lengths = [len(key) for key in keys]
        self.prefix_keys = [not key.endswith(" ") for key in keys]
        self._plain = [tuple(p) for p in plain]
        self._cased = {k: tuple(v) for k, v in cased.items()}
        if not keys:
            self._automaton = None
            return
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for key, k in keys.items():
            automaton.add_word(key, k)
        automaton.make_automaton()
        self._automaton = automaton

    def scan(self, prep: Prepared) -> Scan:
        """One automaton pass over the item; spans are worked out later, only for atoms that are asked about."""
        ends: dict[int, list[int]] = {}
        if self._automaton is None:
            return Scan(self, prep, ends, set())
        # The hot loop only records end offsets per key; everything else is done once per distinct key.
        for end, k in self._automaton.iter(prep.lower):
            got = ends.get(k)
            if got is None:
                ends[k] = [end]
            else:
                got.append(end)
        present = set(chain.from_iterable(map(self._plain.__getitem__, ends)))
        if self._cased:
            cased, lengths = prep.cased, self.key_lengths
            for k in self._cased.keys() & ends.keys():
                klen = lengths[k]
                for atom, case_key in self._cased[k]:
                    # A case-kept key is a whole word or phrase: it must equal the stream slice exactly.
                    if any(cased[end - klen + 1 : end + 1] == case_key for end in ends[k]):
                        present.add(atom)
        return Scan(self, prep, ends, present)

    def __len__(self) -> int:
        return len(self.atoms)
