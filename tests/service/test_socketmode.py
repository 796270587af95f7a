"""Slack actions through Socket Mode: slack-sdk's aiohttp SocketModeClient against a local websocket stand-in
of Slack (opened through the Web API stand-in's ``apps.connections.open``), on both stores; then `newswatch run`
itself, in a child process, with an app token good and bad."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from newswatch.app import open_app
from newswatch.config import load_config
from newswatch.service.socketmode import SocketModeActions
from tests.feedserver import FeedServer
from tests.service.slackapp import (
    BRIDGE_A,
    BRIDGE_B,
    FESTIVAL_A,
    USER,
    alerts,
    buttons,
    records,
    replies,
    serve,
    until,
    write_config,
)
from tests.service.test_resilience import child_log, start
from tests.slackstub import APP_TOKEN, SlackStub


async def test_a_click_through_socket_mode_mutes_a_story(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        loaded = load_config(write_config(tmp_path, server, store_url, slack, app_token=APP_TOKEN))
        async with open_app(loaded, exclusive=False) as app:
            assert app.actions is not None
            socket = SocketModeActions(APP_TOKEN, slack.base_url, app.actions, metrics=app.metrics)
            try:
                await socket.start()
                assert len(slack.sockets) == 1
                await app.pipeline.run_once()
                (alert,) = alerts(slack)
                assert "newswatch.mute_story" in buttons(alert)
                envelope = await slack.send_envelope(
                    slack.click(slack.ts_of(alert), "newswatch.mute_story", USER)
                )
                assert await slack.acked(envelope) == {"envelope_id": envelope}
                await until(lambda: len(slack.updates) == 1, what="the alert to be edited")
                assert f"Muted by <@{USER}>" in json.dumps(slack.message(slack.ts_of(alert)))
                assert [m.kind for m in await app.store.mutes()] == ["story"]
                # Envelopes that are not clicks of ours are acknowledged too, and change nothing.
                other = await slack.send_envelope({"type": "shortcut", "callback_id": "x"})
                broken = await slack.send_envelope({"type": "block_actions", "user": {}, "actions": "no"})
                await slack.acked(other)
                await slack.acked(broken)
                serve(server, BRIDGE_A, BRIDGE_B, FESTIVAL_A)
                await app.pipeline.run_once()
            finally:
                await socket.close()
            assert app.metrics.slack_requests_refused.labels("malformed")._value.get() == 1
        assert [r["event"] for r in records(tmp_path)] == ["alert", "update", "alert"]
        assert replies(slack) == [] and len(alerts(slack)) == 2
        assert len(slack.updates) == 1 and slack.refusals == []


async def test_run_connects_through_socket_mode_and_a_bad_app_token_stops_it(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        cfg = write_config(tmp_path, server, store_url, slack, app_token=APP_TOKEN)
        child = await start(cfg)
        try:
            await until(
                lambda: len(alerts(slack)) == 1 and len(slack.sockets) == 1, within=30, what="the alert"
            )
            ts = slack.ts_of(alerts(slack)[0])
            envelope = await slack.send_envelope(slack.click(ts, "newswatch.snooze_watch", USER))
            await slack.acked(envelope)
            await until(lambda: len(slack.updates) == 1, within=15, what="the snooze's edit")
            assert f"Watch snoozed by <@{USER}>" in json.dumps(slack.message(ts))
        finally:
            child.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(child.wait(), 30) == 0
        log = child_log(cfg)
        assert "slack socket mode connected" in log
        (line,) = [x for x in log.splitlines() if " INFO slack action " in x]
        assert f"user={USER}" in line and "action=snooze_watch" in line and "target=slack:#news" in line
        # A rejected app token stops the service at start, with the reason and without the token.
        slack.app_tokens.clear()
        child = await start(cfg)
        assert await asyncio.wait_for(child.wait(), 30) == 3
        assert "Slack Socket Mode: Slack rejected the app token (invalid_auth)" in child_log(cfg)
        assert APP_TOKEN not in child_log(cfg)


async def test_a_connection_that_stays_down_is_reported_until_it_is_back(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    async with FeedServer() as server, SlackStub() as slack:
        serve(server, BRIDGE_A)
        loaded = load_config(write_config(tmp_path, server, store_url, slack, app_token=APP_TOKEN))
        async with open_app(loaded, exclusive=False) as app:
            assert app.actions is not None
            socket = SocketModeActions(
                APP_TOKEN, slack.base_url, app.actions, ping_interval=0.2, down_after=0.6
            )
            try:
                await socket.start()
                slack.app_tokens.clear()  # Slack refuses new connections…
                await slack.sockets[0].close()  # …and drops this one
                with pytest.raises(ConnectionError, match="disconnected for"):
                    await asyncio.wait_for(socket.watch(), 20)
                # Restarted by the supervisor while still down: reported again at the first check.
                with pytest.raises(ConnectionError):
                    await asyncio.wait_for(socket.watch(), 2)
                slack.app_tokens.add(APP_TOKEN)  # Slack takes connections again: slack-sdk reconnects
                watching = asyncio.create_task(socket.watch())
                await until(lambda: len(slack.sockets) == 2, within=20, what="the reconnection")
                await asyncio.sleep(1.0)  # longer than down_after: a healthy watch does not raise
                assert not watching.done()
                watching.cancel()
            finally:
                await socket.close()
