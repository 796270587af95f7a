"""Watch matching: compile watches once, test each item in one pass.

Public API (the pipeline, ``check`` and ``match`` commands code against these names)::

    matcher = compile_watches(entities, watches)   # raises QuerySyntaxError for the first bad watch
    matcher.match(item) -> list[Match]              # the watches an item matches, with terms and snippet
    matcher.explain(item) -> list[Explanation]      # every watch: matched or not, and why
    validate_watches(entities, watches) -> list[str]  # every problem, for `newswatch check`

Modules: ``text`` (normalising and tokenising), ``scripts`` (what each writing system needs: folds, case,
words of scripts without spaces, Arabic clitics), ``shouting`` (all-caps text, where capitals are no evidence),
``query`` (the language), ``entities`` (aliases, case rule, exclusions, fuzzy spellings), ``engine`` (the
automaton), ``evaluate`` (operators: the reference semantics, positions, explanations), ``near`` (NEAR's
arithmetic over sorted spans), ``compiled`` (queries as closures for the fast truth test), ``matcher`` (compile
and presearch), ``snippet`` and ``explain`` (display), ``validate`` (``check``), ``cli`` (``newswatch match``).
"""

from newswatch.match.explain import Explanation, bold, format_explanations
from newswatch.match.matcher import Matcher, compile_watches
from newswatch.match.query import QuerySyntaxError
from newswatch.match.snippet import Found
from newswatch.match.validate import validate_watches

__all__ = [
    "Explanation",
    "Found",
    "Matcher",
    "QuerySyntaxError",
    "bold",
    "compile_watches",
    "format_explanations",
    "validate_watches",
]
