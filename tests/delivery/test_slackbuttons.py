"""The buttons on Slack alerts, through the real notifier and slack-sdk against the strict stand-in: on every
alert, on nothing else; ids in their value, never feed text; within Slack's limits whatever the ids; and the
notes an action leaves, which never let text through as a mention."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from newswatch.delivery.notify.slack import SlackNotifier
from newswatch.delivery.notify.slackbuttons import ActionRef, action_blocks
from newswatch.models import feed_key
from newswatch.service.slackactions import BadAction, parse_payload
from tests.slackstub import GOOD_TOKEN, SlackStub

FEED = "https://wire-a.example/rss"
ALL = {"newswatch.mute_story", "newswatch.mute_source", "newswatch.snooze_watch"}


def alert(**over: Any) -> dict[str, Any]:
    record = {"event": "alert", "watch": "harbour", "story": "s-0123456789abcdef", "title": "Bridge vote <b>",
              "url": "https://wire-a.example/bridge", "source": "Wire A", "published": None, "matched": ["x"],
              "at": "2025-03-05T00:00:00+00:00", "feed": FEED}  # fmt: skip
    return {**record, **over}


def buttons(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["action_id"]: e for b in body.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
    }


@pytest.fixture
async def slack() -> AsyncIterator[SlackStub]:
    async with SlackStub() as stub:
        yield stub


@pytest.fixture
async def notifier(slack: SlackStub) -> AsyncIterator[SlackNotifier]:
    n = SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.0, buttons=True)
    yield n
    await n.close()


async def test_every_alert_has_the_buttons_and_nothing_else_does(
    slack: SlackStub, notifier: SlackNotifier
) -> None:
    state = await notifier.send("slack:#news", alert(), None)
    await notifier.send("slack:#news", alert(event="update", title="Later"), state)
    await notifier.send_digest("slack:#news", [alert(), alert(story="s-2")], "hourly digest")
    ops = {
        "event": "feed_down",
        "watch": "ops",
        "story": "",
        "title": "Feed X is down",
        "url": "",
        "source": "nw",
    }
    await notifier.send("slack:#ops", ops, None)
    first, reply, digest, down = slack.posts
    assert set(buttons(first)) == ALL
    assert buttons(reply) == {} and buttons(digest) == {} and buttons(down) == {}
    # The edit that counts the sources keeps them.
    (edit,) = slack.updates
    assert set(buttons(edit)) == ALL and "2 sources" in json.dumps(edit)
    values = {b["value"] for b in buttons(first).values()}
    assert len(values) == 1
    assert json.loads(values.pop()) == {"t": "slack:#news", "w": "harbour", "s": "s-0123456789abcdef",
                                        "f": feed_key(FEED)}  # fmt: skip
    assert "Bridge" not in json.dumps(buttons(first)) and FEED not in json.dumps(first)
    assert slack.refusals == []


async def test_without_a_slack_app_for_actions_no_alert_has_buttons(slack: SlackStub) -> None:
    plain = SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.0)  # no signing secret, no app token
    state = await plain.send("slack:#news", alert(), None)
    await plain.send("slack:#news", alert(event="update", title="Later"), state)
    await plain.close()
    assert buttons(slack.posts[0]) == {} and buttons(slack.updates[0]) == {}
    assert "actions" not in json.dumps(slack.calls[-1].body)


async def test_an_alert_without_a_feed_cannot_mute_its_source(
    slack: SlackStub, notifier: SlackNotifier
) -> None:
    await notifier.send(
        "slack:#news", alert(feed=None), None
    )  # a record queued before alerts named their feed
    assert set(buttons(slack.posts[0])) == {"newswatch.mute_story", "newswatch.snooze_watch"}


async def test_ids_too_long_for_a_button_value_leave_the_alert_without_buttons(
    slack: SlackStub, notifier: SlackNotifier
) -> None:
    fits = ActionRef("slack:#news", "", "s-0123456789abcdef", feed_key(FEED))
    room = 2000 - len(fits.encode() or "")
    await notifier.send("slack:#news", alert(watch="w" * room), None)  # exactly 2,000: the limit itself
    await notifier.send("slack:#news", alert(watch="w" * (room + 1)), None)
    at_limit, over = slack.posts
    assert len(buttons(at_limit)["newswatch.mute_story"]["value"]) == 2000
    assert buttons(over) == {} and "Bridge vote" in over["text"]
    assert slack.refusals == []


async def test_a_mention_in_feed_text_stays_text_even_for_a_user_who_clicked(
    slack: SlackStub, notifier: SlackNotifier
) -> None:
    slack.users.add("U0ALICE01")  # the stand-in would let this user's mention through
    await notifier.send(
        "slack:#news", alert(title="<@U0ALICE01> <!channel> look", source="<@U0ALICE01>"), None
    )
    body = json.dumps(slack.posts[0])
    assert "<@U0ALICE01>" not in body and "&lt;@U0ALICE01&gt;" in body


@pytest.mark.parametrize(
    ("notes", "shown"),
    [
        ({"story": "U0ALICE01"}, "Muted by <@U0ALICE01>"),
        ({"story": "<!channel>"}, "Muted by someone"),  # never raw text as a mention
        (
            {"source": "U0ALICE01", "snooze": ["W0BOB0001", 1741000000]},
            "Source muted by <@U0ALICE01>: its items no longer alert this watch here\n"
            "Watch snoozed by <@W0BOB0001> until 03 Mar 2025 11:06 UTC",
        ),
        ({"snooze": ["U0ALICE01", "whenever"]}, "Watch snoozed by <@U0ALICE01> until later"),
    ],
    ids=["story", "not a user id", "source and snooze", "unreadable until"],
)
async def test_notes_say_who_did_what(
    slack: SlackStub, notifier: SlackNotifier, notes: dict[str, Any], shown: str
) -> None:
    slack.users |= {"U0ALICE01", "W0BOB0001"}
    ref = ActionRef("slack:#news", "harbour", "s-1", feed_key(FEED))
    blocks = action_blocks(ref, notes)
    assert blocks[0] == {"type": "context", "elements": [{"type": "mrkdwn", "text": shown}]}
    await notifier.client.chat_postMessage(channel="#news", text="t", blocks=blocks)
    assert slack.refusals == []


@pytest.mark.parametrize(
    "value",
    [None, 7, "", "not json", "[1, 2]", '{"t": "slack:#a", "w": "w", "s": "s"}', '{"t": 1, "w": "w", "s": "s", "f": ""}',
     '{"t": "slack:#a", "w": "w", "s": "", "f": ""}', '{"t": "slack:#a", "w": "w", "s": "s", "f": "' + "x" * 2000 + '"}'],
)  # fmt: skip
def test_a_value_that_is_not_ours_is_refused(value: object) -> None:
    with pytest.raises(ValueError):
        ActionRef.decode(value)
    payload = {"type": "block_actions", "user": {"id": "U0ALICE01"},
               "actions": [{"action_id": "newswatch.mute_story", "value": value}]}  # fmt: skip
    with pytest.raises(BadAction):
        parse_payload(payload)


def test_other_interactions_and_other_buttons_are_none_of_ours() -> None:
    value = ActionRef("slack:#news", "w", "s-1").encode()
    assert parse_payload({"type": "view_submission", "view": {}}) == []
    assert parse_payload({"type": "block_actions", "user": {"id": "U0ALICE01"},
                          "actions": [{"action_id": "other.app", "value": "x"}]}) == []  # fmt: skip
    many = [{"action_id": "newswatch.snooze_watch", "value": value}] * 9
    clicks = parse_payload({"type": "block_actions", "user": {"id": "U0ALICE01"}, "actions": many})
    assert len(clicks) == 5  # bounded: a click sends one
    with pytest.raises(BadAction):
        parse_payload({"type": "block_actions", "user": {"id": "<@x>"}, "actions": many})
    with pytest.raises(BadAction):  # a value naming something other than a Slack channel
        parse_payload({"type": "block_actions", "user": {"id": "U0ALICE01"},
                       "actions": [{"action_id": "newswatch.mute_story",
                                    "value": ActionRef("jsonl", "w", "s-1").encode()}]})  # fmt: skip
