"""Apprise targets (notify.apprise) through the outbox: a real Apprise json:// URL posting to a local aiohttp
server (nothing leaves the machine), on both stores; `check` on a Discord URL without its secret."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from newswatch.cli import main, run
from newswatch.config import AppriseTarget, load_config
from newswatch.delivery.notify.apprise_sink import AppriseNotifier
from newswatch.delivery.outbox import Delivery
from newswatch.delivery.report import DeliveryPolicy
from newswatch.store import Store
from tests.delivery.test_outbox import queue

FEEDS = Path(__file__).parents[1] / "fixtures" / "feeds"
PASSWORD = "hunter2-s3cret"
W1 = "US–Hamas talks"


class Receiver:
    """A JSON endpoint answering ``status``; what it received, in order."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.got: list[dict[str, Any]] = []
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append(await request.json())
        return web.Response(status=self.status, text="boom" if self.status >= 400 else "ok")

    def url(self) -> str:
        return f"json://newswatch:{PASSWORD}@127.0.0.1:{self.port}/hook"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rcv = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rcv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rcv.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield rcv
    await runner.cleanup()


def write_config(tmp_path: Path, store_url: str, apprise_url: str) -> Path:
    feeds = "\n".join(f"  - {{url: {p}}}" for p in sorted(FEEDS.iterdir()))
    cfg = tmp_path / "newswatch.yaml"
    cfg.write_text(
        f"""
store: {store_url}
workers: 0
max_item_age: null
feeds:
{feeds}
entities:
  us: {{name: United States, aliases: ["United States", "US", "U.S.", "Washington", "White House", "Trump administration"]}}
  hamas: {{aliases: ["Hamas"]}}
watches:
  - name: {W1}
    query: '@us AND @hamas AND (talks OR negotiations OR discussions)'
    targets: [apprise:team, jsonl]
  - name: Gaza aid blockade
    query: 'gaza AND "aid blockade"'
    targets: [jsonl]
notify:
  jsonl: {tmp_path / "alerts.jsonl"}
  apprise:
    - {{name: team, url: "{apprise_url}"}}
""",
        encoding="utf-8",
    )
    return cfg


