"""Query trees compiled into closures: the fast path's truth test and hits, one Python call per operator.

Owns nothing new in meaning: :meth:`Evaluation.truth` and :meth:`Evaluation.hits` (``evaluate``) are the
reference, and a property test checks that these closures agree with them on generated items and queries.  What they save is work the fast path
does not need: a term or an entity outside any field scope is true exactly when one of its atoms is in the
scan's ``present`` set, so no spans are built, sorted or de-duplicated; only NEAR, field scopes and entities
with an ``exclude`` list that actually occurred fall back to the positional code.
"""

from __future__ import annotations

from collections.abc import Callable

from newswatch.match.engine import Span
from newswatch.match.evaluate import Evaluation, Leaf, Resolved
from newswatch.match.query import All, And, EntityRef, Near, Node, Not, Or, Scope, Term
from newswatch.match.text import FIELDS

Truth = Callable[[Evaluation], bool]


def _false(ev: Evaluation) -> bool:
    return False


def _true(ev: Evaluation) -> bool:
    return True


def compile_truth(node: Node, resolved: Resolved, fld: int | None = None) -> Truth:
    """A function of an item's :class:`Evaluation` that equals ``ev.truth(node, fld)``."""
    if isinstance(node, Term):
        return _term(resolved.terms[node], fld)
    if isinstance(node, EntityRef):
        return _entity(node.name, resolved, fld)
    if isinstance(node, Scope):
        return compile_truth(node.child, resolved, FIELDS.index(node.field))
    if isinstance(node, Not):
        child = compile_truth(node.child, resolved, fld)
        return lambda ev: not child(ev)
    if isinstance(node, And | Or):
        return _boolean(isinstance(node, And), [compile_truth(c, resolved, fld) for c in node.children])
    if isinstance(node, Near):
        near = node
        return lambda ev: bool(ev.near_sides(near, fld)[0])
    if isinstance(node, All):
        return _true
    raise TypeError(f"unknown query node {node!r}")  # pragma: no cover - Node is a closed union


def _term(atom: int | None, fld: int | None) -> Truth:
    if atom is None:  # a term without letters or digits never occurs
        return _false
    if fld is None:
        return lambda ev: atom in ev.present
    return lambda ev: atom in ev.present and ev.any_in_field(ev.scan.spans(atom), fld)


def _entity(name: str, resolved: Resolved, fld: int | None) -> Truth:
    ent = resolved.entities[name]
    aliases, excludes = ent.alias_set, frozenset(ent.exclude_atoms)
    if fld is not None:
        return lambda ev: not aliases.isdisjoint(ev.present) and ev.any_in_field(ev.entity_spans(name), fld)
    if not excludes:
        return lambda ev: not aliases.isdisjoint(ev.present)

    def entity(ev: Evaluation) -> bool:
        if aliases.isdisjoint(ev.present):
            return False
        # Only an exclusion that occurred can veto an alias occurrence; then positions decide.
        return excludes.isdisjoint(ev.present) or bool(ev.entity_spans(name))

    return entity


def _boolean(conjunction: bool, parts: list[Truth]) -> Truth:
    if len(parts) == 2:  # the common case, without a loop
        a, b = parts
        if conjunction:
            return lambda ev: a(ev) and b(ev)
        return lambda ev: a(ev) or b(ev)
    funcs = tuple(parts)
    if conjunction:
        return lambda ev: all(f(ev) for f in funcs)
    return lambda ev: any(f(ev) for f in funcs)


Hits = Callable[[Evaluation], list[tuple[Span, Leaf]]]


def _no_hits(ev: Evaluation) -> list[tuple[Span, Leaf]]:
    return []


def compile_hits(node: Node, resolved: Resolved, fld: int | None = None) -> Hits:
    """A function of an item's :class:`Evaluation` that equals ``ev.hits(node, fld)`` (for a true node)."""
    if isinstance(node, Term):
        term, atom = node, resolved.terms[node]
        if atom is None:
            return _no_hits
        if fld is None:
            return lambda ev: [(s, term) for s in ev.scan.spans(atom)]
        return lambda ev: [(s, term) for s in ev.spans(term, fld)]
    if isinstance(node, EntityRef):
        ref = node
        if fld is None:
            return lambda ev: [(s, ref) for s in ev.entity_spans(ref.name)]
        return lambda ev: [(s, ref) for s in ev.spans(ref, fld)]
    if isinstance(node, Scope):
        return compile_hits(node.child, resolved, FIELDS.index(node.field))
    if isinstance(node, And | Or):
        # Only the operands that are true contribute (all of them under AND, since the node is true).
        parts = [(compile_truth(c, resolved, fld), compile_hits(c, resolved, fld)) for c in node.children]
        return lambda ev: [h for truth, hits in parts if truth(ev) for h in hits(ev)]
    if isinstance(node, Near):
        near, left, right = (
            node,
            compile_hits(node.left, resolved, fld),
            compile_hits(node.right, resolved, fld),
        )

        def near_hits(ev: Evaluation) -> list[tuple[Span, Leaf]]:
            lefts, rights = ev.near_sides(near, fld)
            if not lefts:
                return []
            return [h for h in left(ev) if h[0] in lefts] + [h for h in right(ev) if h[0] in rights]

        return near_hits
    return _no_hits  # Not, All: nothing under them is shown
