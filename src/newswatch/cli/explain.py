"""`newswatch replay --explain`: why each item joined a story or opened one, in a fixed plain-text format.

Owns the lines printed per recorded item and watch (the format is documented in docs/stories.md): first the
decision in one line a person can act on, then the candidates the model compared, with their raw signals:

    explain <alert|update> <watch> <story id> <url> "<title>"
      joined story <id>: same names Boehler, Hamas and 4 key words (envoy, captive, doha, …); 93% sure
      candidate <story id>: p 0.931 member 0 body 0.412 title 0.301 shared 1.792 ... dup 0.000
      candidate <story id>: below the content floor (too little informative content in common)
      candidate <story id>: outside the story window
      ... 12 more candidates

Titles and URLs come from feeds: control characters are stripped before they reach a terminal.
"""

from __future__ import annotations

from newswatch import constants as C
from newswatch.shared.terminal import strip_controls
from newswatch.stories import Decision, details, reason

__all__ = ["explanation_lines"]


def explanation_lines(
    event: str, watch: str, story: str, url: str, title: str, d: Decision | None
) -> list[str]:
    """The lines that explain one recorded event (see the module docstring)."""
    head = f'explain {event} {_safe(watch)} {story} {_safe(url)} "{_safe(title)}"'
    if d is None:
        return [head, "  decision: no story grouping for this item"]
    rows = details(d)["candidates"]
    lines = [head, f"  {_safe(reason(d))}"]
    for row in rows[: C.EXPLAIN_CANDIDATES]:
        if not row["in_window"]:
            what = "outside the story window"
        elif not row["comparable"]:
            what = "below the content floor (too little informative content in common)"
        else:
            signals = " ".join(f"{k} {v:.3f}" for k, v in row["signals"].items())
            what = f"p {row['p_same']:.3f} member {row['member']} {signals}"
        lines.append(f"  candidate {row['story']}: {what}")
    if len(rows) > C.EXPLAIN_CANDIDATES:
        lines.append(f"  ... {len(rows) - C.EXPLAIN_CANDIDATES} more candidates")
    return lines


def _safe(text: str) -> str:
    return " ".join(strip_controls(text).split())
