"""The polling schedule: adaptive intervals, publisher hints, jitter, backoff and health transitions."""

from __future__ import annotations

import random
from typing import Any

import pytest

from newswatch.constants import DEFAULT_BACKOFF_CAP_S
from newswatch.feeds.policy import (
    PollOutcome,
    health_transition,
    next_poll,
)

NOW = 1_741_000_000.0  # 2025-03-03, any fixed instant will do
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0


class FixedRandom(random.Random):
    """``uniform`` returns the point ``frac`` of the way through its range, so expected times are exact."""

    def __init__(self, frac: float = 0.5) -> None:
        super().__init__(0)
        self.frac = frac

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.frac


def poll(
    state: dict[str, Any],
    outcome: PollOutcome,
    feed_interval: float = 5 * MIN,
    max_interval: float = HOUR,
    frac: float = 0.5,
    **kw: float,
) -> tuple[float, dict[str, Any]]:
    kw.setdefault("backoff_cap", DEFAULT_BACKOFF_CAP_S)
    return next_poll(state, outcome, feed_interval, max_interval, NOW, FixedRandom(frac), **kw)


OK = PollOutcome("ok")
NOT_MODIFIED = PollOutcome("not_modified")


# --------------------------------------------------------------------------------------------------------------
# Healthy feeds: (state, outcome, feed_interval, expected interval before jitter, expected update_gap)

HEALTHY_CASES: list[tuple[str, dict[str, Any], PollOutcome, float, float, float | None]] = [
    (
        "new feed, backlog says nothing about pace",
        {},
        PollOutcome("ok", new_items=25),
        5 * MIN,
        5 * MIN,
        None,
    ),
    ("new feed, nothing at all", {}, NOT_MODIFIED, 5 * MIN, 5 * MIN, None),
    (
        "first measured gap: 6 items in an hour, poll every 5 min",
        {"last_new_at": NOW - HOUR},
        PollOutcome("ok", new_items=6),
        MIN,
        5 * MIN,
        10 * MIN,
    ),
    (
        "gap is an exponentially weighted average",
        {"last_new_at": NOW - 10 * MIN, "update_gap": 20 * MIN},
        PollOutcome("ok", new_items=1),
        MIN,
        (0.3 * 10 * MIN + 0.7 * 20 * MIN) / 2,
        0.3 * 10 * MIN + 0.7 * 20 * MIN,
    ),
    (
        "busy feed is bounded below by its configured interval",
        {"last_new_at": NOW - 10 * MIN, "update_gap": MIN},
        PollOutcome("ok", new_items=10),
        5 * MIN,
        5 * MIN,
        MIN,
    ),
    (
        "slow feed is bounded above by max_interval",
        {"last_new_at": NOW - DAY, "update_gap": DAY},
        PollOutcome("ok", new_items=1),
        5 * MIN,
        HOUR,
        DAY,
    ),
    (
        "quiet spell longer than the estimate stretches the interval",
        {"last_new_at": NOW - 50 * MIN, "update_gap": 10 * MIN},
        NOT_MODIFIED,
        MIN,
        25 * MIN,
        10 * MIN,
    ),
    (
        "quiet spell without any estimate yet also slows down",
        {"last_new_at": NOW - 40 * MIN},
        PollOutcome("unchanged"),
        5 * MIN,
        20 * MIN,
        None,
    ),
    (
        "a feed configured slower than max_interval keeps its own interval",
        {"last_new_at": NOW - 10 * MIN, "update_gap": MIN},
        NOT_MODIFIED,
        2 * HOUR,
        2 * HOUR,
        MIN,
    ),
    (
        "ok with nothing new keeps the estimate",
        {"last_new_at": NOW - 5 * MIN, "update_gap": 30 * MIN},
        PollOutcome("ok", new_items=0),
        MIN,
        15 * MIN,
        30 * MIN,
    ),
]


@pytest.mark.parametrize(
    ("state", "outcome", "feed_interval", "interval", "gap"),
    [case[1:] for case in HEALTHY_CASES],
    ids=[case[0] for case in HEALTHY_CASES],
)
def test_adaptive_interval(
    state: dict[str, Any], outcome: PollOutcome, feed_interval: float, interval: float, gap: float | None
) -> None:
    when, fields = poll(state, outcome, feed_interval)
    assert fields["poll_interval"] == pytest.approx(interval)
    assert when == pytest.approx(NOW + interval)  # frac 0.5: the middle of the jitter range
    assert fields["next_poll"] == when
    assert fields.get("update_gap", state.get("update_gap")) == (pytest.approx(gap) if gap else None)
    assert fields["failures"] == 0 and fields["failing_since"] is None and fields["last_success"] == NOW


