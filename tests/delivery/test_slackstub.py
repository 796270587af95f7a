"""The Slack stand-in refuses what Slack refuses, as Slack words it, and takes each limit exactly.

Many tests trust the stand-in to say "Slack would have refused this"; these check that it does, over real
HTTP, for each documented limit at the limit (accepted) and one past it (refused).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from tests.slackstub import APP_TOKEN, GOOD_TOKEN, SlackStub


@pytest.fixture
async def slack() -> AsyncIterator[SlackStub]:
    async with SlackStub() as stub:
        yield stub


async def call(
    slack: SlackStub, method: str, body: dict[str, Any], token: str | None = GOOD_TOKEN
) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(slack.base_url + method, json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json(), dict(resp.headers)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(**over: str) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "action_id": "a"}
    for key, value in over.items():
        if key == "text":
            b["text"]["text"] = value
        else:
            b[key] = value
    return b


def fields(n: int, size: int) -> list[dict[str, Any]]:
    return [{"type": "mrkdwn", "text": "f" * size} for _ in range(n)]


# (name, blocks for a size n, the largest n Slack takes, the pointer Slack names when refusing n + 1)
LIMITS: list[tuple[str, Callable[[int], list[dict[str, Any]]], int, str]] = [
    ("blocks", lambda n: [section("x")] * n, 50, "/blocks"),
    ("section text", lambda n: [section("s" * n)], 3000, "/blocks/0/text/text"),
    ("section fields", lambda n: [{"type": "section", "fields": fields(n, 5)}], 10, "/blocks/0/fields"),
    ("field text", lambda n: [{"type": "section", "fields": fields(1, n)}], 2000, "/blocks/0/fields/0/text"),
    ("header", lambda n: [{"type": "header", "text": {"type": "plain_text", "text": "h" * n}}], 150, "/blocks/0/text/text"),
    ("context elements", lambda n: [{"type": "context", "elements": fields(n, 3)}], 10, "/blocks/0/elements"),
    ("button text", lambda n: [{"type": "actions", "elements": [button(text="b" * n)]}], 75, "/blocks/0/elements/0/text/text"),
    ("button url", lambda n: [{"type": "actions", "elements": [button(url="https://x.example/" + "u" * (n - 18))]}], 3000, "/blocks/0/elements/0/url"),
    ("button value", lambda n: [{"type": "actions", "elements": [button(value="v" * n)]}], 2000, "/blocks/0/elements/0/value"),
    ("action_id", lambda n: [{"type": "actions", "elements": [button(action_id="a" * n)]}], 255, "/blocks/0/elements/0/action_id"),
    ("actions elements", lambda n: [{"type": "actions", "elements": [button(action_id=f"a{i}") for i in range(n)]}], 25, "/blocks/0/elements"),
    # A character outside the BMP counts two: 1500 emoji are 3000 units.
    ("emoji section", lambda n: [section("😀" * (n // 2))], 3000, "/blocks/0/text/text"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "limit", "pointer"), LIMITS, ids=[x[0] for x in LIMITS])
async def test_each_limit_is_taken_exactly_and_refused_one_past(
    slack: SlackStub, name: str, make: Callable[[int], list[dict[str, Any]]], limit: int, pointer: str
) -> None:
    status, ok, _ = await call(
        slack, "chat.postMessage", {"channel": "#c", "text": "t", "blocks": make(limit)}
    )
    assert status == 200 and ok["ok"] is True, ok
    over = limit + 2 if name == "emoji section" else limit + 1
    status, refused, _ = await call(
        slack, "chat.postMessage", {"channel": "#c", "text": "t", "blocks": make(over)}
    )
    assert status == 200 and refused["ok"] is False and refused["error"] == "invalid_blocks"
    messages = refused["response_metadata"]["messages"]
    assert any(m.startswith("[ERROR] ") and m.endswith(f"[json-pointer:{pointer}]") for m in messages), (
        messages
    )
    assert [c.error for c in slack.refusals] == ["invalid_blocks"]


async def test_section_text_refusal_is_worded_as_slack_words_it(slack: SlackStub) -> None:
    _, refused, _ = await call(slack, "chat.postMessage", {"channel": "#c", "blocks": [section("s" * 3001)]})
    assert refused["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]


async def test_top_level_text_up_to_40000_then_msg_too_long(slack: SlackStub) -> None:
    _, ok, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t" * 40_000})
    assert ok["ok"] is True
    _, refused, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t" * 40_001})
    assert refused == {"ok": False, "error": "msg_too_long"}


async def test_update_is_checked_too_and_may_clear_blocks(slack: SlackStub) -> None:
    _, refused, _ = await call(
        slack, "chat.update", {"channel": "#c", "ts": "1.1", "text": "t", "blocks": [section("s" * 3001)]}
    )
    assert refused["error"] == "invalid_blocks"
    _, ok, _ = await call(slack, "chat.update", {"channel": "#c", "ts": "1.1", "text": "t", "blocks": []})
    assert ok["ok"] is True


async def test_tokens_missing_and_wrong(slack: SlackStub) -> None:
    _, missing, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t"}, token=None)
    _, wrong, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t"}, token="xoxb-nope")
    assert missing == {"ok": False, "error": "not_authed"}
    assert wrong == {"ok": False, "error": "invalid_auth"}
    assert slack.posts == []


async def test_empty_message_and_unknown_channel(slack: SlackStub) -> None:
    slack.channels = {"#c"}
    _, empty, _ = await call(slack, "chat.postMessage", {"channel": "#c"})
    _, nowhere, _ = await call(slack, "chat.postMessage", {"channel": "#gone", "text": "t"})
    assert empty["error"] == "no_text" and nowhere["error"] == "channel_not_found"


async def test_rate_limit_answers_429_with_the_given_retry_after(slack: SlackStub) -> None:
    date = "Wed, 21 Oct 2037 07:28:00 GMT"
    slack.rate_limit(date)
    status, body, headers = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t"})
    assert status == 429 and body == {"ok": False, "error": "ratelimited"}
    assert headers["Retry-After"] == date
    status, body, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t"})
    assert status == 200 and body["ok"] is True  # only the next call was limited
    assert slack.refusals == []  # a rate limit is not a refusal


@pytest.mark.parametrize(
    "text",
    [
        "<!channel> look",  # a mention or special command: newswatch never writes one
        "hi <@U123>",
        "<javascript:alert(1)|click>",  # a link to something other than http(s)
        "<file:///etc/passwd|x>",
        "<https://x.example/" + "a" * 3000 + "|long>",  # a link too long to be one
        "<https://x.example/a|unclosed",
        "tom &am",  # an entity cut in half
        "a > b",  # an unescaped `>` mid-line
    ],
)
async def test_strict_mrkdwn_refuses_what_would_render_wrongly(slack: SlackStub, text: str) -> None:
    _, in_blocks, _ = await call(
        slack, "chat.postMessage", {"channel": "#c", "text": "t", "blocks": [section(text)]}
    )
    _, as_text, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": text})
    assert in_blocks["error"] == "invalid_blocks" and "(stub)" in json.dumps(in_blocks)
    assert as_text["error"] == "invalid_arguments"


async def test_sound_mrkdwn_passes_strict_checks(slack: SlackStub) -> None:
    text = ">quoted *bold* &lt;!channel&gt; <https://x.example/a?b=1&amp;c=2|A &amp; B> tom &amp; jerry"
    _, ok, _ = await call(
        slack, "chat.postMessage", {"channel": "#c", "text": text, "blocks": [section(text)]}
    )
    assert ok["ok"] is True


async def test_lenient_stub_takes_what_slack_takes(slack: SlackStub) -> None:
    slack.strict = False
    _, ok, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "<!channel> a > b"})
    assert ok["ok"] is True


async def test_blocks_total_limit_only_when_asked(slack: SlackStub) -> None:
    blocks = [section("s" * 3000) for _ in range(5)]
    _, ok, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t", "blocks": blocks})
    assert ok["ok"] is True
    slack.blocks_text_max = 12_000
    _, refused, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t", "blocks": blocks})
    assert refused == {"ok": False, "error": "msg_blocks_too_long"}


async def test_incoming_webhook_answers_like_slack(slack: SlackStub) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(slack.webhook_url, json={"text": "t", "blocks": [section("ok")]}) as resp:
            assert resp.status == 200 and await resp.text() == "ok"
        async with session.post(
            slack.webhook_url, json={"text": "t", "blocks": [section("s" * 3001)]}
        ) as resp:
            assert resp.status == 400 and await resp.text() == "invalid_blocks"
        slack.rate_limit("7")
        async with session.post(slack.webhook_url, json={"text": "t"}) as resp:
            assert resp.status == 429 and resp.headers["Retry-After"] == "7"
    assert len(slack.webhook_posts) == 1 and [c.error for c in slack.refusals] == ["invalid_blocks"]


async def test_buttons_one_action_id_per_block_and_a_known_style(slack: SlackStub) -> None:
    twins = [{"type": "actions", "elements": [button(action_id="x"), button(action_id="x")]}]
    _, refused, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t", "blocks": twins})
    assert refused["error"] == "invalid_blocks" and "one action_id" in json.dumps(refused)
    styled = [{"type": "actions", "elements": [{**button(), "style": "loud"}]}]
    _, refused, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t", "blocks": styled})
    assert refused["error"] == "invalid_blocks" and "/blocks/0/elements/0/style" in json.dumps(refused)
    plain = [{"type": "actions", "elements": [{**button(), "text": {"type": "mrkdwn", "text": "*b*"}}]}]
    _, refused, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t", "blocks": plain})
    assert refused["error"] == "invalid_blocks" and "must be plain_text" in json.dumps(refused)


async def test_only_a_user_who_clicked_may_be_mentioned(slack: SlackStub) -> None:
    blocks = [section("Muted by <@U0ALICE01>")]
    _, refused, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t", "blocks": blocks})
    assert refused["error"] == "invalid_blocks"
    slack.users.add("U0ALICE01")  # as SlackStub.click does
    _, ok, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "t", "blocks": blocks})
    assert ok["ok"] is True
    _, other, _ = await call(slack, "chat.postMessage", {"channel": "#c", "text": "hi <@U0BOB0001>"})
    assert other["error"] == "invalid_arguments"


async def test_socket_mode_needs_an_app_token(slack: SlackStub) -> None:
    _, bot, _ = await call(slack, "apps.connections.open", {})
    _, app, _ = await call(slack, "apps.connections.open", {}, token=APP_TOKEN)
    _, wrong, _ = await call(slack, "apps.connections.open", {}, token="xapp-nope")
    assert bot == {"ok": False, "error": "not_allowed_token_type"}
    assert app["ok"] is True and app["url"].startswith("ws://127.0.0.1:")
    assert wrong == {"ok": False, "error": "invalid_auth"}
