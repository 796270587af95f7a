"""Hostile alerts against a Slack that refuses what Slack refuses (issue 11, point 4).

Every case goes through the real delivery path (outbox on both stores, Delivery, the Slack notifier,
slack-sdk, HTTP) to the stand-in in tests/slackstub.py, whose strict checks also refuse unescaped text, a
cut entity, a mention or a non-http link. Each test shows what arrives AND that no other alert was lost,
parked or sent twice. The last test takes the same cases in through a feed and `run --once`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from newswatch.cli import run
from newswatch.config import load_config
from newswatch.delivery.notify.mrkdwn import clip, one_line
from newswatch.delivery.notify.slack import SlackNotifier
from newswatch.delivery.notify.webhook import SlackWebhookNotifier
from newswatch.delivery.outbox import Delivery
from newswatch.delivery.report import DeliveryPolicy
from newswatch.store import Store, open_store
from tests.feedserver import FeedServer
from tests.hostile.outbox import NEWS, deliver, nothing_left, queue, record, texts
from tests.slackstub import GOOD_TOKEN, SlackStub
from tests.stories.items import hand_profile

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


@pytest.fixture
async def slack() -> AsyncIterator[SlackStub]:
    async with SlackStub() as stub:
        yield stub


@pytest.fixture
async def notifier(slack: SlackStub) -> AsyncIterator[SlackNotifier]:
    sink = SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.002)
    yield sink
    await sink.close()


def posted(slack: SlackStub, case: str) -> list[dict[str, Any]]:
    return [p for p in slack.posts if case in texts(p)]


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
    [refused] = [
        r for r in caplog.records if r.getMessage() == "Slack refused a message, sending it as plain text"
    ]
    assert "failed to match all allowed schemas" in refused.error  # type: ignore[attr-defined]


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
    feats = hand_profile(("0:a", "1:b"), {"zarquon": 0.8, "talks": 0.6}, published=1.0)
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
    feats = hand_profile(("0:a", "1:b"), {"zarquon": 0.8, "talks": 0.6}, published=1.0)
    for case in ("parent", "copy"):
        await queue(store, record(case), case, feats=feats)
    await deliver(store, notifier)

    await nothing_left(store)
    assert len(slack.posts) == 2 and "thread_ts" in slack.posts[1]
    (edit,) = [c.body for c in slack.calls if c.method == "chat.update" and c.ok]
    assert edit["blocks"] == [] and edit["text"].startswith("parent Zarquon held talks")


# ------------------------------------------------------------------------------ Slack incoming webhooks


async def test_slack_webhook_takes_the_hostile_cases_and_falls_back_to_plain_text(
    store: Store, slack: SlackStub
) -> None:
    refused: list[str] = []

    def refuse_first_blocks(method: str, body: dict[str, Any]) -> web.StreamResponse | None:
        if body.get("blocks") and not refused:
            refused.append(body["text"])
            return web.Response(status=400, text="invalid_blocks")
        return None

    slack.interceptor = refuse_first_blocks
    cases = ["good-first", *HOSTILE, "good-last"]
    for case in cases:
        await queue(store, record(case, **HOSTILE.get(case, {})), case, target="slack-webhook:")
    sink = SlackWebhookNotifier(slack.webhook_url, pace=0.002)
    await deliver(store, sink)

    assert slack.refusals == []
    await nothing_left(store)
    posts = slack.webhook_posts
    assert [next(c for c in cases if c in texts(p)) for p in posts] == cases  # each once, in order
    assert "blocks" not in posts[0] and posts[0]["text"].startswith("good-first Zarquon held talks")
    assert all(p.get("blocks") for p in posts[1:])
    assert "<!channel>" not in json.dumps(posts, ensure_ascii=False)


# --------------------------------------------------------------------------------- from a feed, run --once

WORD = "Zarquon" + "x" * 5000
FEED = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{"Hostile Wire " * 770}</title><link>https://hostile.example/</link>
<description>A feed written to hurt, without a name: in the config, so its title is every alert's source.</description>
<item><title>Envoy meets the Zarquon council</title><link>{LONG_URL}</link><guid isPermaLink="false">h1</guid>
  <description>The envoy met the harbour council of Zarquon on Tuesday.</description></item>
<item><title>Miners strike over wages</title><link>https://hostile.example/word</link><guid isPermaLink="false">h2</guid>
  <description>{WORD} was painted on the pit gates as the strike began.</description></item>
<item><title>&lt;!channel&gt; &lt;@U123&gt; Zarquon ferry delayed &amp; rerouted</title>
  <link>https://hostile.example/ferry?a=1&amp;b=2</link><guid isPermaLink="false">h3</guid>
  <description>Ferry services to Zarquon were rerouted around the storm.</description></item>
<item><title>Zarquon festival opens</title><link>javascript:alert(1)</link><guid isPermaLink="false">h4</guid>
  <description>The annual festival opened with music.</description></item>
</channel></rss>"""


async def test_hostile_feed_through_run_once_reaches_slack(
    tmp_path: Path, store_url: str, slack: SlackStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", GOOD_TOKEN)
    long_watch = "Zarquon " * 375  # 3,000 characters
    async with FeedServer() as server:
        server.add("/hostile.xml", FEED)
        cfg = tmp_path / "newswatch.yaml"
        cfg.write_text(
            f"""
store: {store_url}
max_item_age: null
feeds:
  - url: {server.url("/hostile.xml")}
watches:
  - {{name: "{long_watch.strip()}", query: "zarq*"}}
  - {{name: Long words, query: "zarquonx*"}}
notify:
  jsonl: {tmp_path / "alerts.jsonl"}
  slack: {{token: "${{SLACK_BOT_TOKEN}}", channel: "#news", base_url: "{slack.base_url}", min_interval: 0.01s}}
""",
            encoding="utf-8",
        )
        assert await run(load_config(cfg), once=True) == 0

    written = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text("utf-8").splitlines()]
    assert slack.refusals == []
    store = open_store(store_url)
    try:
        await nothing_left(store)
    finally:
        await store.close()
    # One Slack message per record (an alert, or a reply under its story's alert), each record's own.
    assert len(slack.posts) == len(written) >= 5
    for rec, post in zip(written, slack.posts, strict=True):
        shown = texts(post)
        assert clip(one_line(rec["title"]), 20).removesuffix("…") in shown
        assert "Hostile Wire Hostile" in shown and "…" in shown  # the 10,009-character source, cut
        assert ("thread_ts" in post) == (rec["event"] == "update")
    everything = json.dumps(slack.posts, ensure_ascii=False)
    assert "<!channel>" not in everything and "<@U123>" not in everything
    assert "&lt;!channel&gt; &lt;@U123&gt; Zarquon ferry delayed &amp; rerouted" in everything
    assert "<https://hostile.example/long/" not in everything  # too long to be a link: shown as text
    assert "<javascript" not in everything
    (word,) = [p for p, r in zip(slack.posts, written, strict=True) if r["watch"] == "Long words"]
    assert re.fullmatch(r">…?\*Zarquonx+\*…", word["blocks"][2]["text"]["text"])  # the bold hit cut, closed
    long_watch_alerts = [
        p
        for p, r in zip(slack.posts, written, strict=True)
        if r["event"] == "alert" and r["watch"] != "Long words"
    ]
    assert long_watch_alerts
    for post in long_watch_alerts:
        context = post["blocks"][1]["elements"][0]["text"]
        assert re.search(r"watch: \*(Zarquon ?)+…\*", context), context  # the 3,000-character name, cut
