"""Slack actions over HTTP, end to end on both stores: real feeds over local HTTP, the real slack-sdk against the
Slack stand-in, the service's own ops server.  A signed click mutes a story: later reports are recorded (JSONL)
but not posted, the alert is edited, a new story of the watch still posts.  Forged, stale and malformed
requests are refused and change nothing.  Mutes are shared by two workers on one Redis and survive a restart."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

from newswatch.app import App, open_app
from newswatch.config import load_config
from newswatch.delivery.notify.slackbuttons import ActionRef
from newswatch.models import feed_key
from newswatch.service.metrics import Metrics
from newswatch.service.slackactions import ActionHandler, Clicked
from newswatch.service.supervise import Supervisor
from newswatch.store import Mute, Store, StoreError
from tests.feedserver import FeedServer
from tests.service.slackapp import (
    BRIDGE_A,
    BRIDGE_B,
    BRIDGE_B2,
    FESTIVAL_A,
    SECRET,
    USER,
    alerts,
    buttons,
    records,
    replies,
    serve,
    signed,
    until,
    write_config,
)
from tests.slackstub import SlackStub


async def post(app: App, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    assert app.ops is not None
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{app.ops.url}/slack/actions", data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.text()


async def test_a_signed_click_mutes_a_story_and_a_new_story_still_posts(
    tmp_path: Path, store_url: str
) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        loaded = load_config(write_config(tmp_path, server, store_url, slack))
        async with open_app(loaded, exclusive=False) as app:
            await app.pipeline.run_once()
            (alert,) = alerts(slack)
            # The alert carries the three buttons; their value names ids, never text from the feed.
            mine = buttons(alert)
            assert set(mine) == {"newswatch.mute_story", "newswatch.mute_source", "newswatch.snooze_watch"}
            value = json.loads(mine["newswatch.mute_story"]["value"])
            (record,) = records(tmp_path)
            assert value == {"t": "slack:#news", "w": "harbour", "s": record["story"],
                             "f": feed_key(server.url("/a.xml"))}  # fmt: skip
            assert "Harbour" not in mine["newswatch.mute_story"]["value"]

            status, _ = await post(
                app, *signed(slack.click(slack.ts_of(alert), "newswatch.mute_story", USER))
            )
            assert status == 200
            await until(lambda: len(slack.updates) == 1, what="the alert to be edited")
            edited = slack.message(slack.ts_of(alert))
            assert f"Muted by <@{USER}>" in json.dumps(edited)
            assert set(buttons(edited)) == {"newswatch.unmute_story"}
            assert [m.kind for m in await app.store.mutes()] == ["story"]
            assert app.metrics.slack_actions.labels("mute_story", "ok")._value.get() == 1

            # Later: a copy of the muted story from wire B, and a new story from wire A.
            serve(server, BRIDGE_A, BRIDGE_B, FESTIVAL_A)
            await app.pipeline.run_once()
        got = [(r["event"], r["title"]) for r in records(tmp_path)]
        assert got == [("alert", BRIDGE_A[1]), ("update", BRIDGE_B[1]), ("alert", FESTIVAL_A[1])]
        assert len(alerts(slack)) == 2 and FESTIVAL_A[1] in alerts(slack)[1]["text"]
        assert replies(slack) == []  # the muted story's later report was recorded, not posted
        assert len(slack.updates) == 1  # nor was its alert's source count edited
        assert slack.refusals == []


async def test_unmute_restores_the_alert_and_the_story_posts_again(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        loaded = load_config(write_config(tmp_path, server, store_url, slack))
        async with open_app(loaded, exclusive=False) as app:
            await app.pipeline.run_once()
            ts = slack.ts_of(alerts(slack)[0])
            assert (await post(app, *signed(slack.click(ts, "newswatch.mute_story", USER))))[0] == 200
            await until(lambda: len(slack.updates) == 1, what="the mute's edit")
            assert (await post(app, *signed(slack.click(ts, "newswatch.unmute_story", USER))))[0] == 200
            await until(lambda: len(slack.updates) == 2, what="the unmute's edit")
            restored = slack.message(ts)
            assert set(buttons(restored)) == {
                "newswatch.mute_story",
                "newswatch.mute_source",
                "newswatch.snooze_watch",
            }
            assert "Muted by" not in json.dumps(restored)
            assert await app.store.mutes() == []
            serve(server, BRIDGE_A, BRIDGE_B)
            await app.pipeline.run_once()
        (reply,) = replies(slack)
        assert reply["thread_ts"] == ts
        assert slack.refusals == []


async def test_snooze_from_slack_holds_the_watch_and_mute_source_its_feed(
    tmp_path: Path, store_url: str
) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        loaded = load_config(write_config(tmp_path, server, store_url, slack))
        async with open_app(loaded, exclusive=False) as app:
            await app.pipeline.run_once()
            ts = slack.ts_of(alerts(slack)[0])
            assert (await post(app, *signed(slack.click(ts, "newswatch.mute_source", USER))))[0] == 200
            await until(lambda: len(slack.updates) == 1, what="the source mute's edit")
            assert (await post(app, *signed(slack.click(ts, "newswatch.snooze_watch", USER))))[0] == 200
            await until(lambda: len(slack.updates) == 2, what="the snooze's edit")
            shown = json.dumps(slack.message(ts))
            assert f"Source muted by <@{USER}>" in shown and f"Watch snoozed by <@{USER}> until" in shown
            assert set(buttons(slack.message(ts))) == {
                "newswatch.mute_story", "newswatch.unmute_source", "newswatch.unsnooze_watch"
            }  # fmt: skip
            kinds = sorted(m.kind for m in await app.store.mutes())
            assert kinds == ["snooze", "source"]
            serve(server, BRIDGE_A, BRIDGE_B, FESTIVAL_A)
            await app.pipeline.run_once()
            assert len(slack.posts) == 1  # wire B's report is held; wire A's new story is muted
            held = await app.store.outbox_head("slack:#news|digest:held", 10)
            assert [e.record["title"] for e in held] == [BRIDGE_B[1]]
        assert len(records(tmp_path)) == 3
        assert slack.refusals == []


@pytest.mark.parametrize(
    ("case", "secret", "age"),
    [("forged", "0" * 32, 0.0), ("stale", SECRET, 6 * 60.0), ("from the future", SECRET, -6 * 60.0)],
)
async def test_forged_and_stale_signatures_get_401_and_change_nothing(
    tmp_path: Path, store_url: str, case: str, secret: str, age: float
) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        loaded = load_config(write_config(tmp_path, server, store_url, slack))
        async with open_app(loaded, exclusive=False) as app:
            await app.pipeline.run_once()
            click = slack.click(slack.ts_of(alerts(slack)[0]), "newswatch.mute_story", USER)
            status, text = await post(app, *signed(click, secret, at=time.time() - age))
            assert status == 401, case
            assert "signature" in text
            body, headers = signed(click)
            for missing in ("X-Slack-Signature", "X-Slack-Request-Timestamp"):
                assert (await post(app, body, {k: v for k, v in headers.items() if k != missing}))[0] == 401
            bad_ts = {**headers, "X-Slack-Request-Timestamp": "soon"}
            assert (await post(app, body, bad_ts))[0] == 401
            # A body changed after signing is forged too.
            assert (await post(app, body.replace(b"mute_story", b"snooze_watch"), headers))[0] == 401
            await asyncio.sleep(0.3)  # time for work that should not happen
            assert await app.store.mutes() == []
            assert slack.updates == []
            refused = app.metrics.slack_requests_refused.labels("signature")._value.get()
            assert refused == 5
            assert len(slack.posts) == len(records(tmp_path)) == 1  # the alert, once; nothing else sent
            # The endpoint does act on a good request (so the refusals above were the signature's doing).
            assert (await post(app, *signed(click)))[0] == 200
            await until(lambda: len(slack.updates) == 1, what="the good click's edit")


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("not a form", b"{}"),
        ("no payload", b"other=1"),
        ("payload not JSON", b"payload=%7Bnope"),
        ("no user", b"payload=" + json.dumps({"type": "block_actions", "actions": []}).encode()),
        ("value not ours", None),
    ],
)
async def test_malformed_payloads_get_400_and_change_nothing(
    tmp_path: Path, store_url: str, case: str, body: bytes | None
) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        loaded = load_config(write_config(tmp_path, server, store_url, slack))
        async with open_app(loaded, exclusive=False) as app:
            await app.pipeline.run_once()
            if body is None:
                click = slack.click(slack.ts_of(alerts(slack)[0]), "newswatch.mute_story", USER)
                click["actions"][0]["value"] = '{"t": "slack:#news", "w": "harbour"}'
                body, headers = signed(click)
            else:
                body, headers = signed({})
                ts = headers["X-Slack-Request-Timestamp"]
                headers = {**headers, **_sign(body, ts)}
            status, _ = await post(app, body, headers)
            assert status == 400, case
            await asyncio.sleep(0.3)
            assert await app.store.mutes() == []
            assert slack.updates == []
            # The alerts queued meanwhile still go out, once.
            serve(server, BRIDGE_A, BRIDGE_B, FESTIVAL_A)
            await app.pipeline.run_once()
        assert len(alerts(slack)) == 2 and len(replies(slack)) == 1
        assert [r["title"] for r in records(tmp_path)] == [BRIDGE_A[1], BRIDGE_B[1], FESTIVAL_A[1]]


async def test_a_body_too_large_for_an_action_gets_413_and_changes_nothing(
    tmp_path: Path, store_url: str
) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        loaded = load_config(write_config(tmp_path, server, store_url, slack))
        async with open_app(loaded, exclusive=False) as app:
            await app.pipeline.run_once()
            click = slack.click(slack.ts_of(alerts(slack)[0]), "newswatch.mute_story", USER)
            click["message"]["text"] = "x" * 300_000  # signed, well-formed, and far larger than a click is
            status, _ = await post(app, *signed(click))
            assert status == 413
            await asyncio.sleep(0.3)
            assert await app.store.mutes() == [] and slack.updates == []


def _sign(body: bytes, ts: str) -> dict[str, str]:
    import hashlib
    import hmac

    return {
        "X-Slack-Signature": "v0="
        + hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    }


async def test_slack_gets_its_answer_before_the_work_is_done(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        loaded = load_config(write_config(tmp_path, server, store_url, slack))
        async with open_app(loaded, exclusive=False) as app:
            await app.pipeline.run_once()
            slack.gate = asyncio.Event()  # Slack's Web API stops answering
            click = slack.click(slack.ts_of(alerts(slack)[0]), "newswatch.mute_story", USER)
            status, _ = await asyncio.wait_for(post(app, *signed(click)), 10)
            assert status == 200
            assert slack.updates == []  # answered while the edit is still waiting on Slack
            slack.gate.set()
            await until(lambda: len(slack.updates) == 1, what="the edit once Slack answers")
            assert len(await app.store.mutes()) == 1


async def test_mutes_are_shared_by_two_workers_and_survive_a_restart(
    tmp_path: Path, redis_server: object, store_url: str
) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        one = load_config(write_config(tmp_path, server, store_url, slack, name="one"))
        two = load_config(write_config(tmp_path, server, store_url, slack, name="two"))
        async with open_app(one, exclusive=False) as first:
            await first.pipeline.run_once()
            ts = slack.ts_of(alerts(slack)[0])
            if store_url.startswith("redis"):
                # Worker two, on the same Redis, takes the click; worker one's delivery honours it.
                async with open_app(two, exclusive=False) as second:
                    assert (await post(second, *signed(slack.click(ts, "newswatch.mute_story", USER))))[
                        0
                    ] == 200
                    await until(lambda: len(slack.updates) == 1, what="the edit")
            else:
                assert (await post(first, *signed(slack.click(ts, "newswatch.mute_story", USER))))[0] == 200
                await until(lambda: len(slack.updates) == 1, what="the edit")
            serve(server, BRIDGE_A, BRIDGE_B)
            await first.pipeline.run_once()
            assert replies(slack) == []
        # A restart: a new process on the same store still keeps the story muted, and posts a new one.
        serve(server, BRIDGE_A, BRIDGE_B, BRIDGE_B2, FESTIVAL_A)
        async with open_app(one, exclusive=False) as again:
            assert [m.kind for m in await again.store.mutes()] == ["story"]
            await again.pipeline.run_once()
        assert replies(slack) == []
        assert len(alerts(slack)) == 2 and FESTIVAL_A[1] in alerts(slack)[1]["text"]
        assert [r["title"] for r in records(tmp_path, "one")] == [
            BRIDGE_A[1],
            BRIDGE_B[1],
            BRIDGE_B2[1],
            FESTIVAL_A[1],
        ]
        assert slack.refusals == []


async def test_a_click_on_an_alert_no_longer_known_still_mutes(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server)
        loaded = load_config(write_config(tmp_path, server, store_url, slack))
        async with open_app(loaded, exclusive=False) as app:
            # A button of an alert whose message state has expired (30 days) or was never written.
            value = ActionRef("slack:#news", "harbour", "s-gone", feed_key(server.url("/a.xml"))).encode()
            payload = {"type": "block_actions", "user": {"id": USER},
                       "actions": [{"action_id": "newswatch.mute_source", "value": value}]}  # fmt: skip
            assert (await post(app, *signed(payload)))[0] == 200
            await until(
                lambda: any("no longer known" in r.getMessage() for r in caplog.records), what="the log"
            )
            (mute,) = await app.store.mutes()
            assert (mute.kind, mute.user, mute.subject) == ("source", USER, feed_key(server.url("/a.xml")))
            assert slack.updates == []


class BrokenStore:
    """The store at its I/O boundary, failing every write (an outage in the middle of a click)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    async def add_mute(self, mute: Mute) -> None:
        raise StoreError("Redis store redis://x: ConnectionError: gone")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_store_outage_during_a_click_is_logged_and_counted(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics(process=False)
    tasks = Supervisor()
    edits: list[dict[str, Any]] = []

    async def redraw(state: dict[str, Any]) -> None:
        edits.append(state)

    handler = ActionHandler(cast(Store, BrokenStore(store)), redraw, tasks.spawn, metrics=metrics)
    click = Clicked("newswatch.snooze_watch", ActionRef("slack:#news", "w", "s-1"), USER)
    await handler.handle(click)  # never raises: the supervisor has nothing to restart
    await tasks.close()
    (line,) = [r for r in caplog.records if r.getMessage() == "slack action failed"]
    assert line.levelname == "ERROR" and "ConnectionError" in line.error  # type: ignore[attr-defined]
    assert metrics.slack_actions.labels("snooze_watch", "failed")._value.get() == 1
    assert edits == [] and await store.mutes() == []
