"""`newswatch replay --explain`: why each item joined a story or opened one, in a fixed plain-text format.

Owns the lines printed per recorded item and watch (the format is documented in docs/stories.md):

    explain <alert|update> <watch> <story id> <url> "<title>"
      decision: join <story id>: p 0.981 >= threshold 0.150
      candidate <story id>: p 0.981 score 3.912 dup 0.750 body 0.912 title 0.341 ... size_log 0.693
      candidate <story id>: not comparable (no shared band, body cosine under the floor)
      candidate <story id>: outside the story window
      ... 12 more candidates

Titles and URLs come from feeds: control characters are stripped before they reach a terminal.
"""

from __future__ import annotations

from newswatch import constants as C
from newswatch.shared.terminal import strip_controls
from newswatch.stories import Decision, explain

__all__ = ["explanation_lines"]


def explanation_lines(
    event: str, watch: str, story: str, url: str, title: str, d: Decision | None
) -> list[str]:
    """The lines that explain one recorded event (see the module docstring)."""
    head = f'explain {event} {_safe(watch)} {story} {_safe(url)} "{_safe(title)}"'
    if d is None:
        return [head, "  decision: no story grouping for this item"]
    data = explain(d)
    rows = data["candidates"]
    if d.story_id is not None:
        decision = f"join {d.story_id}: p {d.p_join:.3f} >= threshold {d.threshold:.3f}"
    elif d.best is not None:
        decision = f"new story: best candidate {d.best} p {d.p_join:.3f} < threshold {d.threshold:.3f}"
    elif rows:
        decision = "new story: no candidate comparable in the window"
    else:
        decision = "new story: no candidate"
    lines = [head, f"  decision: {decision}"]
    for row in rows[: C.EXPLAIN_CANDIDATES]:
        if not row["in_window"]:
            what = "outside the story window"
        elif not row["comparable"]:
            what = "not comparable (no shared band, body cosine under the floor)"
        else:
            signals = " ".join(f"{k} {v:.3f}" for k, v in row["signals"].items())
            what = f"p {row['p_same']:.3f} score {row['score']:.3f} {signals}"
        lines.append(f"  candidate {row['story']}: {what}")
    if len(rows) > C.EXPLAIN_CANDIDATES:
        lines.append(f"  ... {len(rows) - C.EXPLAIN_CANDIDATES} more candidates")
    return lines


def _safe(text: str) -> str:
    return " ".join(strip_controls(text).split())
