"""Per-feed polling decisions: when to poll a feed next, and when its health changed.

Owns the schedule policy as pure functions over the feed's saved state (the dict the store keeps per feed)
and the outcome of the latest poll.  No I/O and no clock: ``now`` and the random source are passed in, so
every decision is reproducible in a test.

Policy, in one place:

* **Adaptive interval.**  An exponentially weighted estimate of the time between new items (``update_gap``)
  is kept per feed; the feed is polled at about half that gap, bounded below by the feed's configured
  ``interval`` and above by ``max_interval``.  A quiet spell longer than the estimate stretches it, so a feed
  that stopped publishing drifts to ``max_interval`` instead of being polled at its old pace for ever.
* **Publisher hints.**  RSS ``<ttl>`` / ``sy:updatePeriod`` and ``Cache-Control: max-age`` are lower bounds,
  but never above ``max_interval``: a publisher asking for a day between polls must not hide a day of news.
* **Jitter** of ±10 % keeps feeds that share a configured interval from polling in lockstep.
* **Errors** back off exponentially, the wait drawn uniformly between the feed's interval and the step (which
  doubles per failure up to ``backoff_cap``, default 6 h), and never give up: a feed that was down for a week is polled again and recovers on its own.
  ``Retry-After`` is honoured (up to the same cap, so a hostile header cannot park a feed for a year).
* **Health.**  :func:`health_transition` says "down" once when a feed has been failing longer than
  ``fail_alert_after``, and "recovered" once when it succeeds again after that.

State fields written (times are epoch seconds, floats): ``next_poll``, ``poll_interval``, ``update_gap``,
``last_new_at``, ``failures``, ``failing_since``, ``last_error``, ``last_error_at``, ``last_success``,
``down_alerted``.  Readers accept ISO 8601 strings for the time fields too, for state written before.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["Health", "PollOutcome", "PollStatus", "after_poll", "health_transition", "next_poll"]

PollStatus = Literal["ok", "not_modified", "unchanged", "error"]
Health = Literal["down", "recovered"]

# Weight of the newest observation in the gap estimate: about the last five gaps matter, so one burst or one
# quiet night moves the estimate without erasing what the feed usually does.
_EWMA_ALPHA = 0.3
# Poll at this fraction of the expected gap between items: on average an item waits a quarter of the gap.
_GAP_FRACTION = 0.5
_JITTER = 0.10


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What the latest poll of a feed found."""

    status: PollStatus
    new_items: int = 0  # items not seen before (or changed), as decided by the store
    error: str | None = None  # one line, when status is "error"
    retry_after: float | None = None  # seconds, from Retry-After (429/503)
    max_age: float | None = None  # seconds, from Cache-Control: max-age
    feed_ttl: float | None = None  # seconds, from RSS <ttl> / sy:updatePeriod (ParsedFeed.ttl)


def next_poll(
    state: Mapping[str, Any],
    outcome: PollOutcome,
    feed_interval: float,
    max_interval: float,
    now: float,
    rng: random.Random,
    *,
    backoff_cap: float,
) -> tuple[float, dict[str, Any]]:
    """When to poll the feed next (epoch seconds) and the state fields to merge into its saved state.

    ``state`` is the feed's saved state as last merged (empty for a new feed); it is not modified.
    """
    feed_interval = max(1.0, feed_interval)
    # A feed configured slower than the global maximum keeps its own interval: the user asked for it.
    ceiling = max(max_interval, feed_interval)
    if outcome.status == "error":
        return _after_error(state, outcome, feed_interval, backoff_cap, now, rng)

    fields: dict[str, Any] = {
        "failures": 0,
        "failing_since": None,
        "last_success": now,
        "down_alerted": False,
    }
    gap = _number(state.get("update_gap"))
    last_new = _epoch(state.get("last_new_at"))
    if outcome.status == "ok" and outcome.new_items > 0:
        if last_new is not None and now > last_new:
            observed = (now - last_new) / outcome.new_items
            gap = observed if gap is None else _EWMA_ALPHA * observed + (1 - _EWMA_ALPHA) * gap
        # The first sighting has no gap to measure: a new feed's backlog says nothing about its pace.
        last_new = now
        fields["last_new_at"] = now
    elif last_new is None:
        # Never saw anything new yet: start the quiet clock now so a dead feed still slows down.
        last_new = now
        fields["last_new_at"] = now
    if gap is not None:
        fields["update_gap"] = gap

    interval = feed_interval
    if gap is not None:
        # The quiet spell so far is a lower bound on the current gap.
        interval = max(gap, now - last_new) * _GAP_FRACTION
    elif now - last_new > 2 * feed_interval:
        interval = (now - last_new) * _GAP_FRACTION
    interval = min(max(interval, feed_interval), ceiling)

    # Publisher hints are floors, but capped at the ceiling so a hint can never hide news for long.
    floor = min(max(_hint(outcome.feed_ttl), _hint(outcome.max_age), _hint(outcome.retry_after)), ceiling)
    interval = max(interval, floor)
    fields["poll_interval"] = interval

    delay = interval * rng.uniform(1 - _JITTER, 1 + _JITTER)
    delay = max(delay, floor)  # jitter spreads polls, but not to before the publisher asked
    when = now + delay
    fields["next_poll"] = when
    return when, fields


