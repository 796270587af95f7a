"""Compiling a watchlist once, and testing items against it: :func:`compile_watches` and :class:`Matcher`.

Owns the presearcher (as in Lucene Monitor): at compile time each watch gets a set of atoms at least one of
which must occur for it to match; at match time only the watches registered under an atom that did occur
are evaluated, plus the few that can match without any term (``*``, ``NOT x``).  So an item costs one
automaton pass plus the watches it is actually about, however long the watchlist.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from newswatch.config import EntityConfig, WatchConfig
from newswatch.match.engine import Index
from newswatch.match.entities import entity_keys
from newswatch.match.evaluate import CompiledEntity, Evaluation, Resolved
from newswatch.match.explain import Explanation, miss_reason
from newswatch.match.query import And, EntityRef, Near, Node, Not, Or, QuerySyntaxError, Scope, Term, parse
from newswatch.match.snippet import Display, Found, make_snippet, unique_terms
from newswatch.match.text import key_of, prepare, tokenize
from newswatch.models import Item, Match


@dataclass(frozen=True, slots=True)
class CompiledWatch:
    name: str
    query: str
    node: Node


def compile_watches(entities: Mapping[str, EntityConfig], watches: Sequence[WatchConfig]) -> Matcher:
    """Parse and compile every watch into one :class:`Matcher`.

    Raises :class:`QuerySyntaxError` for the first watch that does not parse or names an unknown entity.
    """
    parsed = [CompiledWatch(w.name, w.query, parse_watch(w, entities)) for w in watches]
    return Matcher(entities, parsed)


def parse_watch(watch: WatchConfig, entities: Mapping[str, EntityConfig]) -> Node:
    """The syntax tree of one watch, with unknown @entity references reported as syntax errors."""
    try:
        node = parse(watch.query)
        for ref in entity_refs(node):
            if ref.name not in entities:
                close = difflib.get_close_matches(ref.name, list(entities), n=1)
                hint = f" (did you mean @{close[0]}?)" if close else ""
                raise QuerySyntaxError(f"unknown entity @{ref.name}{hint}", watch.query, ref.start)
    except QuerySyntaxError as exc:
        raise QuerySyntaxError(exc.message, exc.query, exc.position, watch.name) from None
    return node


def entity_refs(node: Node) -> list[EntityRef]:
    if isinstance(node, EntityRef):
        return [node]
    if isinstance(node, And | Or):
        return [r for c in node.children for r in entity_refs(c)]
    if isinstance(node, Not | Scope):
        return entity_refs(node.child)
    if isinstance(node, Near):
        return entity_refs(node.left) + entity_refs(node.right)
    return []


class Matcher:
    """Every watch compiled into one automaton plus query trees; :meth:`match` is pure and synchronous."""

    def __init__(self, entities: Mapping[str, EntityConfig], watches: Sequence[CompiledWatch]) -> None:
        self.watches = tuple(watches)
        self._index = Index()
        self._resolved = Resolved()
        for name in sorted({r.name for w in watches for r in entity_refs(w.node)}):
            keys = entity_keys(name, entities[name])
            aliases = tuple(self._index.add(a.key, a.cased) for a in keys.aliases)
            excludes = tuple(self._index.add(k) for k in keys.excludes)
            self._resolved.entities[name] = CompiledEntity(keys, aliases, excludes, frozenset(aliases))
        self._always: list[int] = []
        self._by_atom: dict[int, list[int]] = {}
        for i, w in enumerate(self.watches):
            self._resolve(w.node)
            needed = self._need(w.node)
            if needed is None:
                self._always.append(i)
            for atom in sorted(needed or ()):
                self._by_atom.setdefault(atom, []).append(i)
        self._index.build()

    def __len__(self) -> int:
        return len(self.watches)

    # -- compiling ------------------------------------------------------------------------------------------

    def _resolve(self, node: Node) -> None:
        if isinstance(node, Term):
            if node not in self._resolved.terms:
                words = tokenize(node.text)
                if not words:
                    self._resolved.terms[node] = None
                else:
                    key = key_of(words)
                    self._resolved.terms[node] = self._index.add(key[:-1] if node.kind == "prefix" else key)
        elif isinstance(node, And | Or):
            for c in node.children:
                self._resolve(c)
        elif isinstance(node, Not | Scope):
            self._resolve(node.child)
        elif isinstance(node, Near):
            self._resolve(node.left)
            self._resolve(node.right)

    def _need(self, node: Node) -> set[int] | None:
        """Atoms of which at least one must occur for ``node`` to be true; None when there is no such set."""
        if isinstance(node, Term):
            atom = self._resolved.terms[node]
            return set() if atom is None else {atom}
        if isinstance(node, EntityRef):
            return set(self._resolved.entities[node.name].alias_atoms)
        if isinstance(node, Scope):
            return self._need(node.child)
        if isinstance(node, Or):
            union: set[int] = set()
            for c in node.children:
                sub = self._need(c)
                if sub is None:
                    return None
                union |= sub
            return union
        if isinstance(node, And | Near):
            parts = [
                self._need(c) for c in (node.children if isinstance(node, And) else (node.left, node.right))
            ]
            known = [p for p in parts if p is not None]
            # The rarest requirement would be best; the smallest set is a cheap stand-in for it.
            return min(known, key=len) if known else None
        return None  # Not, All

    # -- matching -------------------------------------------------------------------------------------------

    def _evaluate(self, item: Item) -> tuple[Evaluation, list[int]]:
        prep = prepare(item.title, item.summary, item.content)
        occ = self._index.scan(prep)
        candidates = set(self._always)
        by_atom = self._by_atom
        for atom in occ:
            registered = by_atom.get(atom)
            if registered:
                candidates.update(registered)
        return Evaluation(self._resolved, prep, occ), sorted(candidates)

    def match(self, item: Item) -> list[Match]:
        """The watches ``item`` matches, in watchlist order, each with its terms and snippet."""
        ev, candidates = self._evaluate(item)
        out: list[Match] = []
        display: Display | None = None
        for i in candidates:
            w = self.watches[i]
            if ev.truth(w.node):
                display = display or Display(ev.prep)
                found = self._found(ev, display, w, matched=True)
                snippet, spans = make_snippet(display.text, found)
                out.append(Match(w.name, unique_terms(found), snippet, spans))
        return out

    def explain(self, item: Item) -> list[Explanation]:
        """For every watch, whether ``item`` matches and why (slow path: evaluates every watch)."""
        ev, _ = self._evaluate(item)
        display = Display(ev.prep)
        out: list[Explanation] = []
        for w in self.watches:
            matched = ev.truth(w.node)
            found = self._found(ev, display, w, matched)
            snippet, spans = make_snippet(display.text, found)
            if matched:
                out.append(Explanation(w.name, w.query, True, tuple(found), snippet, spans))
                continue
            clause, fld = ev.failing(w.node)
            reason = miss_reason(ev, clause, fld, w.query)
            failed = w.query[clause.start : clause.end]
            out.append(Explanation(w.name, w.query, False, tuple(found), snippet, spans, failed, reason))
        return out

    def _found(self, ev: Evaluation, display: Display, w: CompiledWatch, matched: bool) -> list[Found]:
        hits = ev.hits(w.node) if matched else ev.leaves(w.node)
        seen: set[tuple[tuple[int, int], str]] = set()
        found: list[Found] = []
        for span, leaf in sorted(hits, key=lambda h: h[0]):
            clause = w.query[leaf.start : leaf.end]
            if (span, clause) not in seen:
                seen.add((span, clause))
                found.append(display.locate(span, clause))
        return found