async def test_alert_and_its_update_reach_an_apprise_json_url(
    tmp_path: Path, store_url: str, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    loaded = load_config(write_config(tmp_path, store_url, receiver.url()))
    assert await run(loaded, once=True) == 0
    records = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    w1 = [r for r in records if r["watch"] == W1]
    alerts = [r for r in w1 if r["event"] == "alert"]
    updates = [r for r in w1 if r["event"] == "update"]
    assert alerts and updates
    # One message per record of the watch routed there, in the outbox's order; the other watch not at all.
    assert len(receiver.got) == len(w1)
    assert all(m["title"].startswith(f"{W1}: ") for m in receiver.got)
    first = alerts[0]
    alert_msg = next(m for m in receiver.got if first["url"] in m["message"])
    assert alert_msg["title"] == f"{W1}: {first['title']}"
    # A follow-up names the alert it belongs to, by its title, and links the first report.
    story_updates = [u for u in updates if u["story"] == first["story"]]
    assert story_updates
    update_msg = next(m for m in receiver.got if story_updates[0]["url"] in m["message"])
    assert update_msg["title"] == f"{W1}: update to “{first['title']}”"
    assert f"first report: {first['url']}" in update_msg["message"]
    assert f"Also reported by {story_updates[0]['source']}" in update_msg["message"]
    assert PASSWORD not in caplog.text


async def test_a_target_answering_500_is_retried_then_parked_with_the_reason(
    store: Store, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.status = 500
    notifier = AppriseNotifier([AppriseTarget(url=receiver.url(), name="team")])
    policy = DeliveryPolicy(backoff_base=0.01, backoff_cap=0.02)
    await queue(store, 1, "apprise:team")
    delivery = Delivery(store, {"apprise": notifier}, policy=policy)
    try:
        report = await delivery.drain_all(delivery.clock() + 20)
    finally:
        await notifier.close()
    assert report.parked == 1 and report.sent == 0
    assert len(receiver.got) == 5  # the same record, tried five times with back-off
    (entry, reason), *_ = await store.outbox_parked()
    assert entry.target == "apprise:team"
    assert "error=500" in reason and "gave up after 5 attempts" in reason
    assert reason.startswith("Apprise team json://127.0.0.1 (JSON)")
    assert PASSWORD not in reason and PASSWORD not in caplog.text
    assert not await store.outbox_pending()


async def test_a_refusal_is_parked_at_once(store: Store, receiver: Receiver) -> None:
    receiver.status = 403
    notifier = AppriseNotifier([AppriseTarget(url=receiver.url(), name="team")])
    await queue(store, 1, "apprise:team")
    delivery = Delivery(store, {"apprise": notifier})
    try:
        report = await delivery.drain_all(delivery.clock() + 10)
    finally:
        await notifier.close()
    assert report.parked == 1 and len(receiver.got) == 1
    (_, reason), *_ = await store.outbox_parked()
    assert "error=403" in reason and "gave up" not in reason


DISCORD_ID, DISCORD_TOKEN = "4815162342", "Zq9-discord-webhook-SECRET_token"


def test_check_validates_a_discord_url_without_printing_its_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"""
feeds: [{{url: "https://news.example/feed.xml"}}]
watches: [{{name: w, query: hamas, targets: [apprise]}}]
notify:
  apprise: ["discord://{DISCORD_ID}/{DISCORD_TOKEN}"]
""",
        encoding="utf-8",
    )
    assert main(["check", "-c", str(cfg)]) == 0
    out = capsys.readouterr()
    assert "discord://" in out.out and "(Discord)" in out.out
    assert DISCORD_TOKEN not in out.out + out.err and DISCORD_ID not in out.out + out.err

    # A URL Apprise cannot use is refused with the line and key, never repeated.
    cfg.write_text(
        f"""
feeds: [{{url: "https://news.example/feed.xml"}}]
watches: [{{name: w, query: hamas}}]
notify:
  apprise: ["nosuchservice://{DISCORD_TOKEN}@host/x"]
""",
        encoding="utf-8",
    )
    assert main(["check", "-c", str(cfg)]) != 0
    err = capsys.readouterr().err
    assert "notify.apprise[0].url" in err or "notify.apprise[0]" in err
    assert DISCORD_TOKEN not in err


def test_targets_must_name_configured_notify_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        """
feeds: [{url: "https://news.example/feed.xml"}]
watches: [{name: w, query: hamas, targets: [apprise:ops]}]
notify:
  apprise: [{name: team, url: "json://127.0.0.1:9/hook"}]
""",
        encoding="utf-8",
    )
    assert main(["check", "-c", str(cfg)]) != 0
    assert "no Apprise URL is named 'ops' (named: team)" in capsys.readouterr().err


async def test_a_story_muted_in_the_watchs_slack_channel_is_not_sent_to_apprise(
    store: Store, receiver: Receiver
) -> None:
    from newswatch.store.base import Mute

    notifier = AppriseNotifier([AppriseTarget(url=receiver.url(), name="team")])
    await queue(store, 2, "apprise:team")
    muted, kept = await store.outbox_head("apprise:team", 10)
    now = time.time()
    await store.add_mute(Mute("story", "slack:#mideast", "w", muted.story, "U1", now, now + 3600, "muted"))
    linked = {"w": ("slack:#mideast",)}
    delivery = Delivery(store, {"apprise": notifier}, linked=lambda watch: linked.get(watch, ()))
    try:
        report = await delivery.drain_all(delivery.clock() + 10)
    finally:
        await notifier.close()
    assert (report.muted, report.sent) == (1, 1)
    assert [m["message"].splitlines()[1] for m in receiver.got] == [kept.record["url"]]
