"""The one Aho-Corasick automaton over every alias, word, phrase and prefix of every watch.

Owns the atom table (each distinct key + case rule gets one integer id) and the single scan of an item:
``Index.scan`` runs the C automaton once over the item's lower-cased word stream and keeps its hits (end
offset, value).  Keys carry a space on each side (a prefix only on the left), so every hit is a whole word or
a word start without any boundary test.  The :class:`Scan` knows which atoms occurred (``present``, all the
presearcher and most operators need, built without Python code per hit) and turns hits into spans only for
the atoms a query asks about; capitalised aliases are checked against the case-kept stream, one slice
comparison per hit.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from operator import itemgetter

import ahocorasick

from newswatch.match.text import Prepared

Span = tuple[int, int]  # [start, end) in the item's word stream: first letter .. the space after the last
_second = itemgetter(1)
_SMALL_SCAN = 256  # hits; above this, Scan.ends groups hits by value once instead of filtering per value


@dataclass(frozen=True, slots=True)
class Atom:
    key: str  # " united states " (word/phrase) or " negotiat" (prefix)
    cased: str | None  # case-kept form that must match exactly, or None

    @property
    def prefix(self) -> bool:
        return not self.key.endswith(" ")


class Scan:
    """One item's automaton hits: which atoms occurred, and (lazily, cached) where."""

    __slots__ = ("_by_value", "_index", "_spans", "_values", "hits", "prep", "present")

    def __init__(self, index: Index, prep: Prepared, hits: list[tuple[int, int]], present: set[int]) -> None:
        self._index = index
        self.prep = prep
        self.hits = hits  # (end offset of the last character, automaton value), in text order
        self.present = present  # atoms with at least one occurrence that passes its case rule
        self._spans: dict[int, list[Span]] = {}
        # Hits sorted by value (a stable sort: text order within a value), for long items only; see ends().
        self._by_value: list[tuple[int, int]] | None = None
        self._values: list[int] = []

    def ends(self, value: int) -> list[int]:
        """End offsets of one automaton value's hits, in text order."""
        hits = self.hits
        if len(hits) <= _SMALL_SCAN:  # a news item: one filtering pass per value is cheapest
            return [end for end, v in hits if v == value]
        # A long item with many hits: sort them by value once (in C) and slice, rather than filtering every hit
        # once per value asked about.
        if self._by_value is None:
            self._by_value = sorted(hits, key=_second)
            self._values = list(map(_second, self._by_value))
        lo = bisect_left(self._values, value)
        return [end for end, _ in self._by_value[lo : bisect_right(self._values, value, lo)]]

    def spans(self, atom: int) -> list[Span]:
        """Stream spans of an atom's occurrences, in text order (empty when it did not occur)."""
        got = self._spans.get(atom)
        if got is None:
            got = self._spans[atom] = self._compute(atom) if atom in self.present else []
        return got

    def _compute(self, atom: int) -> list[Span]:
        index = self._index
        value = index.value_of_atom[atom]
        klen = index.key_lengths[value]
        ends = self.ends(value)
        if index.prefix_keys[value]:  # a prefix ends inside a word; the occurrence is the whole word
            find = self.prep.lower.find
            spans = [(end - klen + 2, find(" ", end)) for end in ends]
        else:
            spans = [(end - klen + 2, end) for end in ends]
        case_key = index.atoms[atom].cased
        if case_key is not None:
            cased = self.prep.cased
            spans = [s for s in spans if cased[s[0] - 1 : s[1] + 1] == case_key]
        return spans


class Index:
    """Atoms added while compiling, then frozen into one automaton with :meth:`build`."""

    def __init__(self) -> None:
        self.atoms: list[Atom] = []
        self._ids: dict[Atom, int] = {}
        self._automaton: ahocorasick.Automaton | None = None
        # Automaton values: a key whose only atom has no case rule (almost every key) has that atom's id as
        # its value, so the atoms present are just the set of values seen.  Other keys (a capitalised alias,
        # or one key shared by several atoms) get values from len(atoms) up and are expanded per item.
        self.value_of_atom: list[int] = []
        self.key_lengths: dict[int, int] = {}  # value -> key length
        self.prefix_keys: dict[int, bool] = {}  # value -> whether the key is a prefix
        self._special: frozenset[int] = frozenset()
        self._plain: dict[int, tuple[int, ...]] = {}  # special value -> atoms without a case rule
        self._cased: dict[int, tuple[tuple[int, str], ...]] = {}  # special value -> (atom, case-kept key)

    def add(self, key: str, cased: str | None = None) -> int:
        """The id of the atom (``key``, ``cased``), adding it if new."""
        atom = Atom(key, cased)
        got = self._ids.get(atom)
        if got is None:
            got = self._ids[atom] = len(self.atoms)
            self.atoms.append(atom)
        return got

    def build(self) -> None:
        by_key: dict[str, list[int]] = {}
        for i, atom in enumerate(self.atoms):
            by_key.setdefault(atom.key, []).append(i)
        self.value_of_atom = [0] * len(self.atoms)
        values: dict[str, int] = {}
        plain: dict[int, tuple[int, ...]] = {}
        cased: dict[int, tuple[tuple[int, str], ...]] = {}
        for key, atoms in by_key.items():
            if len(atoms) == 1 and self.atoms[atoms[0]].cased is None:
                value = atoms[0]
            else:
                value = len(self.atoms) + len(plain)
                plain[value] = tuple(a for a in atoms if self.atoms[a].cased is None)
                cased[value] = tuple((a, c) for a in atoms if (c := self.atoms[a].cased) is not None)
            values[key] = value
            for a in atoms:
                self.value_of_atom[a] = value
        self.key_lengths = {v: len(k) for k, v in values.items()}
        self.prefix_keys = {v: not k.endswith(" ") for k, v in values.items()}
        self._special, self._plain, self._cased = frozenset(plain), plain, cased
        if not values:
            self._automaton = None
            return
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for key, value in values.items():
            automaton.add_word(key, value)
        automaton.make_automaton()
        self._automaton = automaton

    def scan(self, prep: Prepared) -> Scan:
        """One automaton pass over the item; spans are worked out later, only for atoms that are asked about."""
        if self._automaton is None:
            return Scan(self, prep, [], set())
        # No Python code per hit here: the hits list and the set of values seen are built in C.
        hits: list[tuple[int, int]] = list(self._automaton.iter(prep.lower))
        present = set(map(_second, hits))
        special = present.intersection(self._special)
        if special:
            present -= special
            scan = Scan(self, prep, hits, present)
            cased = prep.cased
            for value in special:
                present.update(self._plain[value])
                klen = self.key_lengths[value]
                for atom, case_key in self._cased[value]:
                    # A case-kept key is a whole word or phrase: it must equal the stream slice exactly.
                    if any(cased[end - klen + 1 : end + 1] == case_key for end in scan.ends(value)):
                        present.add(atom)
            return scan
        return Scan(self, prep, hits, present)

    def __len__(self) -> int:
        return len(self.atoms)
