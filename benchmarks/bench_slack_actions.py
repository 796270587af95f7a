"""Slack actions (issue 16): what the mute check costs delivery, and how fast a click is answered.

1. Delivery.  N alerts queued for one Slack channel are delivered to a local Slack Web API stand-in (it answers
   at once, so newswatch's own cost is what shows).  Baseline: delivery as it was before issue 16 (no mute
   check; the same class with the check switched off).  Ours: with no mute in force, and with M mutes in force
   on the channel (other stories, so every record is still posted).  Runs are interleaved; best of R.
2. Clicks.  K signed clicks on the ops server's ``POST /slack/actions``: time until Slack gets its 200 (it
   must be under 3 s), and until the alert's edit reaches the stand-in.  Baseline: ``GET /healthz`` on the
   same server (a store ping), the cheapest request it serves.

    PYTHONPATH=src python benchmarks/bench_slack_actions.py                     # SQLite in a temporary dir
    PYTHONPATH=src python benchmarks/bench_slack_actions.py --redis redis://127.0.0.1:6379/15   # flushes db 15!
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from newswatch.delivery.effects import Verdict
from newswatch.delivery.notify.slack import SlackNotifier
from newswatch.delivery.outbox import Delivery
from newswatch.delivery.report import DeliveryPolicy
from newswatch.service.http import OpsServer
from newswatch.service.metrics import Metrics
from newswatch.service.slackactions import ActionHandler, ActionsEndpoint
from newswatch.service.supervise import Supervisor
from newswatch.store import Mute, Store, open_store
from newswatch.store.base import thread_key

TOKEN = "xoxb-bench"
SECRET = "bench-signing-secret-0123456789ab"
TARGET = "slack:#news"


class Slack:
    """The least a Slack stand-in must do: answer auth.test, chat.postMessage and chat.update with ok."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self._n = 0

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.json() if request.can_read_body else {}
        self.calls.append((method, time.perf_counter()))
        self._n += 1
        ts = body.get("ts") or f"1700000000.{self._n:06d}"
        return web.json_response({"ok": True, "channel": body.get("channel", "C1"), "ts": ts})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/{method}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{self.runner.addresses[0][1]}/api/"


class BeforeIssue16(Delivery):
    """Delivery without the mute check: what every post cost before."""

    async def _effect(self, *args: Any) -> Verdict:
        return Verdict.SEND


async def queue(store: Store, n: int, prefix: str) -> None:
    for i in range(n):
        await store.enqueue(TARGET, {"event": "alert", "watch": "w", "story": f"s-{prefix}{i}", "title": f"Item {i}",
                                     "url": f"https://x.example/{prefix}/{i}", "source": "Wire", "published": None,
                                     "matched": [], "at": "2025-03-05T00:00:00+00:00", "feed": "https://x.example/rss"})  # fmt: skip


async def deliver(store: Store, base_url: str, cls: type[Delivery], n: int, prefix: str) -> float:
    await queue(store, n, prefix)
    notifier = SlackNotifier(TOKEN, base_url, pace=0.0)
    delivery = cls(store, {"slack": notifier}, policy=DeliveryPolicy(flood_max=10**9))
    started = time.perf_counter()
    report = await delivery.drain_all(time.time() + 600)
    elapsed = time.perf_counter() - started
    await notifier.close()
    assert report.sent == n, report
    return n / elapsed


async def bench_delivery(store: Store, base_url: str, n: int, mutes: int, rounds: int) -> None:
    best: dict[str, float] = {}
    for r in range(rounds):
        await store.clear_mutes()
        for label, cls, in_force in (("baseline (no check)", BeforeIssue16, 0), ("ours, 0 mutes", Delivery, 0),
                                     (f"ours, {mutes} mutes", Delivery, mutes)):  # fmt: skip
            await store.clear_mutes()
            now = time.time()
            for i in range(in_force):
                await store.add_mute(Mute("story", TARGET, "w", f"s-other{i}", "U0BENCH01", now, now + 3600))
            rate = await deliver(store, base_url, cls, n, f"{r}{label[:6]}")
            best[label] = max(best.get(label, 0.0), rate)
    await store.clear_mutes()
    base = best["baseline (no check)"]
    print(f"delivery of {n} alerts to one channel, best of {rounds} (posts/s; ratio to baseline):")
    for label, rate in best.items():
        print(f"  {label:24} {rate:8.1f}   {rate / base:5.2f}x")


