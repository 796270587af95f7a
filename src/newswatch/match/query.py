"""The watch query language: lexer, recursive-descent parser, syntax tree and :class:`QuerySyntaxError`.

Grammar (operators are upper case; adjacency means AND; precedence NEAR > NOT > AND > OR)::

    query    := or EOF
    or       := and ("OR" and)*
    and      := not (["AND"] not)*
    not      := "NOT" not | near
    near     := primary ("NEAR" ["/" n] primary)*          -- bare NEAR means NEAR/10
    primary  := "(" or ")" | field ":" primary | term
    term     := word | word* | "phrase" | @entity | *
    field    := title | summary | content

Parsing never raises anything but :class:`QuerySyntaxError` (a property test feeds it arbitrary text).
Nodes carry their source span so an explanation can quote the clause that failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from dataclasses import field as _field
from typing import Literal

from newswatch.match.text import FIELDS

MAX_DEPTH = 64
DEFAULT_NEAR = 10
_QUOTES = '"“”„'
_STOP = set(" \t\r\n()") | set(_QUOTES)
_NEAR_RE = re.compile(r"NEAR(?:/(\d{1,6}))?")


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed (or names an unknown entity); ``render()`` shows a caret under it."""

    def __init__(self, message: str, query: str, position: int, watch: str | None = None) -> None:
        self.message = message
        self.query = query
        self.position = max(0, min(position, len(query)))
        self.watch = watch
        super().__init__(self.render())

    def render(self) -> str:
        who = f"watch {self.watch!r}: " if self.watch else ""
        # Tabs and newlines would move the caret; show them as spaces.
        shown = re.sub(r"\s", " ", self.query)
        return f"{who}{self.message} (at position {self.position})\n    {shown}\n    {' ' * self.position}^"

    def __str__(self) -> str:
        return self.render()


# --------------------------------------------------------------------------------------------------------------
# Syntax tree


@dataclass(frozen=True, slots=True)
class Term:
    kind: Literal["word", "phrase", "prefix"]
    text: str  # as written, without quotes or the trailing *
    start: int = _field(default=0, compare=False)
    end: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class EntityRef:
    name: str
    start: int = _field(default=0, compare=False)
    end: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class All:
    start: int = _field(default=0, compare=False)
    end: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    start: int = _field(default=0, compare=False)
    end: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    start: int = _field(default=0, compare=False)
    end: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    start: int = _field(default=0, compare=False)
    end: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int
    start: int = _field(default=0, compare=False)
    end: int = _field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Scope:
    field: str  # one of FIELDS
    child: Node
    start: int = _field(default=0, compare=False)
    end: int = _field(default=0, compare=False)


Node = Term | EntityRef | All | And | Or | Not | Near | Scope


def has_positions(node: Node) -> bool:
    """Whether a node yields word positions (what NEAR needs on each side)."""
    if isinstance(node, Term | EntityRef | Near):
        return True
    if isinstance(node, Scope):
        return has_positions(node.child)
    if isinstance(node, Or):
        return all(has_positions(c) for c in node.children)
    return False


# --------------------------------------------------------------------------------------------------------------
# Lexer


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # LP RP AND OR NOT NEAR WORD PREFIX PHRASE ENTITY STAR FIELD
    value: str
    start: int
    end: int
    n: int = 0


