"""Explanations: why a watch matched an item or not, as data (``to_dict`` for ``--json``) and as text.

Owns the wording of misses.  A miss names the innermost clause that failed (the first false operand of an
AND, a whole OR whose alternatives are all absent, a NOT whose clause occurs, a NEAR whose sides are too far
apart) and says why in one sentence; every query term that does occur is listed with its position either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from newswatch.match.entities import AliasKey
from newswatch.match.evaluate import Evaluation
from newswatch.match.query import All, And, EntityRef, Near, Node, Not, Or, Scope, Term
from newswatch.match.snippet import Found
from newswatch.match.text import FIELDS


@dataclass(frozen=True, slots=True)
class Explanation:
    """One watch against one item."""

    watch: str
    query: str
    matched: bool
    # matched: the occurrences that made it match; miss: every occurrence of any term of the query
    terms: tuple[Found, ...]
    snippet: str
    snippet_hits: tuple[tuple[int, int], ...] = ()
    failed_clause: str | None = None  # the query text of the clause that failed (misses only)
    reason: str | None = None  # one sentence on why that clause failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "watch": self.watch,
            "query": self.query,
            "matched": self.matched,
            "terms": [t.to_dict() for t in self.terms],
            "snippet": self.snippet,
            "snippet_hits": [list(s) for s in self.snippet_hits],
            "failed_clause": self.failed_clause,
            "reason": self.reason,
        }

    def format(self) -> str:
        """A few human-readable lines (the hits in the snippet marked with **)."""
        mark = "MATCH" if self.matched else "no match"
        lines = [f"{mark}  {self.watch}   [{self.query}]"]
        if not self.matched:
            lines.append(f"    failed: {self.failed_clause}  ({self.reason})")
        if self.terms:
            label = "matched" if self.matched else "found"
            shown = ", ".join(f"{t.text!r} ({t.clause}) at {t.field} word {t.word}" for t in self.terms[:12])
            more = f" … and {len(self.terms) - 12} more" if len(self.terms) > 12 else ""
            lines.append(f"    {label}: {shown}{more}")
        if self.matched and self.snippet:
            lines.append(f"    snippet: {bold(self.snippet, self.snippet_hits, '**')}")
        return "\n".join(lines)


def format_explanations(explanations: Sequence[Explanation]) -> str:
    return "\n".join(e.format() for e in explanations)


def bold(snippet: str, spans: Sequence[tuple[int, int]], marker: str = "*") -> str:
    """The snippet with each hit span wrapped in ``marker`` (Slack's bold is ``*``)."""
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        out += [snippet[pos:start], marker, snippet[start:end], marker]
        pos = end
    out.append(snippet[pos:])
    return "".join(out)


def miss_reason(ev: Evaluation, node: Node, fld: int | None, query: str) -> str:
    """Why a false clause is false, in one sentence."""
    where = f" in the {FIELDS[fld]}" if fld is not None else ""
    if isinstance(node, Term):
        what = {"word": "the word", "phrase": "the phrase", "prefix": "no word starting with"}[node.kind]
        if node.kind == "prefix":
            text = f"{what} {node.text!r}{where}"
        else:
            text = f"no {what.removeprefix('the ')} {node.text!r}{where}"
        if ev.resolved.terms.get(node) is None:
            return f"{text}: the term has no letters or digits"
        if fld is not None and ev.spans(node):
            return f"{text} (it occurs elsewhere in the item)"
        return text
    if isinstance(node, EntityRef):
        ent = ev.resolved.entities.get(node.name)
        if ent is None:
            return f"unknown entity @{node.name}"
        raw = sum(len(ev.scan.spans(a)) for a in ent.alias_set & ev.present)
        aliases = ", ".join(ent.keys.alias_texts) or "none"
        text = f"no alias of @{node.name} ({ent.keys.label}: {aliases}){where}"
        if raw and not ev.entity_spans(node.name):
            return f"{text}; {raw} occurrence(s) were inside an excluded phrase"
        if fld is not None and ev.spans(node):
            return f"{text} (it occurs elsewhere in the item)"
        return text + _case_only(ev, ent.keys.aliases)
    if isinstance(node, Near):
        closest = ev.closest(node, fld)
        if closest is None:
            missing = node.left if not ev.spans(node.left, fld) else node.right
            return f"{_src(query, missing)!r} does not occur{where}"
        return (
            f"both sides occur{where} but never within {node.distance} words (closest: {closest} words apart)"
        )
    if isinstance(node, Or):
        return f"none of the alternatives occurs{where}"
    if isinstance(node, Not):
        found = sorted({_src(query, leaf) for _, leaf in ev.leaves(node.child, fld)})
        return f"the excluded clause occurs{where}" + (f": {', '.join(found)}" if found else "")
    if isinstance(node, Scope):
        return miss_reason(ev, node.child, FIELDS.index(node.field), query)
    if isinstance(node, And):
        return "one of its clauses is missing"
    if isinstance(node, All):
        return "matches every item"
    return "does not match"


def _case_only(ev: Evaluation, aliases: Sequence[AliasKey]) -> str:
    """When an alias in capitals occurs in other capitals ("737 Max 9" for "737 MAX 9"), that is why it failed:
    say so (an empty string otherwise)."""
    for a in aliases:
        if a.cased is None:
            continue
        at = ev.prep.lower.find(a.key)
        if at >= 0 and ev.prep.stream[at : at + len(a.key)] != a.cased:
            written = ev.prep.stream[at : at + len(a.key)].strip()
            return (
                f"; {a.alias!r} differs only in case from the item's {written!r}: an alias written in capitals "
                f"matches only in capitals (write {{text: {a.alias!r}, case_sensitive: false}} to match any case)"
            )
    return ""


def _src(query: str, node: Node) -> str:
    return query[node.start : node.end]