def signed(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return body, {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig,
                  "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip


async def bench_clicks(store: Store, base_url: str, slack: Slack, clicks: int) -> None:
    notifier = SlackNotifier(TOKEN, base_url, pace=0.0)
    tasks = Supervisor()
    handler = ActionHandler(store, notifier.redraw, tasks.spawn)
    endpoint = ActionsEndpoint(SECRET, handler)

    class Healthy:
        async def check(self) -> str | None:
            await store.ping()
            return None

    ops = OpsServer(
        "127.0.0.1:0", Metrics(process=False), Healthy(), routes=[("POST", "/slack/actions", endpoint.handle)]
    )
    await ops.start()
    answers, edits, health = [], [], []
    async with aiohttp.ClientSession() as session:
        for i in range(clicks):
            story = f"s-click{i}"
            record = {"event": "alert", "watch": "w", "story": story, "title": f"Item {i}", "url": "https://x.example/a",
                      "source": "Wire", "published": None, "feed": "https://x.example/rss"}  # fmt: skip
            state = {"ts": f"1.{i}", "channel": "C1", "sources": 1, "record": record, "target": TARGET}
            await store.set_thread(thread_key(TARGET, "w", story), json.dumps(state))
            value = json.dumps({"t": TARGET, "w": "w", "s": story, "f": "f-1"}, separators=(",", ":"))
            payload = {"type": "block_actions", "user": {"id": "U0BENCH01"},
                       "actions": [{"action_id": "newswatch.mute_story", "value": value}]}  # fmt: skip
            body, headers = signed(payload)
            edits_before = sum(1 for m, _ in slack.calls if m == "chat.update")
            started = time.perf_counter()
            async with session.post(f"{ops.url}/slack/actions", data=body, headers=headers) as resp:
                assert resp.status == 200, resp.status
            answers.append(time.perf_counter() - started)
            while sum(1 for m, _ in slack.calls if m == "chat.update") == edits_before:  # noqa: ASYNC110
                await asyncio.sleep(0.0005)  # polled: the stand-in is the measured side's peer, not ours
            edits.append(slack.calls[-1][1] - started)
            started = time.perf_counter()
            async with session.get(f"{ops.url}/healthz") as resp:
                assert resp.status == 200
            health.append(time.perf_counter() - started)
    await ops.stop()
    await tasks.close()
    await notifier.close()

    def ms(xs: list[float], q: float) -> float:
        return 1000 * statistics.quantiles(xs, n=100)[int(q) - 1] if len(xs) > 1 else 1000 * xs[0]

    print(f"{clicks} clicks on POST /slack/actions (ms: p50 / p95; Slack allows 3000):")
    print(f"  baseline GET /healthz    {ms(health, 50):7.2f} / {ms(health, 95):7.2f}")
    print(f"  answer to the click      {ms(answers, 50):7.2f} / {ms(answers, 95):7.2f}   "
          f"{statistics.median(answers) / statistics.median(health):5.2f}x healthz")  # fmt: skip
    print(f"  until the alert's edit   {ms(edits, 50):7.2f} / {ms(edits, 95):7.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--mutes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clicks", type=int, default=100)
    parser.add_argument("--redis", help="a Redis URL to use instead of SQLite (its database is flushed)")
    args = parser.parse_args()
    slack = Slack()
    base_url = await slack.start()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.redis or f"sqlite:///{Path(tmp) / 'state.db'}"
        store = open_store(url)
        if args.redis:
            await store._r.flushdb()  # type: ignore[attr-defined]
        print(f"store: {'redis' if args.redis else 'sqlite'}")
        try:
            await bench_delivery(store, base_url, args.alerts, args.mutes, args.rounds)
            await bench_clicks(store, base_url, slack, args.clicks)
        finally:
            await store.close()
            await slack.runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
