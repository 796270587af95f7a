"""Compiling a watchlist once, and testing items against it: :func:`compile_watches` and :class:`Matcher`.

Owns the presearcher (as in Lucene Monitor).  At compile time each watch's query is reduced to its
*requirements*: groups of atoms, each of which must have at least one atom in the item for the watch to be
true (``@us AND @hamas AND (talks OR deal)`` needs one alias of each entity and one of the two words).  The
group expected to be rarest is the watch's *trigger*: the watch is registered under the trigger's atoms only.
At match time the watches registered under the atoms that occurred are the candidates; a candidate whose
other groups are not all met is dropped with one C-level set test per group, and only the rest are evaluated
(compiled closures, ``compiled``).  Watches without requirements (``*``, ``NOT x``) are always evaluated.
So an item costs one automaton pass plus the watches it is actually about, however long the watchlist;
positions, terms and the snippet are worked out only for the watches that matched.  A watch's filters
(``languages``, ``sources``, ``exclude_sources``: filters.py) are asked only once its query matched, so the
language of an item is detected only when some filtered watch wants it.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter

from newswatch.config import EntityConfig, WatchConfig
from newswatch.constants import MAX_SHOWN_HITS, MAX_SHOWN_HITS_PER_CLAUSE
from newswatch.match.compiled import Hits, Truth, compile_hits, compile_truth
from newswatch.match.engine import Index, Span
from newswatch.match.entities import entity_keys
from newswatch.match.evaluate import CompiledEntity, Evaluation, Leaf, Resolved
from newswatch.match.explain import Explanation, miss_reason
from newswatch.match.filters import NO_FILTER, ItemFacts, WatchFilter, compile_filter
from newswatch.match.query import And, EntityRef, Near, Node, Not, Or, QuerySyntaxError, Scope, Term, parse
from newswatch.match.snippet import Display, Found, make_snippet, unique_terms
from newswatch.match.text import key_of, prepare, tokenize
from newswatch.models import Item, Match


@dataclass(frozen=True, slots=True)
class CompiledWatch:
    name: str
    query: str
    node: Node
    filter: WatchFilter = NO_FILTER  # languages, sources, exclude_sources (filters.py)


def compile_watches(entities: Mapping[str, EntityConfig], watches: Sequence[WatchConfig]) -> Matcher:
    """Parse and compile every watch into one :class:`Matcher`.

    Raises :class:`QuerySyntaxError` for the first watch that does not parse or names an unknown entity.
    """
    parsed = [CompiledWatch(w.name, w.query, parse_watch(w, entities), compile_filter(w)) for w in watches]
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


# Trigger choice: a group's expected frequency is the sum of its atoms' frequencies (the share of items in
# which the atom occurs).  Until items have been seen, the shape of a key is the guide (as Lucene Monitor's
# default term weighting): longer words are rarer (half as frequent every three letters), an entity's name is
# rarer than a query word, a phrase rarer than a word (each extra word about five times), a misspelling (fuzzy
# variant) very rare, and a prefix stands for many words.  The matcher then counts which atoms occur and
# re-plans after 256, 1,024, 4,096 ... items with observed frequencies (counted on every SAMPLE_EVERY-th
# item; the prior counts as PRIOR_ITEMS sampled items).  A wrong guess costs a few more set tests per item,
# never a different answer: every group is a necessary condition, so any trigger finds the same watches.
_WORD_PRIOR = 0.05
_ALIAS_PRIOR = 0.01
_FUZZY_PRIOR = 0.00002
_PHRASE_FACTOR = 0.2
_PREFIX_FACTOR = 3.0
_HALVING_LETTERS = 3.0
PRIOR_ITEMS = 64  # sampled items' worth of confidence in the prior
SAMPLE_EVERY = 4  # count the atoms of one item in this many
FIRST_REPLAN = 256
REPLAN_GROWTH = 4
MAX_REPLAN_INTERVAL = 65536
_first = itemgetter(0)

Group = frozenset[int]


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which watches to consider for an item: replaced as a whole, so a concurrent match() sees one plan."""

    by_atom: dict[int, tuple[int, ...]]  # trigger atom -> watches (indices)
    checks: tuple[tuple[Group, ...], ...]  # per watch: requirement groups not implied by its trigger
    triggers: tuple[Group | None, ...]  # per watch: its trigger, None for watches evaluated on every item


