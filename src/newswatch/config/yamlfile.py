"""The YAML layer of config loading: one libyaml parse into a node tree that is checked while it is built.

Owns turning config text into plain data plus line numbers, and refusing YAML that would hurt: alias bombs,
nesting deep enough to crash a parser, duplicate keys, and tags that name anything but plain YAML values.  It
knows nothing about config keys or types (that is config.py).

How: libyaml (PyYAML's ``CParser``) scans and parses; PyYAML's own ``Composer`` builds the node tree from those
events, with the checks added as each node is made; PyYAML's ``SafeConstructor`` turns that same tree into
data; the tree is kept so an error found later (a bad value, an unset variable) can name its line.  We do not
use ``CSafeLoader``'s built-in composer: it is recursive C code that 100,000 nested ``[`` crash with a
segmentation fault, and it cannot be checked while it composes, so an alias bomb would be noticed only after
the fact and without the alias's position.  On the 17,000-line benchmark config the checked Python composer
costs about 1.3x the C one, and building plain strings without the constructor's generic dispatch wins that
back: the whole load costs about what ``yaml.load(text, CSafeLoader)`` does (benchmarks/bench_config.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from newswatch import constants as C

try:
    from yaml import CSafeLoader

    class _Loader(Composer, CSafeLoader):
        """libyaml's C scanner and parser under PyYAML's Python composer (first in the MRO, so it replaces the
        C composer), the safe constructor and the standard resolver."""

        def __init__(self, text: str) -> None:
            CSafeLoader.__init__(self, text)
            Composer.__init__(self)

except ImportError:  # PyYAML built without libyaml: the same checks on the pure-Python parser, ~10x slower
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Loc = tuple[str | int, ...]

_STD = "tag:yaml.org,2002:"
_STR_TAG = _STD + "str"
_MERGE_TAG = _STD + "merge"
# The tags the safe constructor builds (null, bool, int, float, str, seq, map, timestamp, binary, set, omap,
# pairs, and the merge key): plain YAML values.  Any other tag (``!!python/object/apply:…``, ``!foo``) is refused.
_KNOWN_TAGS = frozenset(t for t in SafeConstructor.yaml_constructors if t is not None) | {_MERGE_TAG}


class YamlProblem(Exception):
    """Config text that cannot be used: a message, and where (1-based line, column, key path) when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None, loc: Loc = ()):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.loc = loc


@dataclass
class YamlDocument:
    """The data of a config file and the node tree it was built from (for line numbers)."""

    data: Any
    root: Node | None
    _lines: dict[Loc, int] | None = field(default=None, repr=False)

    def line_for(self, loc: Loc) -> int | None:
        """The line of the key or list element at ``loc``, or of its nearest enclosing one."""
        if self._lines is None:  # built on the first error only: a valid file never needs it
            self._lines = dict(_node_lines(self.root, ())) if self.root is not None else {}
        while True:
            if loc in self._lines:
                return self._lines[loc]
            if not loc:
                return None
            loc = loc[:-1]