@pytest.mark.parametrize(
    ("outcome", "interval"),
    [
        (PollOutcome("ok", feed_ttl=30 * MIN), 30 * MIN),
        (PollOutcome("not_modified", max_age=20 * MIN), 20 * MIN),
        (PollOutcome("ok", feed_ttl=10 * MIN, max_age=40 * MIN), 40 * MIN),
        (PollOutcome("ok", feed_ttl=DAY), HOUR),  # never above max_interval
        (PollOutcome("ok", max_age=7 * DAY), HOUR),
        (PollOutcome("ok", feed_ttl=MIN), 5 * MIN),  # a hint below the feed's interval changes nothing
        (PollOutcome("ok", feed_ttl=float("nan"), max_age=-5.0), 5 * MIN),  # nonsense is ignored
    ],
)
def test_publisher_hints_are_floors_below_max_interval(outcome: PollOutcome, interval: float) -> None:
    _, fields = poll({"last_new_at": NOW - MIN, "update_gap": MIN}, outcome, 5 * MIN)
    assert fields["poll_interval"] == pytest.approx(interval)


@pytest.mark.parametrize(("frac", "factor"), [(0.0, 0.9), (0.5, 1.0), (1.0, 1.1)])
def test_jitter_is_ten_percent_either_way(frac: float, factor: float) -> None:
    when, _ = poll({}, OK, 10 * MIN, frac=frac)
    assert when == pytest.approx(NOW + 10 * MIN * factor)


def test_jitter_spreads_feeds_that_share_an_interval() -> None:
    rng = random.Random(7)
    times = [
        next_poll({}, OK, 5 * MIN, HOUR, NOW, rng, backoff_cap=DEFAULT_BACKOFF_CAP_S)[0] - NOW
        for _ in range(200)
    ]
    assert all(0.9 * 5 * MIN <= t <= 1.1 * 5 * MIN for t in times)
    assert len({round(t) for t in times}) > 30


def test_jitter_never_polls_before_the_publisher_asked() -> None:
    when, _ = poll({}, PollOutcome("ok", feed_ttl=30 * MIN), 5 * MIN, frac=0.0)
    assert when == NOW + 30 * MIN


# --------------------------------------------------------------------------------------------------------------
# Failing feeds


def fail(state: dict[str, Any], frac: float = 1.0, **kw: Any) -> tuple[float, dict[str, Any]]:
    outcome = PollOutcome("error", error=kw.pop("error", "HTTP 500"), retry_after=kw.pop("retry_after", None))
    return poll(state, outcome, kw.pop("feed_interval", 5 * MIN), frac=frac, **kw)


@pytest.mark.parametrize(
    ("failures_before", "frac", "delay"),
    [
        (0, 1.0, 5 * MIN),  # first failure: retry at the normal pace
        (1, 1.0, 10 * MIN),  # then doubling windows ...
        (2, 1.0, 20 * MIN),
        (3, 0.0, 5 * MIN),  # ... with full jitter: anywhere from the feed's interval up
        (3, 0.5, (5 * MIN + 40 * MIN) / 2),
        (6, 1.0, 5 * MIN * 2**6),
        (7, 1.0, DEFAULT_BACKOFF_CAP_S),  # capped
        (10_000, 1.0, DEFAULT_BACKOFF_CAP_S),  # and never gives up, nor overflows
    ],
)
def test_error_backoff(failures_before: int, frac: float, delay: float) -> None:
    state = {"failures": failures_before, "failing_since": NOW - HOUR} if failures_before else {}
    when, fields = fail(state, frac)
    assert when == pytest.approx(NOW + delay)
    assert fields["failures"] == failures_before + 1
    assert fields["last_error"] == "HTTP 500" and fields["last_error_at"] == NOW
    assert fields["failing_since"] == (NOW - HOUR if failures_before else NOW)
    assert "last_success" not in fields and "down_alerted" not in fields


