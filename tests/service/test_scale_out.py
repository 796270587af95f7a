"""Several real `newswatch run` workers on one real Redis, under the failures of issue 22: a worker paused past
its lease, Redis restarted empty, a reload on one worker first.  Each worker has its own Slack token, so the
Slack stand-in tells who sent what."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.conftest import RedisClusterServers, RedisServer
from tests.feedserver import FeedServer
from tests.service.test_resilience import child_log, start, wait_for
from tests.slackstub import GOOD_TOKEN, SlackCall, SlackStub

TOKENS = (GOOD_TOKEN, "xoxb-second-worker", "xoxb-third-worker")


STORY_TEXTS = [
    ("Harbour pilots strike over night shifts", "Pilots at the harbour walked out at dawn, halting tankers."),
    ("Council approves new cycling bridge", "The council voted 31 to 4 for a bridge across the river Elm."),
    ("Rail signal fault delays morning trains", "A signal failure near Northgate stopped commuter trains."),
    ("Museum returns bronze mask to Benin", "The city museum handed back a bronze mask taken in 1897."),
    ("Clinic opens late hours for flu vaccines", "The east clinic will vaccinate until 9 pm through March."),
    ("Court fines landlord over damp flats", "A judge fined a landlord 40,000 for mould in 12 flats."),
]


def story_feed(copies: int, *, first: int = 0) -> str:
    """Items ``first`` .. ``copies``-1, each a copy of one of six unrelated events (so stories gather several
    reports, posted as thread replies, and the parent's source count is edited)."""
    items = []
    for i in range(first, copies):
        title, body = STORY_TEXTS[i % len(STORY_TEXTS)]
        items.append(
            f"<item><title>{title}</title><link>https://local.example/n/{i}</link><guid>n-{i}</guid>"
            f"<pubDate>Thu, 06 Mar 2025 10:{i:02d}:00 +0000</pubDate><description>{body}</description></item>"
        )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local</title>{"".join(items)}</channel></rss>'


def write_config(
    path: Path, feeds: list[str], redis: str, slack: SlackStub, token: str, watches: str
) -> Path:
    lines = "\n".join(f'  - {{url: "{u}", name: "Feed {k}", interval: 1s}}' for k, u in enumerate(feeds))
    path.write_text(
        f"""
store: {redis}
max_item_age: null
fetch: {{timeout: 2s}}
feeds:
{lines}
watches:
{watches}
notify:
  slack: {{token: "{token}", channel: "#news", base_url: "{slack.base_url}", min_interval: 0.002s}}
  flood: {{max_alerts: 100000}}
  shutdown_grace: 3s
""",
        encoding="utf-8",
    )
    return path


ALL = "  - {name: all, query: '*'}"


def item_of(call: SlackCall) -> list[str]:
    return re.findall(r"local\.example/n/(\d+)", json.dumps(call.body))


def posts(slack: SlackStub) -> list[SlackCall]:
    return [c for c in slack.calls if c.method == "chat.postMessage" and c.ok]


def stories(slack: SlackStub) -> dict[str, list[SlackCall]]:
    """Parent ts -> the replies in its thread."""
    threads: dict[str, list[SlackCall]] = defaultdict(list)
    for c in posts(slack):
        if "thread_ts" in c.body:
            threads[str(c.body["thread_ts"])].append(c)
    return threads


@pytest.fixture(params=["redis", "cluster"])
def shared_url(request: pytest.FixtureRequest) -> str:
    """An empty shared store: one Redis server, or a three-master Redis Cluster."""
    if request.param == "cluster":
        cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
        cluster.flush()
        return cluster.url
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    return server.url


async def test_a_worker_paused_past_its_lease_repeats_at_most_its_one_message_and_counts_stay_right(
    tmp_path: Path, shared_url: str
) -> None:
    items = 31
    async with FeedServer() as server, SlackStub(delay=0.25, tokens=set(TOKENS)) as slack:
        server.add("/feed.xml", story_feed(items))
        cfgs, procs = [], []
        for k in range(2):
            (tmp_path / f"w{k}").mkdir()
            cfg = write_config(tmp_path / f"w{k}" / "cfg.yaml", [server.url("/feed.xml")], shared_url,
                               slack, TOKENS[k], ALL)  # fmt: skip
            cfgs.append(cfg)
            procs.append(await start(cfg))
        await wait_for(lambda: len(posts(slack)) >= 4, 60, "the first posts", cfgs[0])
        # Pause the worker whose Slack call was just answered: its ack is not written, its lease (10 s) lapses.
        seen = len(slack.calls)
        await wait_for(lambda: len(slack.calls) > seen, 10, "the next answered call", cfgs[0])
        sender = TOKENS.index(str(slack.calls[-1].token))
        paused = procs[sender]
        os.kill(paused.pid, signal.SIGSTOP)
        stopped_at = len(slack.calls)
        try:
            await asyncio.sleep(30)  # past the lease: the other worker takes the queue over and drains it all
        finally:
            os.kill(paused.pid, signal.SIGCONT)
        resumed_at = len(slack.calls)
        await wait_for(
            lambda: {i for c in posts(slack) for i in item_of(c)} == {str(i) for i in range(items)},
            60,
            "every item",
            cfgs[1 - sender],
        )
        await asyncio.sleep(3)  # the resumed worker has every chance to act on what it read before
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            await asyncio.wait_for(p.wait(), 30)
    by_paused_after = [c for c in slack.calls[resumed_at:] if c.token == TOKENS[sender]]
    assert len(slack.calls) > stopped_at + 5, "the other worker did not take over; the test proves nothing"
    # The paused worker had nothing in flight when it resumed (its call was answered before the pause), and
    # whatever it had read of the queue before is not acted on: not one more Slack call from it.
    assert by_paused_after == [], [(c.method, item_of(c)) for c in by_paused_after]
    delivered = Counter(i for c in posts(slack) for i in item_of(c))
    repeated = {i: n for i, n in delivered.items() if n > 1}
    print(
        f"\nfigures: paused worker made {len(by_paused_after)} Slack calls after resuming; "
        f"{len(posts(slack))} posts for {items} items, {sum(n - 1 for n in repeated.values())} repeated"
    )
    assert sum(n - 1 for n in repeated.values()) <= 1, repeated  # at most the one message in flight
    threads = stories(slack)
    parents = [c for c in posts(slack) if "thread_ts" not in c.body]
    assert threads, "no story gathered several reports; the test proves nothing about source counts"
    for parent in parents:
        replies = threads.get(parent.ts, [])
        shown = slack.message(parent.ts)
        reports = 1 + len({i for c in replies for i in item_of(c)})
        count = re.findall(r"\*(\d+) sources\*", json.dumps(shown))
        assert (int(count[0]) if count else 1) == reports, (parent.ts, count, reports)
    # Every reply went to a parent that was posted, and each story's replies to one parent only.
    assert set(threads) <= {p.ts for p in parents}
    for p in procs:
        assert p.returncode == 0


@pytest.fixture(autouse=True)
def _child_uses_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    src = str(Path(__file__).resolve().parents[2] / "src")
    monkeypatch.setenv("PYTHONPATH", src + os.pathsep + os.environ.get("PYTHONPATH", ""))


def distinct_feed(n: int, first: int = 0) -> str:
    words = "harbour council budget river bridge school festival rail court library museum clinic".split()
    items = "".join(
        f"<item><title>Notice {i}: {words[i % 12]} {words[(i // 12) % 12]} {words[(i * 5 + 3) % 12]}</title>"
        f"<link>https://local.example/n/{i}</link><guid>n-{i}</guid>"
        f"<pubDate>Thu, 06 Mar 2025 10:{i:02d}:00 +0000</pubDate>"
        f"<description>Notice {i} on the {words[i % 12]}, reference {i * 7919}.</description></item>"
        for i in range(first, n)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local</title>{items}</channel></rss>'


async def test_redis_refusing_connections_twice_repeats_at_most_the_message_in_flight_each_time(
    tmp_path: Path,
) -> None:
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis", persistent=True)
    redis.start()
    items, outages = 40, 2
    try:
        async with FeedServer() as server, SlackStub(delay=0.4, tokens=set(TOKENS)) as slack:
            server.add("/feed.xml", distinct_feed(items))
            cfgs, procs = [], []
            for k in range(3):
                (tmp_path / f"w{k}").mkdir()
                cfg = write_config(tmp_path / f"w{k}" / "cfg.yaml", [server.url("/feed.xml")], redis.url,
                                   slack, TOKENS[k], ALL)  # fmt: skip
                cfgs.append(cfg)
                procs.append(await start(cfg))
            for n in range(outages):
                await wait_for(lambda n=n: len(posts(slack)) >= 5 + 8 * n, 60, "posts", cfgs[0])  # type: ignore[misc]
                redis.stop()
                await asyncio.sleep(12)  # past the 10 s lease: whoever sends next was granted the queue anew
                redis.start()
            await wait_for(
                lambda: {i for c in posts(slack) for i in item_of(c)} == {str(i) for i in range(items)},
                120,
                "every item",
                cfgs[0],
            )
            await asyncio.sleep(2)
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                await asyncio.wait_for(p.wait(), 30)
    finally:
        redis.stop()
    delivered = Counter(i for c in posts(slack) for i in item_of(c))
    repeated = {i: n for i, n in delivered.items() if n > 1}
    print(
        f"\nfigures: {outages} outages of 12 s, 3 workers: {len(posts(slack))} posts for {items} items, "
        f"{sum(n - 1 for n in repeated.values())} repeated"
    )
    # One queue, so one worker sends at a time: at most its one message in flight per outage is repeated.
    assert sum(n - 1 for n in repeated.values()) <= outages, repeated
    assert all(p.returncode == 0 for p in procs), child_log(cfgs[0])


async def test_redis_restarted_empty_polling_resumes_and_every_later_item_is_delivered(
    tmp_path: Path,
) -> None:
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis")  # nothing on disk: a restart comes back empty
    redis.start()
    try:
        async with FeedServer() as server, SlackStub(tokens=set(TOKENS)) as slack:
            server.add("/feed.xml", distinct_feed(5))
            (tmp_path / "w").mkdir()
            cfg = write_config(tmp_path / "w" / "cfg.yaml", [server.url("/feed.xml")], redis.url, slack,
                               TOKENS[0], ALL)  # fmt: skip
            proc = await start(cfg)
            await wait_for(lambda: len(posts(slack)) == 5, 60, "the first alerts", cfg)
            redis.stop()
            redis.start()  # empty: no schedule, no dedupe state
            restarted = time.monotonic()
            # Only the later items are in the feed now (the earlier ones would alert again: their state is gone).
            server.add("/feed.xml", distinct_feed(12, first=5))
            await wait_for(
                lambda: {i for c in posts(slack) for i in item_of(c)} == {str(i) for i in range(12)},
                60,
                "the items published after the restart",
                cfg,
            )
            print(
                f"\nfigures: every item published after the empty restart delivered "
                f"{time.monotonic() - restarted:.1f}s after it"
            )
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
    finally:
        redis.stop()
    log = child_log(cfg)
    assert "schedule repaired" in log, log
    assert Counter(i for c in posts(slack) for i in item_of(c)) == Counter({str(i): 1 for i in range(12)})
    assert proc.returncode == 0, log


async def test_a_reload_on_one_worker_first_loses_no_alert_of_the_new_watch(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    redis_server.flush()
    old_watches = "  - {name: harbour, query: 'harbour'}"
    new_watches = old_watches + "\n  - {name: school, query: 'school'}"
    async with FeedServer() as server, SlackStub(tokens=set(TOKENS)) as slack:
        server.add("/a.xml", distinct_feed(3))
        server.add("/b.xml", distinct_feed(0))
        feeds = [server.url("/a.xml")]
        cfgs, procs = [], []
        for k in range(2):
            (tmp_path / f"w{k}").mkdir()
            cfgs.append(write_config(tmp_path / f"w{k}" / "cfg.yaml", feeds, redis_server.url, slack, TOKENS[k],
                                     old_watches))  # fmt: skip
            procs.append(await start(cfgs[-1]))
        await wait_for(
            lambda: "0" in {i for c in posts(slack) for i in item_of(c)}, 60, "harbour alert", cfgs[0]
        )
        # Worker 0 reloads first: a new feed and a new watch.  Worker 1 still runs the old config.
        write_config(cfgs[0], [*feeds, server.url("/b.xml")], redis_server.url, slack, TOKENS[0], new_watches)
        procs[0].send_signal(signal.SIGHUP)
        await wait_for(lambda: "config reloaded" in child_log(cfgs[0]), 20, "the reload", cfgs[0])
        b_hits = server.hits["/b.xml"]
        server.add("/a.xml", distinct_feed(30))  # school items among them; worker 1 may see them first
        server.add("/b.xml", distinct_feed(30).replace("local.example/n/", "local.example/n/b"))
        school = {str(i) for i in range(30) if "school" in distinct_feed(30).split("<item>")[i + 1].lower()}
        school_b = {"b" + i for i in school}

        def alerted() -> set[str]:
            return {
                i for c in posts(slack) for i in re.findall(r"local\.example/n/(b?\d+)", json.dumps(c.body))
            }

        every = school | school_b
        await wait_for(lambda: every <= alerted(), 60, f"every school alert ({every})", cfgs[1])
        b_hits, since = server.hits["/b.xml"], time.monotonic()
        # Worker 1 does not know /b.xml: it gives it back instead of unscheduling it, so the feed keeps its 1 s
        # interval give or take a round (before: polled once in 24 s, so 3 polls took over a minute).
        await wait_for(
            lambda: server.hits["/b.xml"] - b_hits >= 3, 45, "three polls of the new feed", cfgs[1]
        )
        print(
            f"\nfigures: the new feed polled 3 times in {time.monotonic() - since:.1f} s at a 1 s interval while one "
            "worker ran the old config"
        )
        procs[1].send_signal(signal.SIGTERM)
        await asyncio.wait_for(procs[1].wait(), 30)
        procs[0].send_signal(signal.SIGTERM)
        await asyncio.wait_for(procs[0].wait(), 30)
    counts = Counter(
        i for c in posts(slack) for i in re.findall(r"local\.example/n/(b?\d+)", json.dumps(c.body))
    )
    texts = distinct_feed(30).lower().split("<item>")[1:]
    watched = {str(i): ("harbour" in t) + ("school" in t) for i, t in enumerate(texts)}
    expected = Counter({k: n for i, n in watched.items() for k in (i, "b" + i) if n})
    assert school and counts == expected  # one message per watch and item: none lost, none doubled
    assert all(p.returncode == 0 for p in procs)


async def test_three_workers_gather_stories_once_and_a_cluster_spreads_the_data_over_every_master(
    tmp_path: Path, shared_url: str, request: pytest.FixtureRequest
) -> None:
    copies = 42  # 7 copies of each of 6 events, over three feeds, published at once
    async with FeedServer() as server, SlackStub(tokens=set(TOKENS)) as slack:
        feeds = []
        for f in range(3):
            server.add(f"/f{f}.xml", story_feed(copies).replace("local.example/n/", f"local.example/n/{f}"))
            feeds.append(server.url(f"/f{f}.xml"))
        cfgs, procs = [], []
        for k in range(3):
            (tmp_path / f"w{k}").mkdir()
            cfg = write_config(tmp_path / f"w{k}" / "cfg.yaml", feeds, shared_url, slack, TOKENS[k], ALL)
            cfgs.append(cfg)
            procs.append(await start(cfg))
        every = {f"{f}{i}" for f in range(3) for i in range(copies)}
        await wait_for(
            lambda: {i for c in posts(slack) for i in item_of(c)} >= every, 90, "every item", cfgs[0]
        )
        await asyncio.sleep(3)  # a few more polls: nothing may be repeated
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            await asyncio.wait_for(p.wait(), 30)
    cluster = shared_url.startswith("redis+cluster://")
    spread = request.getfixturevalue("redis_cluster").keys_per_node() if cluster else []
    delivered = Counter(i for c in posts(slack) for i in item_of(c))
    parents = [c for c in posts(slack) if "thread_ts" not in c.body]
    threads = stories(slack)
    print(
        f"\nfigures: {'Redis Cluster' if cluster else 'one Redis'}, 3 workers, {3 * copies} copies of 6 events: {len(posts(slack))} posts, "
        f"{len(parents)} stories, keys per master {spread}"
    )
    assert delivered == Counter({i: 1 for i in every}), delivered  # none lost, none doubled
    assert len(parents) <= 3 * len(STORY_TEXTS) and threads  # copies gathered under their stories
    for parent in parents:
        reports = 1 + len({i for c in threads.get(parent.ts, []) for i in item_of(c)})
        count = re.findall(r"\*(\d+) sources\*", json.dumps(slack.message(parent.ts)))
        assert (int(count[0]) if count else 1) == reports
    assert all(n > 0 for n in spread), spread  # the data is spread over every master
    assert all(p.returncode == 0 for p in procs), child_log(cfgs[0])
