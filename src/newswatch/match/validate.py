"""Static checks of a watchlist for `newswatch check`: every problem, not just the first.

Owns the list of things a config can get wrong in the matching language: syntax errors (with a caret under
the position), unknown ``@entity`` references, entities without usable aliases, and queries that can never
match (``NOT *``, ``x AND NOT x``, a term without letters, an entity without aliases).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from newswatch.config import EntityConfig, WatchConfig
from newswatch.match.entities import entity_keys, is_capitalised
from newswatch.match.matcher import entity_refs
from newswatch.match.query import (
    All,
    And,
    EntityRef,
    Near,
    Node,
    Not,
    Or,
    QuerySyntaxError,
    Scope,
    Term,
    parse,
)
from newswatch.match.text import tokenize


def validate_watches(entities: Mapping[str, EntityConfig], watches: Sequence[WatchConfig]) -> list[str]:
    """Every problem found, one message each (multi-line for syntax errors); ``[]`` when all is well."""
    problems: list[str] = []
    usable: set[str] = set()
    for name, cfg in entities.items():
        keys = entity_keys(name, cfg)
        if keys.aliases:
            usable.add(name)
        elif keys.empty_aliases:
            listed = ", ".join(repr(a) for a in keys.empty_aliases)
            problems.append(
                f"entity {name!r}: aliases {listed} have no letters or digits; @{name} never matches"
            )
        else:
            problems.append(f"entity {name!r} has no aliases; @{name} can never match")
    for w in watches:
        try:
            node = parse(w.query)
        except QuerySyntaxError as exc:
            problems.append(QuerySyntaxError(exc.message, exc.query, exc.position, w.name).render())
            continue
        unknown = [r for r in entity_refs(node) if r.name not in entities]
        for ref in unknown:
            close = difflib.get_close_matches(ref.name, list(entities), n=1)
            hint = f" (did you mean @{close[0]}?)" if close else ""
            problems.append(
                QuerySyntaxError(f"unknown entity @{ref.name}{hint}", w.query, ref.start, w.name).render()
            )
        if unknown:
            continue
        reason = never(node, usable, w.query)
        if reason:
            problems.append(f"watch {w.name!r}: query can never match: {reason}")
    return problems


def never(node: Node, usable: set[str], query: str) -> str | None:
    """Why ``node`` can never be true, or None when it can (as far as a static look can tell)."""
    src = query[node.start : node.end]
    if isinstance(node, Term):
        return None if tokenize(node.text) else f"{src!r} has no letters or digits"
    if isinstance(node, EntityRef):
        return None if node.name in usable else f"@{node.name} has no usable aliases"
    if isinstance(node, Scope):
        return never(node.child, usable, query)
    if isinstance(node, Near):
        return never(node.left, usable, query) or never(node.right, usable, query)
    if isinstance(node, Not):
        return f"{src!r} excludes every item" if always(node.child, usable, query) else None
    if isinstance(node, Or):
        reasons = [never(c, usable, query) for c in node.children]
        return None if any(r is None for r in reasons) else reasons[0]
    if isinstance(node, And):
        for c in node.children:
            reason = never(c, usable, query)
            if reason:
                return reason
        negated = [c.child for c in node.children if isinstance(c, Not)]
        for c in node.children:
            if not isinstance(c, Not) and c in negated:
                return f"{src!r} requires a clause and its negation"
    return None


def always(node: Node, usable: set[str], query: str) -> bool:
    """Whether ``node`` is true for every item (``*``, ``NOT`` of something that never matches)."""
    if isinstance(node, All):
        return True
    if isinstance(node, Not):
        return never(node.child, usable, query) is not None
    if isinstance(node, Or):
        return any(always(c, usable, query) for c in node.children)
    if isinstance(node, And):
        return all(always(c, usable, query) for c in node.children)
    return False


def case_warnings(entities: Mapping[str, EntityConfig]) -> list[str]:
    """Aliases in capitals that hold a space or a digit ("737 MAX 9"): they match only in those capitals, so an
    AP-style "737 Max 9" is missed.  Short acronyms (US, U.S., NATO) are what the rule is for, and an alias with
    ``case_sensitive`` set says what it wants: neither is warned about."""
    out = []
    for name, cfg in entities.items():
        for spec in cfg.aliases:
            if not isinstance(spec, str):
                continue  # {text: …, case_sensitive: …}: the choice was made
            if is_capitalised(spec) and (" " in spec.strip() or any(c.isdigit() for c in spec)):
                out.append(
                    f"@{name}: alias {spec!r} is in capitals, so it matches only in capitals "
                    f"({_other_case(spec)!r} would not match); write {{text: {spec!r}, case_sensitive: false}} "
                    "to match any case"
                )
    return out


def _other_case(alias: str) -> str:
    """The alias as a headline style would write it: "737 MAX 9" -> "737 Max 9"."""
    return " ".join(w[:1] + w[1:].lower() if w.isalpha() else w for w in alias.split())
