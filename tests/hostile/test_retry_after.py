"""Retry-After as RFC 9110 allows it (seconds or an HTTP date) from Slack's Web API, Slack incoming
webhooks and JSON webhooks (issue 11, point 6): the record waits until then and is delivered, once, in order;
a garbage value falls back to the outbox's back-off. Nothing crashes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from typing import Any

import pytest
from aiohttp import web

from newswatch.delivery.notify.base import Notifier
from newswatch.delivery.notify.slack import SlackNotifier
from newswatch.delivery.notify.webhook import JsonWebhookNotifier, SlackWebhookNotifier
from newswatch.delivery.report import DeliveryPolicy
from newswatch.store import Store
from tests.hostile.outbox import NEWS, deliver, nothing_left, queue, record
from tests.slackstub import GOOD_TOKEN, SlackStub


@pytest.fixture
async def slack() -> AsyncIterator[SlackStub]:
    async with SlackStub() as stub:
        yield stub


def http_date_in(seconds: float) -> tuple[str, float]:
    """An HTTP date ``seconds`` ahead (whole seconds, as the format has) and the instant it names."""
    when = int(time.time() + seconds)
    return formatdate(when, usegmt=True), float(when)


def stamp(times: list[float]) -> Callable[[str, dict[str, Any]], None]:
    def record_time(method: str, body: dict[str, Any]) -> None:
        times.append(time.time())

    return record_time


@pytest.mark.parametrize("kind", ["web-api", "incoming-webhook"])
async def test_slack_429_with_an_http_date_is_retried_after_it(
    store: Store, slack: SlackStub, kind: str
) -> None:
    date, when = http_date_in(2.5)
    slack.rate_limit(date)
    times: list[float] = []
    slack.interceptor = stamp(times)  # type: ignore[assignment]
    sink: Notifier = (
        SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.002)
        if kind == "web-api"
        else SlackWebhookNotifier(slack.webhook_url, pace=0.002)
    )
    target = NEWS if kind == "web-api" else "slack-webhook:"
    await queue(store, record("limited"), "l", target=target)
    await queue(store, record("behind"), "b", target=target)
    try:
        await deliver(store, sink)
    finally:
        await sink.close()

    await nothing_left(store)
    delivered = slack.posts if kind == "web-api" else slack.webhook_posts
    assert [p["text"].split(" ")[0] for p in delivered] == ["limited", "behind"]  # once each, in order
    assert len(times) == 3 and times[1] >= when  # the retry waited for the date Slack named


@pytest.mark.parametrize("header", ["date", "garbage"])
async def test_json_webhook_429_retry_after_date_or_garbage(store: Store, header: str) -> None:
    date, when = http_date_in(2.5)
    times: list[float] = []

    async def hook(request: web.Request) -> web.Response:
        times.append(time.time())
        if len(times) == 1:
            return web.Response(status=429, headers={"Retry-After": date if header == "date" else "soon"})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sink = JsonWebhookNotifier(f"http://127.0.0.1:{port}/hook", None)
    try:
        await queue(store, record("limited"), "l", target="webhook:")
        await deliver(store, sink, DeliveryPolicy(backoff_base=0.2, flood_max=1000))
    finally:
        await sink.close()
        await runner.cleanup()

    await nothing_left(store)
    assert len(times) == 2
    if header == "date":
        assert times[1] >= when
    else:  # no usable Retry-After: the outbox's own short back-off (0.1-0.2 s here), not a crash
        assert times[1] - times[0] < 30
