"""Hostile alerts against a Slack that refuses what Slack refuses (issue 11, point 4 and Retry-After of 6).

Every case goes through the real delivery path (outbox on both stores, Delivery, the Slack notifier,
slack-sdk, HTTP) to the stand-in in tests/slackstub.py, whose strict checks also refuse unescaped text, a
cut entity, a mention or a non-http link. Each test shows what arrives AND that no other alert was lost,
parked or sent twice.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from typing import Any

import pytest
from aiohttp import web

from newswatch.delivery import Delivery, DeliveryPolicy
from newswatch.notify.base import Notifier
from newswatch.notify.slack import SlackNotifier
from newswatch.notify.webhook import JsonWebhookNotifier, SlackWebhookNotifier
from newswatch.store import Store
from newswatch.store.base import Sighting, StoryConfig, WatchClaim
from newswatch.stories import StoryFeatures, StoryParams, assign
from tests.slackstub import GOOD_TOKEN, SlackStub

STORIES = StoryConfig(StoryParams())
NEWS = "slack:#news"
LONG_URL = "https://hostile.example/long/" + "a" * 4000
SNIPPET_WORD = "Zarquon" + "x" * 5000
# One record per hostile case; each title starts with its case name so its post can be found.
HOSTILE: dict[str, dict[str, Any]] = {
    "long-link": {"url": LONG_URL},
    "long-title": {"title": "long-title " + "Zarquon talks " * 715},  # 10,010 characters
    "long-source": {"source": "Wire " * 2000},
    "javascript-link": {"url": "javascript:alert(document.cookie)"},
    "file-link": {"url": "file:///etc/passwd"},
    "data-link": {"url": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="},
    "relative-link": {"url": "/news/2025/03/05/item"},
    "mentions": {"title": "mentions <!channel> <@U123> <!here|here> & co", "source": "<!everyone>"},
    "long-watch": {"watch": "Zarquon watch " * 215},  # 3,010 characters
    "long-word": {"snippet": f"{SNIPPET_WORD} held talks", "_snippet_hits": [[0, len(SNIPPET_WORD)]]},
    "entities": {"title": "entities " + "&<>" * 1500},
    "emoji": {"title": "emoji " + "🗞️" * 400, "snippet": "👩\u200d💻" * 2000, "_snippet_hits": [[0, 3]]},
}


def record(case: str, **over: Any) -> dict[str, Any]:
    base = {"event": None, "watch": "w", "story": None, "title": f"{case} Zarquon held talks",
            "url": f"https://news.example/{case}", "source": "Example Wire", "published": "2025-03-05T10:00:00+00:00",
            "matched": ["zarquon"], "at": "2025-03-05T10:00:01+00:00"}  # fmt: skip
    return base | over


async def queue(
    store: Store, rec: dict[str, Any], key: str, target: str = NEWS, feats: StoryFeatures | None = None
) -> None:
    sighting = Sighting((f"guid:{key}",), f"fp-{key}", 10, 3600.0, 1_741_170_000.0)
    await store.record(sighting, [WatchClaim(rec["watch"], (target,), rec, feats)], assign, STORIES)


async def deliver(store: Store, notifier: Notifier, policy: DeliveryPolicy | None = None) -> Delivery:
    delivery = Delivery(store, {notifier.name: notifier}, policy=policy or DeliveryPolicy(flood_max=1000))
    await delivery.drain_all(time.time() + 60)
    return delivery


@pytest.fixture
async def slack() -> AsyncIterator[SlackStub]:
    async with SlackStub() as stub:
        yield stub


@pytest.fixture
async def notifier(slack: SlackStub) -> AsyncIterator[SlackNotifier]:
    sink = SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.002)
    yield sink
    await sink.close()


def texts(body: dict[str, Any]) -> str:
    """Everything a message shows: its text and the text of its blocks."""
    parts = [str(body.get("text", ""))]
    for block in body.get("blocks") or []:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [e["text"] for e in block.get("elements", [])]
    return "\n".join(parts)


def posted(slack: SlackStub, case: str) -> list[dict[str, Any]]:
    return [p for p in slack.posts if case in texts(p)]


async def nothing_left(store: Store) -> None:
    assert await store.outbox_parked() == []
    assert await store.outbox_pending() == 0


# ------------------------------------------------------------------------------------- alerts, one by one


async def test_hostile_alerts_arrive_escaped_and_cut(
    store: Store, slack: SlackStub, notifier: SlackNotifier
) -> None:
    cases = ["good-first", *HOSTILE, "good-last"]
    for case in cases:
        await queue(store, record(case, **HOSTILE.get(case, {})), case)
    await deliver(store, notifier)

    assert slack.refusals == []  # Slack (strict) took every message as it was built
    await nothing_left(store)
    # Each alert once, in order, with blocks (no fallback was needed).
    assert [next(c for c in cases if c in texts(p)) for p in slack.posts] == cases
    assert all(p.get("blocks") for p in slack.posts)
    everything = json.dumps(slack.posts, ensure_ascii=False)
    for mention in ("<!channel>", "<@U123>", "<!here", "<!everyone>"):
        assert mention not in everything
    (mentions,) = posted(slack, "mentions")
    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;!here|here&gt; &amp; co" in texts(mentions)
    for case in ("javascript-link", "file-link", "data-link", "relative-link"):
        (post,) = posted(slack, case)
        head = post["blocks"][0]["text"]["text"]
        assert "<" not in head and head.endswith(f" · {HOSTILE[case]['url']}*")  # shown, never a link
    (long_link,) = posted(slack, "long-link")
    head = long_link["blocks"][0]["text"]["text"]
    assert "<https://hostile" not in head and head.startswith(
        "*long-link Zarquon held talks · https://hostile"
    )
    assert head.endswith("…*")
    (long_title,) = posted(slack, "long-title")
    assert "…" in long_title["text"] and "…" in long_title["blocks"][0]["text"]["text"]
    assert long_title["blocks"][0]["text"]["text"].startswith(
        "*<https://news.example/long-title|long-title Zarquon"
    )
    for case in ("long-source", "long-watch"):
        (post,) = posted(slack, case)
        assert "…" in post["blocks"][1]["elements"][0]["text"]
    (long_word,) = posted(slack, "long-word")
    assert long_word["blocks"][2]["text"]["text"].startswith(">*Zarquonxxx")
    assert long_word["blocks"][2]["text"]["text"].endswith("xxx*…")  # the bold hit is cut and closed
    (emoji,) = posted(slack, "emoji")
    assert emoji["blocks"][2]["text"]["text"].endswith("…")


async def test_refused_blocks_are_sent_again_as_plain_text(
    store: Store, slack: SlackStub, notifier: SlackNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    refused: list[str] = []

    def refuse_blocks_once(method: str, body: dict[str, Any]) -> web.StreamResponse | None:
        if method == "chat.postMessage" and body.get("blocks") and not refused:
            refused.append(body["text"])
            return web.json_response({"ok": False, "error": "invalid_blocks", "response_metadata": {
                "messages": ["[ERROR] failed to match all allowed schemas [json-pointer:/blocks/0/text]"]}})  # fmt: skip
        return None

    slack.interceptor = refuse_blocks_once
    for case in ("first", "second"):
        await queue(store, record(case), case)
    await deliver(store, notifier)

    await nothing_left(store)
    first, second = slack.posts
    assert "blocks" not in first  # plain text: escaped, cut, no blocks
    assert (
        first["text"]
        == "first Zarquon held talks — Example Wire (w) · 05 Mar 2025 10:00 UTC\nhttps://news.example/first"
    )
    assert second.get("blocks") and "second" in second["text"]  # the next alert is not affected
    assert "failed to match all allowed schemas" in caplog.text and "sending it as plain text" in caplog.text


async def test_an_alert_refused_even_as_plain_text_is_parked_alone(
    store: Store, slack: SlackStub, notifier: SlackNotifier
) -> None:
    def refuse_bad(method: str, body: dict[str, Any]) -> web.StreamResponse | None:
        if "bad-one" in str(body.get("text")):
            return web.json_response({"ok": False, "error": "msg_too_long"})
        return None

    slack.interceptor = refuse_bad
    for case in ("good-1", "bad-one", "good-2"):
        await queue(store, record(case), case)
    await deliver(store, notifier)

    assert [p["text"].split(" ")[0] for p in slack.posts] == ["good-1", "good-2"]
    ((entry, reason),) = await store.outbox_parked()
    assert entry.record["title"].startswith("bad-one")
    assert "msg_too_long" in reason and "as plain text too" in reason
    assert await store.outbox_pending() == 0


# -------------------------------------------------------------------------------------------------- digests


async def test_flood_digest_keeps_every_good_line(
    store: Store, slack: SlackStub, notifier: SlackNotifier
) -> None:
    cases = [f"good-{i:02}" for i in range(12)]
    cases[6:6] = ["long-link", "mentions", "long-title"]
    for case in cases:
        await queue(store, record(case, **HOSTILE.get(case, {})), case)
    await deliver(store, notifier, DeliveryPolicy(flood_max=1))

    assert slack.refusals == []
    await nothing_left(store)
    alone, digest = slack.posts
    assert cases[0] in alone["text"] and "14 alerts" in digest["text"]
    shown = texts(digest)
    for case in cases[1:]:  # each title once, as a link's label or (long-link) as plain text
        assert len(re.findall(rf"(?:\||• ){case} ", shown)) == 1, case
    assert "<!channel>" not in shown and "<https://hostile" not in shown


async def test_digest_refused_whole_goes_out_alert_by_alert(
    store: Store, slack: SlackStub, notifier: SlackNotifier
) -> None:
    def refuse_digests(method: str, body: dict[str, Any]) -> web.StreamResponse | None:
        if " alerts — " in str(body.get("text")):
            return web.json_response({"ok": False, "error": "invalid_blocks"})
        return None

    slack.interceptor = refuse_digests
    cases = [f"item-{i}" for i in range(6)]
    for case in cases:
        await queue(store, record(case), case)
    await deliver(store, notifier, DeliveryPolicy(flood_max=1))

    await nothing_left(store)
    assert [p["text"].split(" ")[0] for p in slack.posts] == cases  # each once, in order


async def test_long_digest_is_split_over_messages_within_every_limit(
    store: Store, slack: SlackStub, notifier: SlackNotifier
) -> None:
    slack.blocks_text_max = 12_000  # Slack's undocumented total across a message's blocks
    for i in range(40):
        await queue(store, record(f"item-{i:02}", url=f"https://news.example/{i:02}/" + "p" * 1200), f"k{i}")
    await deliver(store, notifier, DeliveryPolicy(flood_max=1))

    assert slack.refusals == []
    await nothing_left(store)
    parts = slack.posts[1:]
    assert len(parts) >= 4 and all("39 alerts" in p["text"] for p in parts)
    linked = [u for p in parts for u in re.findall(r"<https://news\.example/(\d+)/p+\|", texts(p))]
    assert linked == [f"{i:02}" for i in range(1, 40)]  # every line a link, once, in order


async def test_hourly_digest_waits_out_a_failure_instead_of_hammering_slack(
    store: Store, slack: SlackStub, notifier: SlackNotifier
) -> None:
    calls: list[str] = []

    def down(method: str, body: dict[str, Any]) -> web.StreamResponse:
        calls.append(method)
        return web.json_response({"ok": False, "error": "fatal_error"}, status=503)

    slack.interceptor = down  # type: ignore[assignment]
    for i in range(3):
        await queue(store, record(f"item-{i}"), f"k{i}", target=NEWS + "|digest:hourly")
    later = Delivery(
        store, {"slack": notifier}, policy=DeliveryPolicy(backoff_base=30), clock=lambda: time.time() + 3600
    )
    report = await later.drain_all(time.time() + 3600 + 1.5)
    assert calls == ["chat.postMessage"]  # once, then the back-off holds
    assert report.retried == 1 and await store.outbox_pending() == 3 and await store.outbox_parked() == []


# ------------------------------------------------------------------------------------------- story updates


async def test_hostile_update_reply_and_edit_stay_within_limits(
    store: Store, slack: SlackStub, notifier: SlackNotifier
) -> None:
    feats = StoryFeatures(bands=("0:a", "1:b"), vector=(("zarquon", 1.0),), terms=("zarquon",), published=1.0)
    await queue(store, record("parent", **HOSTILE["long-word"]), "p", feats=feats)
    await queue(store, record("copy", url=LONG_URL, source="<!channel> " + "S" * 5000), "c", feats=feats)
    await deliver(store, notifier)

    assert slack.refusals == []
    await nothing_left(store)
    parent, reply = slack.posts
    assert reply["thread_ts"] == slack.ts_of(parent)
    assert (
        reply["text"].startswith("Also reported by *&lt;!channel&gt; SSS")
        and "<https://hostile" not in reply["text"]
    )
    (edit,) = [c.body for c in slack.calls if c.method == "chat.update" and c.ok]
    assert "*2 sources*" in texts(edit)


async def test_a_refused_edit_falls_back_to_plain_text_and_keeps_the_reply(
    store: Store, slack: SlackStub, notifier: SlackNotifier
) -> None:
    def refuse_block_edits(method: str, body: dict[str, Any]) -> web.StreamResponse | None:
        if method == "chat.update" and body.get("blocks"):
            return web.json_response({"ok": False, "error": "invalid_blocks"})
        return None

    slack.interceptor = refuse_block_edits
    feats = StoryFeatures(bands=("0:a", "1:b"), vector=(("zarquon", 1.0),), terms=("zarquon",), published=1.0)
    for case in ("parent", "copy"):
        await queue(store, record(case), case, feats=feats)
    await deliver(store, notifier)

    await nothing_left(store)
    assert len(slack.posts) == 2 and "thread_ts" in slack.posts[1]
    (edit,) = [c.body for c in slack.calls if c.method == "chat.update" and c.ok]
    assert edit["blocks"] == [] and edit["text"].startswith("parent Zarquon held talks")


# ------------------------------------------------------------------------------------ Retry-After as a date


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
        else SlackWebhookNotifier(slack.webhook_url)
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
    else:  # no usable Retry-After: the outbox's own back-off, not a crash
        assert times[1] < when