def load_yaml(text: str) -> YamlDocument:
    """Parse, check and construct one YAML document; raise :class:`YamlProblem` naming the line."""
    loader = _CheckedLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.problem and "nesting depth" in exc.problem:
            # libyaml 0.2.6+ has a nesting limit of its own (1000) and, scanning ahead for a possible key on
            # a line of ``[[[[…``, can reach it before our composer sees the 65th level: same refusal, same
            # words, whichever limit answers first (the file is nested at least that deep either way).
            raise loader.too_deep(_line(mark) if mark else None) from None
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise YamlProblem(
            f"invalid YAML: {problem}",
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        ) from None
    except yaml.reader.ReaderError as exc:  # a control character: its position counts bytes or characters
        char = exc.character  # (depending on the parser), so find the character itself for the line
        at = text.find(chr(char)) if isinstance(char, int) else -1
        code = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        raise YamlProblem(
            f"invalid YAML: {exc.reason} (character {code})",
            text.count("\n", 0, at) + 1 if at >= 0 else None,
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return YamlDocument(data, root)


def display_tag(tag: str) -> str:
    """A tag as the user wrote it: ``!!python/object`` rather than ``tag:yaml.org,2002:python/object``."""
    return "!!" + tag.removeprefix(_STD) if tag.startswith(_STD) else tag


class _CheckedLoader(_Loader):
    """PyYAML's Composer over libyaml's events, checking as it composes:

    - nesting depth, before recursing further (the composer, constructor and our walks all recurse);
    - how many nodes aliases copy: the size of every anchored node is known when it is finished (1 for a
      scalar, 1 + its children for a collection, an alias counting as the size of its anchor), so the copies
      are counted without expanding anything, in time linear in the file;
    - an alias to a collection that contains it (a loop: infinitely large once expanded);
    - duplicate keys in one mapping (YAML forbids them; PyYAML would silently keep the last);
    - tags: only those of plain YAML values.
    """

    def __init__(self, text: str) -> None:
        _Loader.__init__(self, text)
        self._path: list[Any] = []  # index of each open node: a key node, a list position, None for a key
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its expanded size, once finished
        self._open: list[int] = [0]  # expanded size so far of each open collection (and of the document)
        self._copied = 0  # nodes that aliases copy, in total

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event: Any = self.peek_event()
        if type(event) is ScalarEvent and event.anchor is None:
            # Most nodes are unanchored scalars: composed here as Composer.compose_scalar_node does, without the
            # generic dispatch around it (SafeLoader has no path resolvers, so descend/ascend_resolver would do
            # nothing).
            scalar: Any = self.get_event()
            tag = scalar.tag
            if tag is None or tag == "!":
                tag = self.resolve(ScalarNode, scalar.value, scalar.implicit)  # type: ignore[no-untyped-call]
            elif tag not in _KNOWN_TAGS:
                raise _unknown_tag(tag, _line(scalar.start_mark), self._loc(index))
            self._open[-1] += 1
            return ScalarNode(tag, scalar.value, scalar.start_mark, scalar.end_mark, style=scalar.style)
        self._path.append(index)
        if len(self._path) > C.MAX_CONFIG_DEPTH:
            raise self.too_deep(_line(event.start_mark))
        if type(event) is AliasEvent:
            # The anchored node itself (or PyYAML's "found undefined alias" error); the stubs allow None.
            node = cast(Node, super().compose_node(parent, index))
            size = self._sizes.get(id(node))
            if size is None:
                raise YamlProblem(
                    f"alias *{event.anchor} refers to a collection that contains it (an endless loop)",
                    _line(event.start_mark),
                    loc=self._loc(),
                )
            self._copied += size
            if self._copied > C.MAX_CONFIG_ALIAS_NODES:
                raise YamlProblem(
                    f"alias *{event.anchor} copies {size:,} nodes and brings what aliases copy past "
                    f"{C.MAX_CONFIG_ALIAS_NODES:,} nodes; refusing a possible alias bomb (each use of an alias "
                    "is a full copy of its anchor, so nested aliases grow exponentially)",
                    _line(event.start_mark),
                    loc=self._loc(),
                )
        else:
            self._open.append(1)
            node = cast(Node, super().compose_node(parent, index))
            size = self._open.pop()
            if event.anchor is not None:
                self._sizes[id(node)] = size
            if node.tag not in _KNOWN_TAGS:
                raise _unknown_tag(node.tag, _line(node.start_mark), self._loc())
        self._open[-1] += size
        self._path.pop()
        return node

    def compose_mapping_node(self, anchor: Any) -> MappingNode:  # (the stubs mistype the anchor)
        node = super().compose_mapping_node(anchor)
        first: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            # Scalar keys compare by tag and text ("1" and 1 differ).  A merge key (<<) is not a duplicate: by
            # YAML's merge rules the keys written beside it override what it brings.  Complex keys are left to
            # the constructor.
            if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
                continue
            ident, line = (key.tag, key.value), _line(key.start_mark)
            if ident in first:
                raise YamlProblem(
                    f"defined on line {first[ident]} and again on line {line}; YAML would keep only the "
                    "second and silently drop the first",
                    line,
                    loc=(*self._loc(), key.value),
                )
            first[ident] = line
        return node

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        # Most nodes are plain strings: skip the generic dispatch for them (same result: SafeConstructor returns
        # a str scalar's value as is).
        if node.tag == _STR_TAG and type(node) is ScalarNode:
            return node.value
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # int("9" * 5000), a timestamp with month 13, …
            # (the first clause only: Python's own advice about sys.set_int_max_str_digits is not for users)
            raise YamlProblem(f"invalid value: {str(exc).split(';')[0]}", _line(node.start_mark)) from None

    def too_deep(self, line: int | None) -> YamlProblem:
        """The refusal of nesting past the limit, at the key path where the deep part starts (the whole path
        would be as long as the nesting)."""
        return YamlProblem(
            f"nested more than {C.MAX_CONFIG_DEPTH} levels deep; a config is a few levels deep",
            line,
            loc=self._loc()[:2],
        )

    def _loc(self, *last: Any) -> Loc:
        """The key path of the node being composed (``last``: the index of a node not on the path)."""
        loc: list[str | int] = []
        for index in (*self._path, *last):
            if isinstance(index, ScalarNode):
                loc.append(index.value)
            elif isinstance(index, int):
                loc.append(index)
            elif isinstance(index, Node):
                loc.append("?")
        return tuple(loc)


def _line(mark: Any) -> int:
    """The 1-based line of a libyaml or PyYAML mark (0-based)."""
    return int(mark.line) + 1


def _unknown_tag(tag: str, line: int, loc: Loc) -> YamlProblem:
    return YamlProblem(
        f"unknown tag {display_tag(tag)}: a config holds plain values (text, numbers, true/false, null, lists "
        "and mappings)",
        line,
        loc=loc,
    )


def _node_lines(node: Node, loc: Loc) -> Iterator[tuple[Loc, int]]:
    """(location, 1-based line) for every key and list element in the tree (aliases are followed: the checks
    above bound what that costs)."""
    yield loc, node.start_mark.line + 1
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else "?"
            yield (*loc, key), key_node.start_mark.line + 1
            for sub_loc, line in _node_lines(value_node, (*loc, key)):
                if sub_loc != (*loc, key):
                    yield sub_loc, line
    elif isinstance(node, SequenceNode):
        for i, child in enumerate(node.value):
            yield from _node_lines(child, (*loc, i))
