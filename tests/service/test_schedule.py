"""The shared schedule kept in line with every live worker's config, on both stores (issue 22.3, 22.4):
lost feeds scheduled again and the repair logged, overdue feeds named by /healthz, a feed unknown to this
worker given back while generations differ and dropped once they agree."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from newswatch.config import Config, load_config
from newswatch.service.schedule import GIVE_BACK_S, OVERDUE_S, ScheduleKeeper
from newswatch.store import Store


def config(tmp_path: Path, feeds: list[str], name: str = "cfg.yaml") -> Config:
    path = tmp_path / name
    lines = "\n".join(f'  - {{url: "https://feeds.example/{f}.xml", interval: 60s}}' for f in feeds)
    path.write_text(f"feeds:\n{lines}\nwatches:\n  - {{name: all, query: '*'}}\n", encoding="utf-8")
    return load_config(path).config


def url(f: str) -> str:
    return f"https://feeds.example/{f}.xml"


async def test_a_lost_schedule_is_repaired_and_said(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keeper = ScheduleKeeper(store, "w1")
    cfg = config(tmp_path, ["a", "b", "c"])
    await keeper.sync(cfg)
    assert None not in [await store.due_time(url(f)) for f in "abc"]
    assert not [r for r in caplog.records if "repaired" in r.getMessage()]  # a first sync is no repair
    await store.unschedule([url("a"), url("c")])  # as if Redis had lost them
    await keeper.sync(cfg)
    assert None not in [await store.due_time(url(f)) for f in "abc"]
    repaired = [r for r in caplog.records if "schedule repaired" in r.getMessage()]
    assert [r.__dict__["feeds"] for r in repaired] == [2] and repaired[0].levelno == logging.WARNING


async def test_overdue_feeds_are_named_by_the_health_check(store: Store, tmp_path: Path) -> None:
    keeper = ScheduleKeeper(store, "w1")
    cfg = config(tmp_path, ["a", "b"])
    await keeper.sync(cfg)
    assert await keeper.health.check() is None
    await store.schedule({url("b"): time.time() - OVERDUE_S - 300})  # due long ago, nobody claimed it
    await keeper.sync(cfg)
    reason = await keeper.health.check()
    assert reason is not None and url("b") in reason and "overdue" in reason
    await store.schedule({url("b"): time.time() + 60})  # polled: healthy again at the next sync
    await keeper.sync(cfg)
    assert await keeper.health.check() is None


async def test_a_feed_only_another_generation_knows_is_given_back_then_dropped_once_all_agree(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    old, new = config(tmp_path, ["a"], "old.yaml"), config(tmp_path, ["a", "b"], "new.yaml")
    reloaded, behind = ScheduleKeeper(store, "w1"), ScheduleKeeper(other_store, "w2")
    await behind.sync(old)
    await reloaded.sync(new)  # w1 reloaded first: b is new
    before = time.time()
    await behind.unknown([url("b")])  # w2 claimed b, which it does not know
    due = await store.due_time(url("b"))
    assert due is not None and before + GIVE_BACK_S - 1 <= due <= time.time() + GIVE_BACK_S + 1  # given back
    # Everyone runs the config without b now (it was removed): the worker that claims it drops it.
    await reloaded.sync(old)
    await behind.unknown([url("b")])
    assert await store.due_time(url("b")) is None


async def test_schedule_counts_the_feeds_it_added(store: Store) -> None:
    assert await store.schedule({url("a"): 1.0, url("b"): 2.0}, only_new=True) == 2
    assert await store.schedule({url("a"): 5.0, url("c"): 3.0}, only_new=True) == 1
    assert await store.due_time(url("a")) == 1.0
    assert await store.schedule({url("a"): 5.0, url("d"): 3.0}) == 1
    assert await store.due_time(url("a")) == 5.0
    assert [u for u, _ in await store.overdue(4.0, 10)] == [url("b"), url("c"), url("d")]
