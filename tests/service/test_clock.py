"""A step back of the system clock stalls neither polling nor delivery (issue 21.15): the steady clock goes on,
a pacing slot reserved on the old time is dropped, and a paced Slack queue keeps its pace across the step."""

from __future__ import annotations

import time

from newswatch.delivery.notify.slack import SlackNotifier
from newswatch.delivery.outbox import Delivery
from newswatch.delivery.report import DeliveryPolicy
from newswatch.shared.clock import SteadyClock
from newswatch.store import Store
from tests.delivery.test_outbox import posted_urls, queue
from tests.slackstub import GOOD_TOKEN, SlackStub

HOUR = 3600.0


class Wall:
    """A system clock that can be stepped."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def test_the_steady_clock_goes_on_when_the_wall_clock_steps_back_and_follows_it_forward() -> None:
    mono = [100.0]
    wall = [1_800_000_000.0]
    clock = SteadyClock(wall=lambda: wall[0], mono=lambda: mono[0])
    assert clock() == 1_800_000_000.0
    mono[0] += 10
    wall[0] += 10 - HOUR  # ten seconds pass, and the system clock is set back an hour
    assert clock() == 1_800_000_010.0
    mono[0] += 5
    wall[0] += 5
    assert clock() == 1_800_000_015.0
    mono[0] += 1
    wall[0] += 1 + 2 * HOUR  # set forward past where it was: followed
    assert clock() == 1_800_000_000.0 + 16 + HOUR


async def test_a_slot_reserved_before_a_step_back_is_dropped(store: Store) -> None:
    now = 1_800_000_000.0
    assert await store.reserve_slot("slack:#a", 1.0, now) == 0.0
    assert await store.reserve_slot("slack:#a", 1.0, now) == 1.0  # paced as usual
    # The clock stepped back an hour: the slot reserved at `now` lies an hour ahead and is not waited for.
    assert await store.reserve_slot("slack:#a", 1.0, now - HOUR) == 0.0
    assert await store.reserve_slot("slack:#a", 1.0, now - HOUR) == 1.0


async def test_a_paced_slack_queue_keeps_going_across_a_step_back(store: Store) -> None:
    urls = await queue(store, 6, "slack:#news")
    wall = Wall()
    async with SlackStub() as slack:

        def step_back_after_two(method: str, body: dict[str, object]) -> None:
            if len(slack.posts) == 2:
                wall.offset = -HOUR
            return None

        slack.interceptor = step_back_after_two  # type: ignore[assignment]
        notifier = SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.05)
        clock = SteadyClock(wall=wall)
        delivery = Delivery(store, {"slack": notifier}, policy=DeliveryPolicy(flood_max=1000), clock=clock)
        started = time.monotonic()
        await delivery.drain_all(clock() + 60)
        took = time.monotonic() - started
        await notifier.close()
    assert wall.offset == -HOUR  # the step happened mid-queue
    assert posted_urls(slack) == urls  # every record, in order
    assert took < 30, took  # at its pace, not an hour later (generous bound for a loaded machine)