def _after_error(
    state: Mapping[str, Any],
    outcome: PollOutcome,
    feed_interval: float,
    backoff_cap: float,
    now: float,
    rng: random.Random,
) -> tuple[float, dict[str, Any]]:
    failures = int(_number(state.get("failures")) or 0) + 1
    failing_since = _epoch(state.get("failing_since"))
    if failing_since is None or int(_number(state.get("failures")) or 0) == 0:
        failing_since = now
    cap = max(backoff_cap, feed_interval)
    # 2**failures overflows a float after about a thousand failures; the exponent is capped well before that.
    ceiling = min(cap, feed_interval * 2.0 ** min(failures - 1, 60))
    # Jitter over the window from the feed's interval to the step, so feeds that failed together (one host
    # down) do not come back together; the floor keeps a failing feed from being polled faster
    # than a healthy one.
    delay = rng.uniform(feed_interval, ceiling) if ceiling > feed_interval else feed_interval
    delay = max(delay, min(_hint(outcome.retry_after), cap))
    when = now + delay
    fields: dict[str, Any] = {
        "failures": failures,
        "failing_since": failing_since,
        "last_error": outcome.error or "unknown error",
        "last_error_at": now,
        "poll_interval": delay,
        "next_poll": when,
    }
    return when, fields


def after_poll(
    state_before: Mapping[str, Any],
    updates: Mapping[str, Any],
    outcome: PollOutcome,
    feed_interval: float,
    max_interval: float,
    now: float,
    rng: random.Random,
    *,
    backoff_cap: float,
    fail_alert_after: float,
) -> tuple[float, dict[str, Any], Health | None]:
    """A polled feed's next poll time, its whole new state (``updates``: validators, title… merged in) and the
    health change to announce, if any."""
    when, fields = next_poll(
        state_before, outcome, feed_interval, max_interval, now, rng, backoff_cap=backoff_cap
    )
    state = {**state_before, **updates, **fields}
    state["items_seen"] = int(_number(state.get("items_seen")) or 0) + outcome.new_items
    change = health_transition(state_before, state, fail_alert_after, now)
    if change == "down":
        state["down_alerted"] = True
    return when, state, change


def health_transition(
    state_before: Mapping[str, Any],
    state_after: Mapping[str, Any],
    fail_alert_after: float,
    now: float,
) -> Health | None:
    """The ops event this poll causes: "down", "recovered" or None.

    ``state_after`` is ``state_before`` with the fields from :func:`next_poll` merged.  "down" comes once per
    outage, when the feed has been failing for longer than ``fail_alert_after``; the caller then merges
    ``{"down_alerted": True}`` into the state it saves.  "recovered" comes on the first success after a "down"
    (:func:`next_poll` resets ``down_alerted`` on success).
    """
    alerted = bool(state_before.get("down_alerted"))
    failures = int(_number(state_after.get("failures")) or 0)
    if failures == 0:
        return "recovered" if alerted else None
    if alerted or state_after.get("down_alerted"):
        return None
    since = _epoch(state_after.get("failing_since"))
    if since is not None and now - since > fail_alert_after:
        return "down"
    return None


# --------------------------------------------------------------------------------------------------------------
# Reading saved state, which may be old, partial or hand-edited


def _hint(value: float | None) -> float:
    """A publisher's hint in seconds, or 0 when absent or nonsense (negative, NaN, infinite)."""
    return value if value is not None and math.isfinite(value) and value > 0 else 0.0


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _epoch(value: Any) -> float | None:
    """Epoch seconds from a number or an ISO 8601 string (the pipeline wrote ISO strings before)."""
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return None
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    return _number(value)
