"""Evaluating query trees against one scanned item: truth, hit positions, and the clause that failed.

Owns the semantics of each operator once the automaton has said which atoms occurred where.  An
:class:`Evaluation` is built per item and caches entity occurrences, word indices and NEAR results, so the many
watches that share entities pay for them once.  Field scopes are passed down the tree; an inner scope wins.
Every step is linear in the occurrences (up to a sort), so an item repeating a term thousands of times costs
milliseconds: exclusions are one sweep, word indices one pass, NEAR a few binary searches per occurrence
(``near``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newswatch.match.engine import Scan, Span
from newswatch.match.entities import EntityKeys
from newswatch.match.near import WordSpan, merged, nearest_gaps, outermost
from newswatch.match.query import All, And, EntityRef, Near, Node, Not, Or, Scope, Term
from newswatch.match.text import FIELDS

Leaf = Term | EntityRef


@dataclass(frozen=True, slots=True)
class CompiledEntity:
    keys: EntityKeys
    alias_atoms: tuple[int, ...]
    exclude_atoms: tuple[int, ...]
    alias_set: frozenset[int]


@dataclass(slots=True)
class Resolved:
    """How the leaves of every compiled query map onto atoms."""

    terms: dict[Term, int | None] = field(default_factory=dict)  # None: the term has no words
    entities: dict[str, CompiledEntity] = field(default_factory=dict)


class Evaluation:
    """Lazy evaluation of any number of query trees over one item's scan."""

    def __init__(self, resolved: Resolved, scan: Scan) -> None:
        self.resolved = resolved
        self.scan = scan
        self.prep = scan.prep
        self.present = scan.present
        self._entity: dict[str, list[Span]] = {}
        self._tok: dict[int, int] = {}  # stream offset -> word index
        self._near: dict[tuple[int, int | None], tuple[frozenset[Span], frozenset[Span]]] = {}

    # -- positions ------------------------------------------------------------------------------------------

    def word_spans(self, spans: list[Span]) -> list[WordSpan]:
        """(first word, last word) of each stream span: one pass over the text for all of them."""
        tok = self._tok
        missing = sorted({o for span in spans for o in span if o not in tok})
        if missing:
            # A word's index is the number of spaces before it, less the leading one; counting from one offset
            # to the next keeps a batch linear in the text however many spans it holds.
            lower, pos, count = self.prep.lower, 0, -1
            for offset in missing:
                count += lower.count(" ", pos, offset)
                pos = offset
                tok[offset] = count
        return [(tok[a], tok[b]) for a, b in spans]

    def entity_spans(self, name: str) -> list[Span]:
        got = self._entity.get(name)
        if got is None:
            ent = self.resolved.entities.get(name)
            got = []
            if ent is not None:
                # Fuzzy entities have hundreds of alias atoms and an item a few dozen: intersect the sets.
                found = ent.alias_set & self.present
                vetoes = [s for atom in ent.exclude_atoms for s in self.scan.spans(atom)]
                if len(found) == 1 and not vetoes:
                    # One alias: its spans are already in order, distinct and none inside another.
                    got = self.scan.spans(next(iter(found)))
                else:
                    for atom in found:
                        got.extend(self.scan.spans(atom))
                    got = sorted(set(got))
                    if vetoes and got:
                        got = _outside(got, vetoes)
                    got = outermost(got)
            self._entity[name] = got
        return got

    def any_in_field(self, spans: list[Span], fld: int) -> bool:
        """Whether any of ``spans`` lies in field ``fld``."""
        b0, b1 = self.prep.bounds
        if fld == 0:
            return any(s[0] < b0 for s in spans)
        if fld == 1:
            return any(b0 < s[0] < b1 for s in spans)
        return any(s[0] > b1 for s in spans)

    def spans(self, node: Node, fld: int | None = None) -> list[Span]:
        """Where a position-bearing node occurs (empty for nodes without positions)."""
        if isinstance(node, Term):
            atom = self.resolved.terms.get(node)
            found = self.scan.spans(atom) if atom is not None else []
        elif isinstance(node, EntityRef):
            found = self.entity_spans(node.name)
        elif isinstance(node, Scope):
            return self.spans(node.child, FIELDS.index(node.field))
        elif isinstance(node, Or):
            return sorted({s for c in node.children for s in self.spans(c, fld)})
        elif isinstance(node, Near):
            return self.near_spans(node, fld)
        else:
            return []
        if fld is None or not found:
            return found
        return [s for s in found if self.prep.field_of(s[0]) == fld]

    def near_sides(self, node: Near, fld: int | None) -> tuple[frozenset[Span], frozenset[Span]]:
        """The left and the right occurrences of a NEAR that have a partner within its distance."""
        key = (id(node), fld)
        got = self._near.get(key)
        if got is None:
            left, right = self.spans(node.left, fld), self.spans(node.right, fld)
            lw, rw = self.word_spans(left), self.word_spans(right)
            d = node.distance
            lefts = frozenset(
                s for s, g in zip(left, nearest_gaps(lw, rw), strict=True) if g is not None and g <= d
            )
            rights: frozenset[Span] = frozenset()
            if lefts:
                pairs = zip(right, nearest_gaps(rw, lw), strict=True)
                rights = frozenset(s for s, g in pairs if g is not None and g <= d)
            got = self._near[key] = (lefts, rights)
        return got

    def near_spans(self, node: Near, fld: int | None) -> list[Span]:
        """The outermost stream spans covering a left and a right occurrence within the distance."""
        left, right = self.spans(node.left, fld), self.spans(node.right, fld)
        if not left or not right:
            return []
        start_of: dict[int, int] = {}
        end_of: dict[int, int] = {}
        words = []
        for spans in (left, right):
            ws = self.word_spans(spans)
            for (s0, s1), (w0, w1) in zip(spans, ws, strict=True):
                start_of[w0], end_of[w1] = s0, s1
            words.append(ws)
        return [(start_of[a], end_of[b]) for a, b in merged(words[0], words[1], node.distance)]

    def closest(self, node: Near, fld: int | None) -> int | None:
        """Fewest words between the two sides of a NEAR, or None when a side is missing."""
        lw = self.word_spans(self.spans(node.left, fld))
        rw = self.word_spans(self.spans(node.right, fld))
        return min((g for g in nearest_gaps(lw, rw) if g is not None), default=None)

    # -- truth ----------------------------------------------------------------------------------------------

    def truth(self, node: Node, fld: int | None = None) -> bool:
        if isinstance(node, And):
            return all(self.truth(c, fld) for c in node.children)
        if isinstance(node, Or):
            return any(self.truth(c, fld) for c in node.children)
        if isinstance(node, Not):
            return not self.truth(node.child, fld)
        if isinstance(node, Scope):
            return self.truth(node.child, FIELDS.index(node.field))
        if isinstance(node, All):
            return True
        return bool(self.spans(node, fld))

    def hits(self, node: Node, fld: int | None = None) -> list[tuple[Span, Leaf]]:
        """The occurrences that make a true node true (nothing under NOT), for terms and snippets."""
        if isinstance(node, Term | EntityRef):
            return [(s, node) for s in self.spans(node, fld)]
        if isinstance(node, And | Or):
            return [h for c in node.children if self.truth(c, fld) for h in self.hits(c, fld)]
        if isinstance(node, Scope):
            return self.hits(node.child, FIELDS.index(node.field))
        if isinstance(node, Near):
            lefts, rights = self.near_sides(node, fld)
            if not lefts:
                return []
            return [h for h in self.hits(node.left, fld) if h[0] in lefts] + [
                h for h in self.hits(node.right, fld) if h[0] in rights
            ]
        return []

    def leaves(self, node: Node, fld: int | None = None) -> list[tuple[Span, Leaf]]:
        """Every occurrence of every term of the query, whether or not it helped (for explaining a miss)."""
        if isinstance(node, Term | EntityRef):
            return [(s, node) for s in self.spans(node, fld)]
        if isinstance(node, And | Or):
            return [h for c in node.children for h in self.leaves(c, fld)]
        if isinstance(node, Not):
            return self.leaves(node.child, fld)
        if isinstance(node, Scope):
            return self.leaves(node.child, FIELDS.index(node.field))
        if isinstance(node, Near):
            return self.leaves(node.left, fld) + self.leaves(node.right, fld)
        return []

    # -- explaining a miss ----------------------------------------------------------------------------------

    def failing(self, node: Node, fld: int | None = None) -> tuple[Node, int | None]:
        """The innermost clause (and its field scope) that makes a false node false."""
        if isinstance(node, And):
            for c in node.children:
                if not self.truth(c, fld):
                    return self.failing(c, fld)
        if isinstance(node, Scope) and isinstance(node.child, And):
            return self.failing(node.child, FIELDS.index(node.field))
        return node, fld


def _outside(spans: list[Span], vetoes: list[Span]) -> list[Span]:
    """The sorted ``spans`` that lie inside none of ``vetoes``: one sweep, however many of each."""
    out: list[Span] = []
    ordered = sorted(vetoes)
    i, reach = 0, -1  # reach: the furthest end of a veto starting at or before the span
    for span in spans:
        while i < len(ordered) and ordered[i][0] <= span[0]:
            reach = max(reach, ordered[i][1])
            i += 1
        if reach < span[1]:
            out.append(span)
    return out