def _lex(q: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
        elif c in "()":
            toks.append(_Tok("LP" if c == "(" else "RP", c, i, i + 1))
            i += 1
        elif c in _QUOTES:
            j = next((k for k in range(i + 1, n) if q[k] in _QUOTES), -1)
            if j < 0:
                raise QuerySyntaxError('unterminated phrase: add the closing "', q, i)
            if not q[i + 1 : j].strip():
                raise QuerySyntaxError("empty phrase", q, i)
            toks.append(_Tok("PHRASE", q[i + 1 : j], i, j + 1))
            i = j + 1
        else:
            j = i
            while j < n and q[j] not in _STOP:
                j += 1
            toks.append(_word_token(q, q[i:j], i, j))
            if toks[-1].kind == "FIELD":
                j = toks[-1].end
            i = j
    return toks


def _word_token(q: str, word: str, i: int, j: int) -> _Tok:
    if word in ("AND", "OR", "NOT"):
        return _Tok(word, word, i, j)
    if word == "NEAR" or word.startswith("NEAR/"):
        m = _NEAR_RE.fullmatch(word)
        if not m:
            raise QuerySyntaxError("NEAR takes a word distance: write NEAR/5", q, i)
        return _Tok("NEAR", word, i, j, int(m.group(1)) if m.group(1) else DEFAULT_NEAR)
    if word.startswith("@"):
        if len(word) == 1:
            raise QuerySyntaxError("expected an entity name after @", q, i + 1)
        return _Tok("ENTITY", word[1:], i, j)
    if word == "*":
        return _Tok("STAR", word, i, j)
    m = re.match(r"([A-Za-z]+):", word)
    if m:
        name = m.group(1)
        if name.lower() in FIELDS:
            return _Tok("FIELD", name.lower(), i, i + m.end())
        if len(word) > m.end():
            raise QuerySyntaxError(f"unknown field {name!r}: fields are title:, summary: and content:", q, i)
    star = word.find("*")
    if star >= 0:
        if star != len(word) - 1:
            raise QuerySyntaxError("a * wildcard can only end a word (negotiat*)", q, i + star)
        stem = word[:-1]
        if len(stem) < 2 or not stem[-1].isalnum():
            raise QuerySyntaxError("a prefix needs at least 2 letters or digits before *", q, i + star)
        return _Tok("PREFIX", stem, i, j)
    return _Tok("WORD", word, i, j)


# --------------------------------------------------------------------------------------------------------------
# Parser


def parse(query: str) -> Node:
    """The syntax tree of ``query``; raises :class:`QuerySyntaxError` with the position of the problem."""
    return _Parser(query, _lex(query)).parse()


_STARTS = {"LP", "FIELD", "WORD", "PREFIX", "PHRASE", "ENTITY", "STAR", "NOT"}


class _Parser:
    def __init__(self, query: str, toks: list[_Tok]) -> None:
        self.q = query
        self.toks = toks
        self.i = 0
        self.depth = 0

    def error(self, message: str, position: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.q, position)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def here(self) -> int:
        tok = self.peek()
        return tok.start if tok else len(self.q)

    def parse(self) -> Node:
        if not self.toks:
            raise self.error("empty query: write a term, or * for every item", 0)
        node = self.or_()
        tok = self.peek()
        if tok is not None:
            if tok.kind == "RP":
                raise self.error("unbalanced ')': nothing to close", tok.start)
            raise self.error(f"unexpected {tok.value!r}", tok.start)
        return node

    def nest(self, at: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"query nested more than {MAX_DEPTH} levels deep", at)

    def expect_term(self, after: _Tok) -> None:
        tok = self.peek()
        if tok is None or tok.kind not in _STARTS:
            raise self.error(f"expected a term after {after.value}", self.here())

    def or_(self) -> Node:
        parts = [self.and_()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.i += 1
            self.expect_term(tok)
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Or(tuple(parts), parts[0].start, parts[-1].end)

    def and_(self) -> Node:
        parts = [self.not_()]
        while (tok := self.peek()) is not None:
            if tok.kind == "AND":
                self.i += 1
                self.expect_term(tok)
            elif tok.kind not in _STARTS:
                break
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else And(tuple(parts), parts[0].start, parts[-1].end)

    def not_(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "NOT":
            self.i += 1
            self.expect_term(tok)
            self.nest(tok.start)
            child = self.not_()
            self.depth -= 1
            return Not(child, tok.start, child.end)
        return self.near()

    def near(self) -> Node:
        left = self.primary()
        while (tok := self.peek()) is not None and tok.kind == "NEAR":
            self.i += 1
            right = self.primary()
            for side in (left, right):
                if not has_positions(side):
                    raise self.error(
                        "NEAR needs a word, phrase, prefix, @entity or (a OR b) on each side", side.start
                    )
            left = Near(left, right, tok.n, left.start, right.end)
        return left

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.error("the query ends too early: expected a term", len(self.q))
        self.i += 1
        if tok.kind == "LP":
            self.nest(tok.start)
            if (nxt := self.peek()) is not None and nxt.kind == "RP":
                raise self.error("empty parentheses", tok.start)
            node = self.or_()
            close = self.peek()
            if close is None or close.kind != "RP":
                raise self.error("unbalanced '(': missing ')'", tok.start)
            self.i += 1
            self.depth -= 1
            return replace(node, start=tok.start, end=close.end)
        if tok.kind == "FIELD":
            self.nest(tok.start)
            child = self.primary()
            self.depth -= 1
            return Scope(tok.value, child, tok.start, child.end)
        if tok.kind in ("WORD", "PHRASE", "PREFIX"):
            kind: Literal["word", "phrase", "prefix"] = (
                "word" if tok.kind == "WORD" else ("phrase" if tok.kind == "PHRASE" else "prefix")
            )
            return Term(kind, tok.value, tok.start, tok.end)
        if tok.kind == "ENTITY":
            return EntityRef(tok.value, tok.start, tok.end)
        if tok.kind == "STAR":
            return All(tok.start, tok.end)
        if tok.kind == "RP":
            raise self.error("unbalanced ')': nothing to close", tok.start)
        if tok.kind == "NOT":
            raise self.error("NOT cannot stand here; put it in parentheses: (NOT x)", tok.start)
        raise self.error(f"expected a term before {tok.value}", tok.start)
