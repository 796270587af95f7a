"""The supervisor on its own: crashes logged once each with their traceback, restarts with a capped, growing
back-off, the health reason while a task is down, one-off tasks tracked, everything cancelled on close."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import pytest

from newswatch.delivery.bounded import RecentIds
from newswatch.service.supervise import Supervisor, describe


def crash_records(caplog: pytest.LogCaptureFixture, message: str = "task crashed") -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == message]


async def wait_until(cond: object, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_crashing_task_is_restarted_reported_and_healthy_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[float] = []
    crashes = 3

    async def flaky() -> None:
        runs.append(time.monotonic())
        if len(runs) <= crashes:
            raise ValueError(f"bad value number {len(runs)}")
        await asyncio.Event().wait()  # then it runs for good

    tasks = Supervisor(backoff_base=0.05, backoff_cap=0.1, stable_after=1.0)
    tasks.start("delivery", flaky)
    try:
        await wait_until(lambda: len(crash_records(caplog)) == 1)
        reason = await tasks.check()
        assert reason is not None
        assert reason.startswith("delivery down since ") and "ValueError: bad value number 1" in reason
        await wait_until(lambda: len(runs) == crashes + 1)
        reason = await tasks.check()  # restarted, but not yet clean for stable_after
        assert reason is not None and "ValueError: bad value number 3" in reason and "3 crashes" in reason
        await wait_until(lambda: any(r.getMessage() == "task recovered" for r in caplog.records))
        assert await tasks.check() is None
    finally:
        await tasks.close()
    records = crash_records(caplog)
    assert len(records) == crashes  # one line per crash, each with its own traceback
    for n, record in enumerate(records, 1):
        assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
        assert record.__dict__["task"] == "delivery" and record.__dict__["crashes"] == n
    # Back-off: never before the jittered delay, which doubles up to the cap.
    delays = [b - a for a, b in itertools.pairwise(runs)]
    assert all(d >= 0.025 for d in delays)
    assert [r.__dict__["restart_in"] <= 0.1 for r in records] == [True] * crashes


async def test_backoff_grows_and_is_capped(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise RuntimeError("always")

    tasks = Supervisor(backoff_base=0.2, backoff_cap=0.8, stable_after=10)
    tasks.start("polling", broken)
    try:
        await wait_until(lambda: len(crash_records(caplog)) >= 5)
        reason = await tasks.check()
    finally:
        await tasks.close()
    assert reason is not None and "polling down since" in reason and "RuntimeError: always" in reason
    ceilings = [0.2, 0.4, 0.8, 0.8, 0.8]  # doubling, then the cap; jitter keeps each in [ceiling/2, ceiling]
    delays = [r.__dict__["restart_in"] for r in crash_records(caplog)[:5]]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 - 0.05 <= delay <= ceiling + 0.05, delays


async def test_a_task_that_returns_is_done_and_not_restarted() -> None:
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1

    tasks = Supervisor()
    tasks.start("websub renewals", once)
    await tasks.wait("websub renewals")
    await asyncio.sleep(0.05)
    assert runs == 1 and await tasks.check() is None
    await tasks.close()


async def test_spawned_task_crash_is_logged_with_traceback_and_close_cancels(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = Supervisor()
    cancelled = asyncio.Event()

    async def reload() -> None:
        raise KeyError("notify")

    async def subscribe() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    tasks.spawn("config reload", reload())
    tasks.spawn("websub subscribe https://a.example/feed", subscribe())
    await wait_until(lambda: crash_records(caplog, "task failed"))
    [record] = crash_records(caplog, "task failed")
    assert record.exc_info is not None and record.__dict__["task"] == "config reload"
    assert record.__dict__["error"] == "KeyError: 'notify'"
    assert await tasks.check() is None  # a one-off task is not a service that is down
    await tasks.close()
    assert cancelled.is_set()
    tasks.spawn("late", subscribe())  # after close: not started, and no "never awaited" warning
    assert not crash_records(caplog, "task failed")[1:]


def test_describe_is_one_redacted_line() -> None:
    exc = ValueError("token xoxb-123-secret\nrejected by\tSlack " + "x" * 500)
    text = describe(exc)
    assert "\n" not in text and "xoxb-123" not in text and text.startswith("ValueError: token ***")
    assert len(text) <= 300 and text.endswith("…")


def test_recent_ids_forget_the_oldest_past_the_cap() -> None:
    ids = RecentIds(3)
    for i in range(5):
        ids.add(str(i))
    assert len(ids) == 3 and "0" not in ids and "1" not in ids and "4" in ids
    ids.add("2")  # seen again: now the most recent
    ids.add("5")
    assert "2" in ids and "3" not in ids
    ids.discard_all(["2", "missing"])
    assert "2" not in ids and len(ids) == 2
    with pytest.raises(ValueError):
        RecentIds(0)