class Matcher:
    """Every watch compiled into one automaton plus query trees; :meth:`match` is pure and synchronous.

    (Pure in its results: the matcher does keep counts of the atoms it has seen, to pick better triggers.)
    """

    def __init__(self, entities: Mapping[str, EntityConfig], watches: Sequence[CompiledWatch]) -> None:
        self.watches = tuple(watches)
        self._index = Index()
        self._resolved = Resolved()
        self._prior: dict[int, float] = {}
        for name in sorted({r.name for w in watches for r in entity_refs(w.node)}):
            keys = entity_keys(name, entities[name])
            aliases = []
            for alias in keys.aliases:
                atom = self._index.add(alias.key, alias.cased)
                aliases.append(atom)
                self._weigh(atom, alias.key, _FUZZY_PRIOR if alias.fuzzy else _ALIAS_PRIOR)
            excludes = tuple(self._index.add(k) for k in keys.excludes)
            self._resolved.entities[name] = CompiledEntity(keys, tuple(aliases), excludes, frozenset(aliases))
        self._groups: list[list[Group] | None] = []
        self._truth: list[Truth] = []
        self._hits: list[Hits] = []
        for w in self.watches:
            self._resolve(w.node)
            self._groups.append(self._requirements(w.node))
            self._truth.append(compile_truth(w.node, self._resolved))
            self._hits.append(compile_hits(w.node, self._resolved))
        self._always = tuple(i for i, g in enumerate(self._groups) if g is None)
        self._index.build()
        self._seen: Counter[int] = Counter()  # atom -> sampled items it occurred in
        self._sampled = 0
        self._items = 0
        self._next_plan = FIRST_REPLAN
        self._group_priors = {g: self._prior_cost(g) for gs in self._groups if gs for g in gs}
        self._plan = self._make_plan(self._group_priors)

    def __len__(self) -> int:
        return len(self.watches)

    # -- compiling ------------------------------------------------------------------------------------------

    def _weigh(self, atom: int, key: str, prior: float) -> None:
        words = key.split()
        letters = sum(map(len, words))
        prior *= _PHRASE_FACTOR ** (len(words) - 1) * 0.5 ** ((letters - 4) / _HALVING_LETTERS)
        if not key.endswith(" "):
            prior *= _PREFIX_FACTOR
        self._prior[atom] = min(prior, self._prior.get(atom, prior))

    def _prior_cost(self, group: Group) -> float:
        return sum(map(self._prior.__getitem__, group))

    def _make_plan(self, costs: dict[Group, float], old: _Plan | None = None) -> _Plan:
        """Each watch under its cheapest (expected rarest) requirement group; from ``old``, only the watches
        whose trigger changed are moved (registering every trigger atom of a watchlist takes a while)."""
        triggers = tuple(None if gs is None else min(gs, key=costs.__getitem__) for gs in self._groups)
        if old is None:
            lists: dict[int, list[int]] = {}
            for i, trigger in enumerate(triggers):
                for atom in trigger or ():
                    lists.setdefault(atom, []).append(i)
            by_atom = {a: tuple(ws) for a, ws in lists.items()}
            checks = [self._checks(i, t) for i, t in enumerate(triggers)]
            return _Plan(by_atom, tuple(checks), triggers)
        moved = [i for i, t in enumerate(triggers) if t is not old.triggers[i] and t != old.triggers[i]]
        if not moved:
            return old
        by_atom, checks = dict(old.by_atom), list(old.checks)
        for i in moved:
            for atom in old.triggers[i] or ():
                rest = tuple(w for w in by_atom[atom] if w != i)
                if rest:
                    by_atom[atom] = rest
                else:
                    del by_atom[atom]
            for atom in triggers[i] or ():
                by_atom[atom] = (*by_atom.get(atom, ()), i)
            checks[i] = self._checks(i, triggers[i])
        return _Plan(by_atom, tuple(checks), triggers)

    def _checks(self, i: int, trigger: Group | None) -> tuple[Group, ...]:
        """The requirement groups of watch ``i`` still to test once its trigger occurred."""
        if trigger is None:
            return ()
        # A group containing the trigger is met whenever the trigger is: no need to test it again.
        return tuple(dict.fromkeys(g for g in self._groups[i] or () if not trigger <= g))

    def _replan(self) -> None:
        """Triggers from the frequencies observed so far (the prior counting as PRIOR_ITEMS sampled items)."""
        seen = self._seen
        costs: dict[Group, float] = {}
        # Expected occurrences per item, summed over a group: counts only for the atoms that were seen (a
        # fuzzy entity's hundreds of spellings are mostly not), so a re-plan costs milliseconds.
        for g, prior in self._group_priors.items():
            counted = sum(map(seen.__getitem__, g & seen.keys())) if seen else 0
            costs[g] = counted + prior * PRIOR_ITEMS
        self._plan = self._make_plan(costs, self._plan)
        self._next_plan = self._items + min(self._items * (REPLAN_GROWTH - 1), MAX_REPLAN_INTERVAL)

    def _resolve(self, node: Node) -> None:
        if isinstance(node, Term):
            if node not in self._resolved.terms:
                words = tokenize(node.text)
                if not words:
                    self._resolved.terms[node] = None
                else:
                    key = key_of(words)
                    key = key[:-1] if node.kind == "prefix" else key
                    atom = self._resolved.terms[node] = self._index.add(key)
                    self._weigh(atom, key, _WORD_PRIOR)
        elif isinstance(node, And | Or):
            for c in node.children:
                self._resolve(c)
        elif isinstance(node, Not | Scope):
            self._resolve(node.child)
        elif isinstance(node, Near):
            self._resolve(node.left)
            self._resolve(node.right)

    def _requirements(self, node: Node) -> list[Group] | None:
        """Groups of atoms, each of which must have one atom in an item for ``node`` to be true; None when
        ``node`` can be true with no atom at all (``*``, ``NOT x``).  An empty group means "never true"."""
        if isinstance(node, Term):
            atom = self._resolved.terms[node]
            return [frozenset() if atom is None else frozenset((atom,))]
        if isinstance(node, EntityRef):
            return [self._resolved.entities[node.name].alias_set]
        if isinstance(node, Scope):
            return self._requirements(node.child)
        if isinstance(node, And | Near):
            children = node.children if isinstance(node, And) else (node.left, node.right)
            subs = [sub for sub in map(self._requirements, children) if sub is not None]
            return [g for sub in subs for g in sub] if subs else None
        if isinstance(node, Or):
            # One group: any alternative's requirement.  Each alternative contributes its rarest group.
            union: set[int] = set()
            for c in node.children:
                sub = self._requirements(c)
                if sub is None:
                    return None
                best: Group = min(sub, key=self._prior_cost)
                union.update(best)
            return [frozenset(union)]
        return None  # Not, All

    # -- matching -------------------------------------------------------------------------------------------

    def match(self, item: Item) -> list[Match]:
        """The watches ``item`` matches, in watchlist order, each with its terms and snippet."""
        scan = self._index.scan(prepare(item.title, item.summary, item.content))
        present = scan.present
        plan = self._plan  # read once: a re-plan replaces it as a whole
        self._items += 1
        if not self._items % SAMPLE_EVERY:  # frequencies from a sample: counting costs a few us per item
            self._seen.update(present)
            self._sampled += 1
        if self._items >= self._next_plan:
            self._replan()
        by_atom = plan.by_atom
        candidates = set(self._always)
        for atom in by_atom.keys() & present:
            candidates.update(by_atom[atom])
        if not candidates:
            return []
        ev = Evaluation(self._resolved, scan)
        out: list[Match] = []
        display: Display | None = None
        facts: ItemFacts | None = None  # what the filters read of the item, worked out once
        checks, truth = plan.checks, self._truth
        for i in sorted(candidates):
            for group in checks[i]:
                if group.isdisjoint(present):
                    break
            else:
                if truth[i](ev):
                    w = self.watches[i]
                    if w.filter.active:
                        facts = facts or ItemFacts(item)
                        if w.filter.refuse(facts) is not None:
                            continue
                    display = display or Display(ev.prep)
                    found = self._locate(display, w, self._hits[i](ev))
                    snippet, spans = make_snippet(display.text, found)
                    out.append(Match(w.name, unique_terms(found), snippet, spans))
        return out

    def explain(self, item: Item) -> list[Explanation]:
        """For every watch, whether ``item`` matches and why (slow path: evaluates every watch)."""
        ev = Evaluation(self._resolved, self._index.scan(prepare(item.title, item.summary, item.content)))
        display = Display(ev.prep)
        facts = ItemFacts(item)
        out: list[Explanation] = []
        for w in self.watches:
            matched = ev.truth(w.node)
            found = self._found(ev, display, w, matched)
            snippet, spans = make_snippet(display.text, found)
            refused = w.filter.refuse(facts) if matched and w.filter.active else None
            if refused is not None:  # the query matches, but the watch does not consider such items
                out.append(Explanation(w.name, w.query, False, tuple(found), snippet, spans,
                                       w.filter.describe(), refused))  # fmt: skip
                continue
            if matched:
                out.append(Explanation(w.name, w.query, True, tuple(found), snippet, spans))
                continue
            clause, fld = ev.failing(w.node)
            reason = miss_reason(ev, clause, fld, w.query)
            failed = w.query[clause.start : clause.end]
            out.append(Explanation(w.name, w.query, False, tuple(found), snippet, spans, failed, reason))
        return out

    def _found(self, ev: Evaluation, display: Display, w: CompiledWatch, matched: bool) -> list[Found]:
        return self._locate(display, w, ev.hits(w.node) if matched else ev.leaves(w.node))

    @staticmethod
    def _locate(display: Display, w: CompiledWatch, hits: list[tuple[Span, Leaf]]) -> list[Found]:
        """Each distinct (span, clause) of ``hits`` as written in the item, in text order, capped.

        Only what is shown is capped (the first MAX_SHOWN_HITS_PER_CLAUSE occurrences of each clause, and
        MAX_SHOWN_HITS in all): the watch matched on every occurrence, but an item repeating a term thousands of
        times must not cost thousands of located words, nor a snippet search over them.
        """
        seen: set[tuple[Span, str]] = set()
        per_clause: Counter[str] = Counter()
        found: list[Found] = []
        for span, leaf in sorted(hits, key=_first):
            clause = w.query[leaf.start : leaf.end]
            if (span, clause) in seen or per_clause[clause] >= MAX_SHOWN_HITS_PER_CLAUSE:
                continue
            seen.add((span, clause))
            per_clause[clause] += 1
            found.append(display.locate(span, clause))
            if len(found) >= MAX_SHOWN_HITS:
                break
        return found
