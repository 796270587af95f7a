"""A straightforward reference evaluation of watch queries, to check the engine against.

No automaton, no presearch, no lazy spans, no compiled closures: each field is tokenised on its own with
``tokenize`` (the one definition of a word), every query term is looked for by walking the token list, and the
query tree is evaluated recursively for every watch.  Positions are word indices in the item's word stream
(title words, a separator, summary words, a separator, content words), which is what NEAR distances count.
Alias keys (case rule, fuzzy spellings) come from ``entity_keys``: what an alias means is the entities module's
business; finding it in an item is what this checks.
"""

from __future__ import annotations

from collections.abc import Mapping

from newswatch.config import EntityConfig
from newswatch.match.entities import EntityKeys, entity_keys
from newswatch.match.query import All, And, EntityRef, Near, Node, Not, Or, Scope, Term
from newswatch.match.text import FIELDS, tokenize
from newswatch.models import Item

Span = tuple[int, int]  # first and last word index in the stream, inclusive


_KEYS: dict[tuple[int, str], EntityKeys] = {}  # entity_keys() is slow for fuzzy entities: once per mapping


def _entity_keys(entities: Mapping[str, EntityConfig], name: str) -> EntityKeys:
    got = _KEYS.get((id(entities), name))
    if got is None:
        got = _KEYS[(id(entities), name)] = entity_keys(name, entities[name])
    return got


class ReferenceItem:
    def __init__(self, item: Item, entities: Mapping[str, EntityConfig]) -> None:
        self.entities = entities
        self.words: list[str] = []  # case kept, diacritics folded; separators are ""
        self.field: list[int] = []
        for f, text in enumerate((item.title, item.summary, item.content)):
            if f:
                self.words.append("")
                self.field.append(-1)
            tokens = tokenize(text)
            self.words += tokens
            self.field += [f] * len(tokens)
        self.lower = [w.lower() for w in self.words]
        self.at: dict[str, list[int]] = {}  # word -> its indices, so a fuzzy entity's 700 keys stay cheap
        for i, w in enumerate(self.lower):
            self.at.setdefault(w, []).append(i)

    def find(self, words: list[str], prefix: bool = False, cased: list[str] | None = None) -> list[Span]:
        """Where a word sequence occurs (the last word as a prefix when ``prefix``) within one field."""
        n, out = len(words), []
        starts = range(len(self.lower) - n + 1) if prefix and n == 1 else self.at.get(words[0], [])
        for i in starts:
            got = self.lower[i : i + n]
            if len(got) < n:
                continue
            if "" in got:
                continue  # never across fields
            if got[:-1] != words[:-1]:
                continue
            if not (got[-1].startswith(words[-1]) if prefix else got[-1] == words[-1]):
                continue
            if cased is not None and self.words[i : i + n] != cased:
                continue
            out.append((i, i + n - 1))
        return out

    def entity(self, name: str) -> list[Span]:
        keys = _entity_keys(self.entities, name)
        found: set[Span] = set()
        for alias in keys.aliases:
            cased = alias.cased.split() if alias.cased else None
            found.update(self.find(alias.key.split(), cased=cased))
        vetoes = [s for key in keys.excludes for s in self.find(key.split())]
        kept = sorted(s for s in found if not any(v[0] <= s[0] and s[1] <= v[1] for v in vetoes))
        # one mention, however many aliases cover it: drop spans inside another
        return [s for s in kept if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in kept)]

    def spans(self, node: Node, fld: int | None) -> list[Span]:
        if isinstance(node, Term):
            words = [w.lower() for w in tokenize(node.text)]
            found = self.find(words, prefix=node.kind == "prefix") if words else []
        elif isinstance(node, EntityRef):
            found = self.entity(node.name)
        elif isinstance(node, Scope):
            return self.spans(node.child, FIELDS.index(node.field))
        elif isinstance(node, Or):
            return sorted({s for c in node.children for s in self.spans(c, fld)})
        elif isinstance(node, Near):
            pairs = set()
            for a in self.spans(node.left, fld):
                for b in self.spans(node.right, fld):
                    gap = b[0] - a[1] - 1 if b[0] > a[1] else a[0] - b[1] - 1
                    if max(gap, 0) <= node.distance:
                        pairs.add((min(a[0], b[0]), max(a[1], b[1])))
            return sorted(pairs)
        else:
            return []
        return found if fld is None else [s for s in found if self.field[s[0]] == fld]

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
