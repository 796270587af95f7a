"""Why an item joined a story, opened one, or opened one possibly related to another: in one line a person can
act on, and in full for ``--verbose``.

Owns the wording of story decisions (``newswatch replay --explain``, the alert record's ``reason``, the status
pages): names and words the item shares with the story it was compared with, and how sure the model was.
"""

from __future__ import annotations

from typing import Any

from newswatch.stories.model import Decision, sigmoid
from newswatch.stories.signals import SIGNALS

__all__ = ["details", "reason"]

_SHOWN = 3  # names and words quoted in a reason


def reason(d: Decision) -> str:
    """One line: what was decided, on what evidence, how sure ("joined story X: same names A, B and 3 key
    words (w1, w2, w3); 82% sure")."""
    if d.best is None:
        return "new story: no earlier story in the window shares enough content"
    evidence = _evidence(d)
    sure = f"{d.p_join:.0%} sure"
    if d.story_id is not None:
        return f"joined story {d.story_id}: {evidence}; {sure}"
    if d.related is not None:
        return (
            f"new story, possibly related to story {d.related}: {evidence}; {sure} it is the same event "
            f"(joins from {d.threshold:.0%})"
        )
    return f"new story: closest is story {d.best.story_id}, {d.p_join:.0%} sure ({evidence}; joins from {d.threshold:.0%})"


def _evidence(d: Decision) -> str:
    parts = []
    if d.names:
        shown = ", ".join(_name(n) for n in d.names[:_SHOWN])
        more = f" and {len(d.names) - _SHOWN} more" if len(d.names) > _SHOWN else ""
        parts.append(f"same name{'s' if len(d.names) > 1 else ''} {shown}{more}")
    if d.words:
        n = len(d.words)
        parts.append(
            f"{n} key word{'s' if n > 1 else ''} ({', '.join(d.words[:_SHOWN])}{', …' if n > _SHOWN else ''})"
        )
    return " and ".join(parts) or "little in common"


def _name(key: str) -> str:
    """A name key as a person reads it: acronyms keep their capitals ("US"), other names get theirs back."""
    key = key.removeprefix("entity:")
    return key if not key.islower() else key.title()


def details(d: Decision) -> dict[str, Any]:
    """The decision and every candidate's signals and score, best first (plain, JSON-able data)."""
    rows = sorted(d.scored, key=lambda s: -s.score)
    return {
        "decision": "join" if d.story_id is not None else "related" if d.related is not None else "new story",
        "story": d.story_id,
        "related": d.related,
        "best_candidate": d.best.story_id if d.best is not None else None,
        "p_join": round(d.p_join, 4),
        "threshold": d.threshold,
        "related_threshold": round(d.related_threshold, 4),
        "reason": reason(d),
        "candidates": [
            {
                "story": s.story_id,
                "in_window": s.in_window,
                # False: no member passed the content floor, so not scored
                "comparable": bool(s.signals),
                "score": round(s.score, 4) if s.signals else None,
                "p_same": round(sigmoid(s.score), 4) if s.signals else None,
                "member": s.member,
                "signals": {k: round(v, 4) for k, v in zip(SIGNALS, s.signals, strict=False)},
            }
            for s in rows
        ],
    }
