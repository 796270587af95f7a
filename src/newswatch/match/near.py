"""NEAR/n over word spans: which occurrences have a partner, the closest gap, and the merged spans.

Owns the arithmetic of NEAR so that it costs a sort and a few binary searches per occurrence rather than one
test per pair of occurrences: an item with thousands of occurrences on each side (issue 11's 600 KB item)
would otherwise cost millions of tests.  Spans here are ``(first word, last word)`` indices, inclusive.

The *gap* between two spans is the number of words strictly between them, 0 when they touch or overlap; it is
symmetric.  NEAR/n pairs every left span with every right span at a gap of at most n; the evaluator needs
three things from those pairs, never the pairs themselves:

* whether each span has a partner (truth, and the occurrences shown for a match): :func:`nearest_gaps`;
* the smallest gap (explaining a miss): the minimum of :func:`nearest_gaps`;
* the merged spans ``(min start, max end)`` of the pairs, for a NEAR nested in another NEAR: :func:`merged`.
  Only the *outermost* merged spans are returned.  That changes no answer: a span containing another is at a
  gap at most as large from anything, so the contained one can never be the only one within reach.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate

WordSpan = tuple[int, int]


def gap(a: WordSpan, b: WordSpan) -> int:
    """Words strictly between ``a`` and ``b`` (0 when they touch or overlap)."""
    if b[0] > a[1]:
        return b[0] - a[1] - 1
    return max(a[0] - b[1] - 1, 0)


def nearest_gaps(subjects: Sequence[WordSpan], others: Sequence[WordSpan]) -> list[int | None]:
    """For each subject, the smallest gap to any of ``others`` (None when ``others`` is empty).

    With ``others`` sorted by start, the nearest one starting after a subject ends is the first such, and
    among those starting before it ends the nearest is the one reaching furthest right (a prefix maximum).
    """
    if not others:
        return [None] * len(subjects)
    ordered = sorted(others)
    starts = [o[0] for o in ordered]
    reach = list(accumulate((o[1] for o in ordered), max))  # furthest end among the first i + 1
    out: list[int | None] = []
    n = len(ordered)
    for s0, s1 in subjects:
        i = bisect_right(starts, s1)  # others[:i] start at or before the subject's end
        best = starts[i] - s1 - 1 if i < n else None
        if i:
            before = max(s0 - reach[i - 1] - 1, 0)
            best = before if best is None or before < best else best
        out.append(best)
    return out


def outermost(spans: Sequence[WordSpan]) -> list[WordSpan]:
    """Sorted spans without those inside another ("Boehler" within "Adam Boehler" is one mention).

    Works on word spans and on stream spans alike (both orders agree).  The result is sorted by start with
    strictly increasing ends.
    """
    if len(spans) < 2:
        return list(spans)
    out: list[WordSpan] = []
    for span in sorted(spans, key=lambda s: (s[0], -s[1])):
        if out and out[-1][0] <= span[0] and span[1] <= out[-1][1]:
            continue
        out.append(span)
    return out


def merged(left: Sequence[WordSpan], right: Sequence[WordSpan], distance: int) -> list[WordSpan]:
    """The outermost ``(min start, max end)`` of every left/right pair at a gap of at most ``distance``.

    Both sides are first reduced to their outermost spans (a pair with a contained span is dominated by the
    pair with its container, which is at least as near).  With the right side sorted by start and by end at
    once, a left span's partners are one contiguous run of it; the merged spans worth keeping for one left span
    are the ones with the first and the last partner, and those with partners that contain it on both sides
    (which merge to the partner itself), so each left span costs a few binary searches.
    """
    lefts, rights = outermost(left), outermost(right)
    if not lefts or not rights:
        return []
    starts = [r[0] for r in rights]
    ends = [r[1] for r in rights]
    out: list[WordSpan] = []
    for a0, a1 in lefts:
        after = bisect_right(starts, a1)  # rights[after:] start after the left span ends
        lo = min(bisect_left(ends, a0 - distance - 1), after)
        hi = bisect_right(starts, a1 + distance + 1)
        if lo >= hi:
            continue
        for b0, b1 in (rights[lo], rights[hi - 1]):
            out.append((min(a0, b0), max(a1, b1)))
        # Partners reaching past the left span on both sides merge to themselves.
        out.extend(rights[bisect_right(ends, a1) : bisect_left(starts, a0)])
    return outermost(out)
