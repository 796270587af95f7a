"""Replays of a signed Slack click (issue 21 point 16), on both stores.

300 copies of one signed request inside Slack's 5-minute window: one mute and one ``chat.update``; the copies are
answered 200 (nothing to retry) and counted as refused replays; a second, distinct click still acts.  Two
workers on one Redis share the memory of handled requests.  ``notify.slack.actions_users`` restricts who may
click: anyone else's click is refused and changes nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from newswatch.app import App, open_app
from newswatch.config import load_config
from tests.conftest import RedisServer
from tests.feedserver import FeedServer
from tests.service.slackapp import BRIDGE_A, USER, alerts, serve, signed, until, write_config
from tests.slackstub import SlackStub


async def post(
    app: App, body: bytes, headers: dict[str, str], session: aiohttp.ClientSession | None = None
) -> int:
    assert app.ops is not None
    if session is None:
        async with aiohttp.ClientSession() as own:
            return await post(app, body, headers, own)
    async with session.post(f"{app.ops.url}/slack/actions", data=body, headers=headers) as resp:
        return resp.status


async def test_300_copies_of_one_signed_click_mute_once(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        loaded = load_config(write_config(tmp_path, server, store_url, slack))
        async with open_app(loaded, exclusive=False) as app:
            await app.pipeline.run_once()
            ts = slack.ts_of(alerts(slack)[0])
            request = signed(slack.click(ts, "newswatch.mute_story", USER))
            # One client, at most 100 connections at once (aiohttp's default; the listener takes 128).
            async with aiohttp.ClientSession() as session:
                statuses = await asyncio.gather(*(post(app, *request, session) for _ in range(300)))
            assert set(statuses) == {200}
            await until(lambda: len(slack.updates) == 1, what="the alert to be edited")
            await asyncio.sleep(0.5)  # time for any copy that slipped through to act
            assert len(slack.updates) == 1
            assert len(await app.store.mutes()) == 1
            assert app.metrics.slack_actions.labels("mute_story", "ok")._value.get() == 1
            assert app.metrics.slack_requests_refused.labels("replay")._value.get() == 299

            # A new click (another request, signed anew) still acts.
            assert await post(app, *signed(slack.click(ts, "newswatch.unmute_story", USER))) == 200
            await until(lambda: len(slack.updates) == 2, what="the unmute")
            assert await app.store.mutes() == []


async def test_a_copy_sent_to_another_worker_does_nothing(tmp_path: Path, redis_server: RedisServer) -> None:
    redis_server.flush()
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        one = load_config(write_config(tmp_path, server, redis_server.url, slack, name="one"))
        two = load_config(write_config(tmp_path, server, redis_server.url, slack, name="two"))
        async with open_app(one, exclusive=False) as first, open_app(two, exclusive=False) as second:
            await first.pipeline.run_once()
            ts = slack.ts_of(alerts(slack)[0])
            request = signed(slack.click(ts, "newswatch.mute_story", USER))
            assert await post(first, *request) == 200
            assert await post(second, *request) == 200
            await until(lambda: len(slack.updates) == 1, what="the alert to be edited")
            await asyncio.sleep(0.5)
            assert len(slack.updates) == 1
            assert second.metrics.slack_requests_refused.labels("replay")._value.get() == 1


async def test_only_listed_users_may_click(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        path = write_config(tmp_path, server, store_url, slack)
        path.write_text(
            path.read_text().replace(
                "    min_interval: 0.01s\n", f"    min_interval: 0.01s\n    actions_users: [{USER}]\n"
            )
        )
        async with open_app(load_config(path), exclusive=False) as app:
            await app.pipeline.run_once()
            ts = slack.ts_of(alerts(slack)[0])
            assert await post(app, *signed(slack.click(ts, "newswatch.mute_story", "U0MALLORY"))) == 200
            await until(lambda: app.metrics.slack_actions.labels("mute_story", "refused")._value.get() == 1,
                        what="the refusal")  # fmt: skip
            assert await app.store.mutes() == [] and slack.updates == []
            assert await post(app, *signed(slack.click(ts, "newswatch.mute_story", USER))) == 200
            await until(lambda: len(slack.updates) == 1, what="the listed user's mute")
            assert len(await app.store.mutes()) == 1
