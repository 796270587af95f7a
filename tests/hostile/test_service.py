"""Issue 11, points 6, 7, 8 (delivery lease) and 10 (outbox state): the service under bugs, signals, races
and time.

- A background task that crashes is logged with its traceback, restarted, and named by /healthz meanwhile;
  the alert it was sending still arrives exactly once.
- SIGTERM keeps the grace period: polling stops, delivery runs until `shutdown_grace`, the process exits 0
  within grace + 2 s, the rest waits in the outbox for the next start; a second signal exits at once.
- Two delivery workers and a Slack slower than the lease never post one record twice; a worker that lost
  its lease stops sending.
- Parked records expire, `outbox --purge` removes them, waiting records are never touched.

Real parts throughout: both stores, the Slack stand-in, the feed server, `newswatch run` in child processes.
The only hand-written fakes sit at I/O boundaries: a notifier with a bug and a store that fails one call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from newswatch.cli import main
from newswatch.config import load_config
from newswatch.delivery.notify.base import Record
from newswatch.delivery.notify.slack import SlackNotifier
from newswatch.delivery.outbox import Delivery
from newswatch.delivery.report import DeliveryPolicy
from newswatch.service.http import AllHealthy, OpsServer, StoreHealth
from newswatch.service.metrics import Metrics
from newswatch.service.supervise import Supervisor
from newswatch.store import Store, open_store
from tests.delivery.test_outbox import posted_urls, queue
from tests.feedserver import FeedServer
from tests.service.test_resilience import child_log, start, wait_for
from tests.slackstub import GOOD_TOKEN, SlackStub

OTHER_TOKEN = "xoxb-second-worker"
DATE_BUG = "could not convert string to float: 'Wed, 21 Oct 2015 07:28:00 GMT'"


@pytest.fixture(autouse=True)
def _child_uses_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    # `newswatch run` children must import the code under test, whatever install the machine has.
    src = str(Path(__file__).resolve().parents[2] / "src")
    monkeypatch.setenv("PYTHONPATH", src + os.pathsep + os.environ.get("PYTHONPATH", ""))


async def healthz(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(url + "/healthz") as resp:
        return resp.status, await resp.json()


async def until(cond: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def crashes_logged(caplog: pytest.LogCaptureFixture, task: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "task crashed" and r.__dict__.get("task") == task]


# ------------------------------------------------------------------------------------------ point 6: supervision


class BuggyNotifier:
    """A Slack-kind notifier with a bug: while ``broken`` every send raises ValueError, as an HTTP-date
    ``Retry-After`` reaching ``float()`` did in notify/slack.py."""

    name = "slack"
    threads = False
    pace = 0.0

    def __init__(self) -> None:
        self.broken = True
        self.crashes = 0
        self.sent: list[str] = []

    async def start(self) -> None:
        return None

    async def send(self, target: str, record: Record, thread: str | None) -> str | None:
        if self.broken:
            self.crashes += 1
            raise ValueError(DATE_BUG)
        self.sent.append(str(record["url"]))
        return None

    async def send_digest(self, target: str, records: Sequence[Record], reason: str) -> None:
        raise AssertionError("no digest expected")

    async def close(self) -> None:
        return None


async def test_delivery_crash_is_logged_restarted_named_by_healthz_and_the_alert_sent_once(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    urls = await queue(store, 3, "slack:#news")
    notifier = BuggyNotifier()
    delivery = Delivery(store, {"slack": notifier}, policy=DeliveryPolicy(flood_max=1000))
    tasks = Supervisor(backoff_base=0.1, backoff_cap=0.2, stable_after=0.5)
    stop = asyncio.Event()
    health = AllHealthy(tasks, StoreHealth(store))
    async with OpsServer("127.0.0.1:0", Metrics(process=False), health) as ops:
        status, body = await healthz(ops.url)
        assert status == 200, body
        tasks.start("delivery", lambda: delivery.run(stop, idle=0.1))
        try:
            await until(lambda: notifier.crashes >= 2, 20, "the delivery to crash twice")
            status, body = await healthz(ops.url)
            assert status == 503
            assert body["reason"].startswith("delivery down since ")
            assert f"ValueError: {DATE_BUG}" in body["reason"]
            assert (
                urls[0] not in notifier.sent and await store.outbox_pending() == 3
            )  # nothing lost meanwhile

            notifier.broken = False  # the bug is gone (or the record that hit it no longer does)
            await until(lambda: len(notifier.sent) == 3, 20, "the three alerts")
            deadline = time.monotonic() + 20
            while (await healthz(ops.url))[0] != 200:
                assert time.monotonic() < deadline, "healthz never came back to 200"
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await tasks.close()
    assert notifier.sent == urls  # each exactly once, in order
    assert await store.outbox_pending() == 0
    logged = crashes_logged(caplog, "delivery")
    assert len(logged) == notifier.crashes  # one traceback per crash, not zero and not two
    assert all(r.exc_info is not None and isinstance(r.exc_info[1], ValueError) for r in logged)
    assert not [r for r in caplog.records if r.name == "asyncio"]  # no task left with an unseen exception


class ScheduleFailsOnce:
    """The store at its I/O boundary, with ``claim_due`` failing unexpectedly while ``broken`` (a bug, not
    an outage: the polling loop waits out StoreError on its own)."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.broken = True
        self.failures = 0

    async def claim_due(self, now: float, limit: int, hold: float) -> list[str]:
        if self.broken:
            self.failures += 1
            raise ValueError("time data 'NaN' does not match format")
        return await self._inner.claim_due(now, limit, hold)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_polling_loop_crash_is_restarted_and_reported(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from newswatch.app import open_app
    from newswatch.service.scheduler import Scheduler

    async with FeedServer() as server, SlackStub() as slack:
        server.add("/feed.xml", feed_xml(0, 3))
        cfg = write_config(tmp_path, server.url("/feed.xml"), store_url, slack, grace="2s")
        with cfg.open("a", encoding="utf-8") as f:
            f.write('http: {listen: "127.0.0.1:0"}\n')
        async with open_app(load_config(cfg)) as app:
            assert app.ops is not None
            app.tasks.backoff_base, app.tasks.backoff_cap, app.tasks.stable_after = 0.1, 0.2, 0.5
            flaky = ScheduleFailsOnce(app.pipeline.store)
            app.pipeline.store = flaky  # type: ignore[assignment]
            scheduler = Scheduler(app.pipeline, app.tasks, heartbeat=app.heartbeat.beat)
            stop = asyncio.Event()
            running = asyncio.create_task(scheduler.run(stop))
            try:
                await until(lambda: flaky.failures >= 2, 20, "the polling loop to crash twice")
                status, body = await healthz(app.ops.url)
                assert status == 503 and body["reason"].startswith("polling down since ")
                assert "ValueError: time data 'NaN'" in body["reason"]
                flaky.broken = False
                await until(lambda: len(delivered(slack)) == 3, 20, "the three alerts")
                deadline = time.monotonic() + 20
                while (await healthz(app.ops.url))[0] != 200:
                    assert time.monotonic() < deadline, "healthz never came back to 200"
                    await asyncio.sleep(0.1)
            finally:
                stop.set()
                await running
    assert delivered(slack) == ["0", "1", "2"]
    logged = crashes_logged(caplog, "polling")
    assert len(logged) == flaky.failures and all(r.exc_info is not None for r in logged)


# ------------------------------------------------------------------------------------------ point 7: SIGTERM

ITEMS = 45


def feed_xml(first: int, last: int) -> str:
    """Distinct items, published a minute apart, so their alerts queue (and must arrive) in this order."""
    words = "harbour council budget river bridge school festival rail court library museum clinic".split()
    items = []
    for i in range(first, last):
        a, b, c = words[i % 12], words[(i // 12) % 12], words[(i * 5 + 3) % 12]
        minute = f"{10 + i // 60:02d}:{i % 60:02d}"
        items.append(
            f"<item><title>Notice {i}: {a} {b} {c} item {i}</title><link>https://local.example/n/{i}</link>"
            f"<guid>n-{i}</guid><pubDate>Thu, 06 Mar 2025 {minute}:00 +0000</pubDate>"
            f"<description>Notice {i} on the {a}, the {b} and the {c}, reference {i * 7919}.</description></item>"
        )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local</title>{"".join(items)}</channel></rss>'


def write_config(tmp_path: Path, feed_url: str, store_url: str, slack: SlackStub, *, grace: str) -> Path:
    cfg = tmp_path / "newswatch.yaml"
    cfg.write_text(
        f"""
store: {store_url}
max_item_age: null
feeds:
  - {{url: "{feed_url}", name: Local, interval: 1h}}
watches:
  - {{name: all, query: '*'}}
notify:
  slack: {{token: "{GOOD_TOKEN}", channel: "#news", base_url: "{slack.base_url}", min_interval: 0.002s}}
  flood: {{max_alerts: 100000}}
  shutdown_grace: {grace}
""",
        encoding="utf-8",
    )
    return cfg


def delivered(slack: SlackStub) -> list[str]:
    """Item numbers in the order Slack received them."""
    return [m for p in slack.posts for m in re.findall(r"local\.example/n/(\d+)", json.dumps(p))]


def assert_each_once_in_order(got: list[str], n: int) -> None:
    """Every item 0..n-1, in order; only the one message cut in flight may appear twice, back to back."""
    repeats = [a for a, b in itertools.pairwise(got) if a == b]
    assert len(repeats) <= 1, f"more than the one in-flight message repeated: {repeats}"
    deduped = [a for k, a in enumerate(got) if k == 0 or a != got[k - 1]]
    assert deduped == [str(i) for i in range(n)], got


def last_line(cfg: Path) -> str:
    lines = [ln for ln in child_log(cfg).splitlines() if ln and not ln.startswith(" ")]
    return lines[-1]


async def test_sigterm_keeps_the_grace_period_and_the_next_start_delivers_the_rest(
    tmp_path: Path, store_url: str
) -> None:
    async with FeedServer() as server, SlackStub(delay=0.3) as slack:
        server.add("/feed.xml", feed_xml(0, ITEMS))
        cfg = write_config(tmp_path, server.url("/feed.xml"), store_url, slack, grace="3s")
        proc = await start(cfg)
        await wait_for(lambda: len(slack.posts) >= 1, 60, "the first post", cfg)
        before = len(slack.posts)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        took = time.monotonic() - signalled
        first_run = delivered(slack)
        log = child_log(cfg)
        assert proc.returncode == 0, log
        # Requirement: exit within grace + 2 s = 5 s.  Measured 3.2-3.7 s on two busy cores (27 s before).
        assert took < 5.0, f"exit took {took:.1f}s after SIGTERM (grace 3s)\n{log}"
        assert len(first_run) > before  # it kept delivering during the grace period...
        last = last_line(cfg)
        left = int(re.findall(r"left_in_outbox=(\d+)", last)[0])
        assert "INFO stopped" in last and left > 0, last  # ...and stopped with work left, as intended here
        # What is left is exactly what was not delivered (plus, at most, the one cut in flight).
        assert ITEMS <= left + len(set(first_run)) <= ITEMS + 1, (left, first_run)

        slack.delay = (
            0.0  # the next start only has to deliver the rest; a slow Slack was the first run's point
        )
        again = await start(cfg, "--once")
        await asyncio.wait_for(again.wait(), 120)
        assert again.returncode == 0, child_log(cfg)
    assert_each_once_in_order(delivered(slack), ITEMS)


async def test_a_second_signal_exits_at_once_and_loses_nothing(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server, SlackStub(delay=0.3) as slack:
        server.add("/feed.xml", feed_xml(0, ITEMS))
        cfg = write_config(tmp_path, server.url("/feed.xml"), store_url, slack, grace="60s")
        proc = await start(cfg)
        await wait_for(lambda: len(slack.posts) >= 3, 60, "the first posts", cfg)
        proc.send_signal(signal.SIGTERM)
        await wait_for(lambda: "INFO stopping" in child_log(cfg), 10, "the first signal", cfg)
        await asyncio.sleep(0.5)  # well inside the 60 s grace
        signalled = time.monotonic()
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 30)
        took = time.monotonic() - signalled
        log = child_log(cfg)
        assert proc.returncode == 0, log
        assert took < 2.0, f"exit took {took:.1f}s after the second signal\n{log}"  # measured 0.2-0.5 s
        assert "stopping at once" in log and "left_in_outbox=" in last_line(cfg)
        assert len(set(delivered(slack))) < ITEMS  # it really was cut short

        slack.delay = (
            0.0  # the next start only has to deliver the rest; a slow Slack was the first run's point
        )
        again = await start(cfg, "--once")
        await asyncio.wait_for(again.wait(), 120)
        assert again.returncode == 0, child_log(cfg)
    assert_each_once_in_order(delivered(slack), ITEMS)


# ------------------------------------------------------------------------------------------ point 8: delivery lease


@pytest.fixture
async def second_store(store_url: str) -> AsyncIterator[Store]:
    """Another connection to the same store, as a second worker (process) would have."""
    s = open_store(store_url)
    yield s
    await s.close()


async def test_two_workers_and_a_slack_slower_than_the_lease_post_each_record_once_in_order(
    store: Store, second_store: Store
) -> None:
    urls = await queue(store, 4, "slack:#news")
    async with SlackStub(delay=1.5, tokens={GOOD_TOKEN, OTHER_TOKEN}) as slack:
        a_notifier = SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.01)
        b_notifier = SlackNotifier(OTHER_TOKEN, slack.base_url, pace=0.01)
        # A 1 s lease and 1.5 s Slack calls: without renewal in flight, the other worker takes the queue
        # over in the middle of every call and posts the same record again.
        policy = DeliveryPolicy(flood_max=1000)
        a = Delivery(store, {"slack": a_notifier}, policy=policy, worker="a", lease_s=1.0)
        b = Delivery(second_store, {"slack": b_notifier}, policy=policy, worker="b", lease_s=1.0)
        deadline = time.time() + 60
        await asyncio.gather(a.drain_all(deadline), b.drain_all(deadline))
        await a_notifier.close()
        await b_notifier.close()
    assert posted_urls(slack) == urls  # each once, in order
    assert await store.outbox_pending() == 0


async def test_a_worker_that_lost_its_lease_mid_send_stops_and_the_record_stays_queued(
    store: Store, second_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    urls = await queue(store, 3, "slack:#news")
    lease = "outbox:slack:#news"
    async with SlackStub(delay=2.0, tokens={GOOD_TOKEN, OTHER_TOKEN}) as slack:
        a_notifier = SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.01)
        a = Delivery(
            store, {"slack": a_notifier}, policy=DeliveryPolicy(flood_max=1000), worker="a", lease_s=1.0
        )
        sending = asyncio.create_task(a.drain())
        await asyncio.sleep(0.5)  # worker a is in the middle of its first (2 s) Slack call
        # As if a had stalled past its lease: it lapsed and another worker took the queue.
        await second_store.release(lease, "a")
        assert await second_store.lease(lease, "intruder", 60.0)
        report = await asyncio.wait_for(sending, 10)
        assert slack.posts == []  # a gave up before Slack even answered its call...
        assert report.sent == 0 and await store.outbox_pending() == 3  # ...and the record stays queued
        cut = [r for r in caplog.records if r.getMessage() == "delivery cut off"]
        assert cut and cut[0].__dict__["cause"] == "another worker took the queue over"
        # a tries again: the lease is someone else's, so it sends nothing at all.
        calls = len(slack.calls)
        assert (await a.drain()).sent == 0 and len(slack.calls) == calls

        await second_store.release(lease, "intruder")
        b_notifier = SlackNotifier(OTHER_TOKEN, slack.base_url, pace=0.01)
        b = Delivery(second_store, {"slack": b_notifier}, policy=DeliveryPolicy(flood_max=1000), worker="b")
        await b.drain_all(time.time() + 60)
        await a_notifier.close()
        await b_notifier.close()
    by_a = [c for c in slack.calls if c.method == "chat.postMessage" and c.token == GOOD_TOKEN]
    by_b = [c for c in slack.calls if c.method == "chat.postMessage" and c.token == OTHER_TOKEN]
    assert len(by_a) <= 1  # only the call already in flight when the lease went (Slack may still post it)
    assert [u for c in by_b for u in re.findall(r"https://news\.example/w/\d+", json.dumps(c.body))] == urls
    assert await store.outbox_pending() == 0


async def test_a_hung_slack_call_is_cut_at_the_send_timeout_and_retried(store: Store) -> None:
    urls = await queue(store, 2, "slack:#news")
    async with SlackStub(delay=3.0) as slack:
        notifier = SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.01)
        delivery = Delivery(
            store, {"slack": notifier}, policy=DeliveryPolicy(flood_max=1000), send_timeout=0.5
        )
        report = await delivery.drain()
        await notifier.close()
    assert report.retried == 1 and report.sent == 0
    head = await store.outbox_head("slack:#news", 10)
    assert [e.record["url"] for e in head] == urls and head[0].attempts == 1  # retried later, order kept


# ------------------------------------------------------------------------------------------ point 10: outbox state


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_parked_records_expire_after_parked_ttl_and_waiting_ones_stay(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="newswatch")
    await queue(store, 2, "slack:#gone", start=10)
    await queue(store, 3, "slack:#news")
    async with SlackStub(channels={"#news"}) as slack:
        down = {"on": True}
        slack.interceptor = lambda method, body: (  # #news is failing for now: its records wait
            web.json_response({"ok": False, "error": "fatal_error"}, status=503)
            if down["on"] and body.get("channel") == "#news"
            else None
        )
        notifier = SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.01)
        clock = Clock()
        policy = DeliveryPolicy(flood_max=1000, parked_ttl=7 * 86400)
        delivery = Delivery(store, {"slack": notifier}, policy=policy, clock=clock)
        first = await delivery.drain()
        assert first.parked == 2 and first.retried == 1
        assert len(await store.outbox_parked()) == 2 and await store.outbox_pending() == 3

        clock.now += 6 * 86400  # six days on: not yet
        await delivery.drain()
        assert len(await store.outbox_parked()) == 2
        clock.now += 86400 + 3600  # past seven days (and the hourly sweep): gone
        await delivery.drain()
        await notifier.close()
    assert await store.outbox_parked() == []
    assert await store.outbox_pending() == 3  # waiting records are never expired
    expired = [r for r in caplog.records if r.getMessage() == "parked records expired"]
    assert [r.__dict__["count"] for r in expired] == [2]


