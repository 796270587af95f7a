"""Evaluating query trees against one scanned item: truth, hit positions, and the clause that failed.

Owns the semantics of each operator once the automaton has said which atoms occurred where.  An
:class:`Evaluation` is built per item and caches entity occurrences and word indices, so the many watches that
share entities pay for them once.  Field scopes are passed down the tree; an inner scope wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newswatch.match.engine import Scan, Span
from newswatch.match.entities import EntityKeys
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
        self._tok: dict[int, int] = {}

    # -- positions ------------------------------------------------------------------------------------------

    def word(self, offset: int) -> int:
        """Word index of a span boundary (a start gives its word, an end the last word before it)."""
        got = self._tok.get(offset)
        if got is None:
            got = self._tok[offset] = self.prep.token_index(offset)
        return got

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
                    if vetoes and got:
                        got = [s for s in got if not any(v[0] <= s[0] and s[1] <= v[1] for v in vetoes)]
                    got = _outermost(sorted(set(got)))
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
            return sorted({(min(a[0], b[0]), max(a[1], b[1])) for a, b in self.near_pairs(node, fld)})
        else:
            return []
        if fld is None or not found:
            return found
        return [s for s in found if self.prep.field_of(s[0]) == fld]

    def near_pairs(self, node: Near, fld: int | None) -> list[tuple[Span, Span]]:
        return [(a, b) for a, b, gap in self._gaps(node, fld) if gap <= node.distance]

    def closest(self, node: Near, fld: int | None) -> int | None:
        """Fewest words between the two sides of a NEAR, or None when a side is missing."""
        return min((gap for _, _, gap in self._gaps(node, fld)), default=None)

    def _gaps(self, node: Near, fld: int | None) -> list[tuple[Span, Span, int]]:
        left, right = self.spans(node.left, fld), self.spans(node.right, fld)
        out = []
        for a in left:
            a0, a1 = self.word(a[0]), self.word(a[1])
            for b in right:
                b0, b1 = self.word(b[0]), self.word(b[1])
                gap = b0 - a1 - 1 if b0 > a1 else a0 - b1 - 1
                out.append((a, b, max(gap, 0)))
        return out

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
            pairs = self.near_pairs(node, fld)
            if not pairs:
                return []
            lefts, rights = {a for a, _ in pairs}, {b for _, b in pairs}
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


def _outermost(spans: list[Span]) -> list[Span]:
    """Sorted spans without those inside another ("Boehler" within "Adam Boehler" is one mention)."""
    if len(spans) < 2:
        return spans
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s[0], -s[1])):
        if out and out[-1][0] <= span[0] and span[1] <= out[-1][1]:
            continue
        out.append(span)
    return out