def test_backoff_cap_is_configurable() -> None:
    when, _ = fail({"failures": 20, "failing_since": NOW - DAY}, backoff_cap=HOUR)
    assert when == NOW + HOUR


@pytest.mark.parametrize(
    ("retry_after", "delay"),
    [
        (2 * HOUR, 2 * HOUR),  # longer than the backoff: honoured
        (MIN, 5 * MIN),  # shorter than the feed's interval: the interval stands
        (365 * DAY, DEFAULT_BACKOFF_CAP_S),  # a hostile header cannot park a feed for a year
    ],
)
def test_retry_after_is_honoured(retry_after: float, delay: float) -> None:
    when, _ = fail({}, retry_after=retry_after)
    assert when == pytest.approx(NOW + delay)


def test_success_after_errors_resets_failure_state() -> None:
    state = {
        "failures": 9,
        "failing_since": NOW - DAY,
        "last_error": "timeout after 30s",
        "down_alerted": True,
    }
    _, fields = poll(state, NOT_MODIFIED)
    assert fields["failures"] == 0 and fields["failing_since"] is None
    assert fields["down_alerted"] is False and fields["last_success"] == NOW
    assert "last_error" not in fields  # the last error stays on record for `newswatch feeds`


def test_state_written_by_older_code_or_by_hand_is_read_safely() -> None:
    iso = {"last_new_at": "2025-03-03T10:13:20+00:00", "update_gap": "600", "failures": "x"}
    _, fields = poll(iso, PollOutcome("ok", new_items=1))
    assert fields["update_gap"] > 0
    junk = {"last_new_at": "yesterday", "update_gap": -1, "failing_since": [], "failures": None}
    when, _ = poll(junk, OK)
    assert when == pytest.approx(NOW + 5 * MIN)
    when, fields = fail(junk)
    assert fields["failures"] == 1 and fields["failing_since"] == NOW


# --------------------------------------------------------------------------------------------------------------
# Health transitions

ALERT_AFTER = 6 * HOUR
HEALTH_CASES: list[tuple[str, dict[str, Any], dict[str, Any], str | None]] = [
    ("healthy stays quiet", {}, {"failures": 0}, None),
    ("a short outage stays quiet", {}, {"failures": 3, "failing_since": NOW - HOUR}, None),
    (
        "exactly at the threshold is not yet longer",
        {},
        {"failures": 9, "failing_since": NOW - 6 * HOUR},
        None,
    ),
    ("failing longer than the threshold: down", {}, {"failures": 9, "failing_since": NOW - 7 * HOUR}, "down"),
    (
        "down is said once",
        {"down_alerted": True},
        {"failures": 10, "failing_since": NOW - 8 * HOUR, "down_alerted": True},
        None,
    ),
    ("recovery after down", {"down_alerted": True}, {"failures": 0, "down_alerted": False}, "recovered"),
    ("recovery from a short outage stays quiet", {"failures": 2}, {"failures": 0}, None),
    (
        "ISO time from older state",
        {},
        {"failures": 5, "failing_since": "2025-03-01T00:00:00+00:00"},
        "down",
    ),
]


@pytest.mark.parametrize(
    ("before", "after", "expected"), [c[1:] for c in HEALTH_CASES], ids=[c[0] for c in HEALTH_CASES]
)
def test_health_transition(before: dict[str, Any], after: dict[str, Any], expected: str | None) -> None:
    assert health_transition(before, after, ALERT_AFTER, NOW) == expected


def test_one_down_and_one_recovered_over_a_long_outage() -> None:
    """Drive the real functions through a day of failures and a recovery, as the pipeline would."""
    rng = random.Random(1)
    state: dict[str, Any] = {}
    now = NOW
    events: list[tuple[str, float]] = []
    for outcome in [PollOutcome("error", error="HTTP 503")] * 40 + [PollOutcome("ok", new_items=1)] * 3:
        when, fields = next_poll(state, outcome, 5 * MIN, HOUR, now, rng, backoff_cap=DEFAULT_BACKOFF_CAP_S)
        after = {**state, **fields}
        event = health_transition(state, after, ALERT_AFTER, now)
        if event == "down":
            after["down_alerted"] = True
        if event:
            events.append((event, now - NOW))
        state, now = after, when
    assert [e for e, _ in events] == ["down", "recovered"]
    assert events[0][1] > ALERT_AFTER
    assert state["failures"] == 0 and state["down_alerted"] is False