def test_outbox_purge_removes_parked_records_and_keeps_waiting_ones(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def setup() -> None:
        store = open_store(store_url)
        await queue(store, 3, "slack:#news")
        await queue(store, 2, "slack:#gone", start=5)
        head = await store.outbox_head("slack:#gone", 10)
        await store.outbox_park("slack:#gone", [e.id for e in head], "channel_not_found")
        await store.close()

    asyncio.run(setup())
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"store: {store_url}\n", encoding="utf-8")
    assert main(["outbox", "-c", str(cfg), "--purge"]) == 0
    assert capsys.readouterr().out == "purged 2 parked record(s); 3 waiting for delivery kept\n"
    assert main(["outbox", "-c", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "waiting: 3" in out and "parked: 0" in out
    assert main(["outbox", "-c", str(cfg), "--purge"]) == 0
    assert capsys.readouterr().out.startswith("purged 0 parked record(s)")


async def test_failed_ids_are_forgotten_once_delivered_or_parked(store: Store) -> None:
    await queue(store, 2, "slack:#news")
    await queue(store, 1, "slack:#gone", start=5)
    async with SlackStub() as slack:
        state = {"news": "fail", "gone": "fail"}

        def answer(method: str, body: dict[str, Any]) -> web.StreamResponse | None:
            channel = str(body.get("channel", "")).lstrip("#")
            if method != "chat.postMessage" or state.get(channel) == "ok":
                return None
            error = "fatal_error" if state[channel] == "fail" else "channel_not_found"
            return web.json_response(
                {"ok": False, "error": error}, status=503 if error == "fatal_error" else 200
            )

        slack.interceptor = answer
        notifier = SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.01)
        clock = Clock()
        delivery = Delivery(store, {"slack": notifier}, policy=DeliveryPolicy(flood_max=1000), clock=clock)
        await delivery.drain()
        assert len(delivery._failed_here) == 2  # each queue's head failed and is in back-off here
        state.update(news="ok", gone="park")
        clock.now += 3600  # past the back-off
        await delivery.drain()
        await notifier.close()
    assert len(delivery._failed_here) == 0  # delivered or parked: nothing left to remember
    assert len(posted_urls(slack)) == 2 and len(await store.outbox_parked()) == 1
