"""What mutes and snoozes set from Slack do to delivery, on both stores, against the Slack stand-in: a muted
story or source is no longer posted to its channel (and still reaches JSONL), a snoozed watch's records are
held and then posted as one digest; nothing else is held back, lost or posted twice."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from newswatch.delivery.notify.jsonl import JsonlNotifier
from newswatch.delivery.notify.slack import SlackNotifier
from newswatch.delivery.outbox import Delivery
from newswatch.delivery.report import DeliveryPolicy
from newswatch.models import feed_key
from newswatch.service.metrics import Metrics
from newswatch.store import Mute, Store
from tests.slackstub import GOOD_TOKEN, SlackStub

DAY = 86400.0
FEED_A, FEED_B = "https://wire-a.example/rss", "https://wire-b.example/rss"


@pytest.fixture
async def slack() -> AsyncIterator[SlackStub]:
    async with SlackStub() as stub:
        yield stub


async def queue(
    store: Store, title: str, *, story: str, event: str = "alert", watch: str = "w", feed: str = FEED_A,
    targets: tuple[str, ...] = ("slack:#news", "jsonl"),
) -> None:  # fmt: skip
    record = {"event": event, "watch": watch, "story": story, "title": title,
              "url": f"https://news.example/{title.replace(' ', '-')}", "source": "Wire", "published": None,
              "matched": ["x"], "at": "2025-03-05T00:00:00+00:00", "feed": feed}  # fmt: skip
    for target in targets:
        await store.enqueue(target, record)


def posted_titles(slack: SlackStub, channel: str = "#news") -> list[str]:
    """Titles of the alerts (top level) and replies posted to a channel, in order."""
    out = []
    for body in slack.posts:
        if body["channel"] == channel:
            reply = re.search(r"\|([^>]+)>", body["text"]) if "thread_ts" in body else None
            out.append(reply.group(1) if reply else body["text"].split(" — ")[0])
    return out


def jsonl_titles(path: Path) -> list[str]:
    return [json.loads(line)["title"] for line in path.read_text(encoding="utf-8").splitlines()]


def snooze(watch: str = "w", target: str = "slack:#news", hours: float = 24) -> Mute:
    now = time.time()
    return Mute("snooze", target, watch, "", "U0ALICE1", now, now + hours * 3600, watch)


class Clock:
    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


async def drain(
    store: Store, slack: SlackStub, jsonl: Path, clock: Clock | None = None, **kw: Any
) -> Delivery:
    notifiers = {
        "slack": SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.0),
        "jsonl": JsonlNotifier(str(jsonl)),
    }
    now = clock or time.time
    delivery = Delivery(store, notifiers, policy=DeliveryPolicy(flood_max=1000), clock=now, **kw)
    try:
        await delivery.drain_all(now() + 30)
    finally:
        for n in notifiers.values():
            await n.close()
    return delivery


async def test_a_muted_story_is_not_posted_but_recorded_and_a_new_story_still_posts(
    store: Store, slack: SlackStub, tmp_path: Path
) -> None:
    jsonl = tmp_path / "alerts.jsonl"
    await queue(store, "A first", story="s-A")
    await drain(store, slack, jsonl)
    now = time.time()
    await store.add_mute(Mute("story", "slack:#news", "w", "s-A", "U0ALICE1", now, now + DAY))
    await queue(store, "A again", story="s-A", event="update")
    await queue(store, "B first", story="s-B")
    await queue(store, "A from B", story="s-A", event="update", feed=FEED_B)
    await queue(store, "B again", story="s-B", event="update")
    metrics = Metrics(process=False)
    await drain(store, slack, jsonl, metrics=metrics)
    assert posted_titles(slack) == ["A first", "B first", "B again"]
    # Recorded all the same: the JSONL file has every record, once, in order.
    assert jsonl_titles(jsonl) == ["A first", "A again", "B first", "A from B", "B again"]
    assert await store.outbox_pending() == 0 and await store.outbox_parked() == []
    assert metrics.alerts_suppressed.labels("muted_story")._value.get() == 2
    assert slack.refusals == []


async def test_a_muted_source_is_muted_for_its_watch_and_channel_only(
    store: Store, slack: SlackStub, tmp_path: Path
) -> None:
    now = time.time()
    await store.add_mute(Mute("source", "slack:#news", "w", feed_key(FEED_A), "U0ALICE1", now, now + DAY))
    await queue(store, "w A", story="s-1")
    await queue(store, "w B", story="s-2", feed=FEED_B)
    await queue(store, "v A", story="s-3", watch="v")
    await queue(store, "w A other channel", story="s-4", targets=("slack:#other",))
    await queue(store, "w A later", story="s-2", event="update")  # a later report from the muted feed
    await drain(store, slack, tmp_path / "a.jsonl")
    assert posted_titles(slack) == ["w B", "v A"]
    assert posted_titles(slack, "#other") == ["w A other channel"]
    assert jsonl_titles(tmp_path / "a.jsonl") == ["w A", "w B", "v A", "w A later"]
    assert await store.outbox_pending() == 0


async def test_a_snoozed_watch_is_held_then_posted_as_one_digest(
    store: Store, slack: SlackStub, tmp_path: Path
) -> None:
    jsonl, clock = tmp_path / "a.jsonl", Clock()
    await store.add_mute(snooze())
    for i in range(3):
        await queue(store, f"w {i}", story=f"s-{i}")
    await queue(store, "w 0 again", story="s-0", event="update")
    await queue(store, "v 0", story="s-v", watch="v")
    await drain(store, slack, jsonl, clock)
    # Only the other watch was posted; the snoozed one waits in the channel's held queue, in order.
    assert posted_titles(slack) == ["v 0"]
    held = await store.outbox_head("slack:#news|digest:held", 10)
    assert [e.record["title"] for e in held] == ["w 0", "w 1", "w 2", "w 0 again"]
    assert len(jsonl_titles(jsonl)) == 5
    # Still snoozed a minute later: nothing more.
    clock.ahead = 60.0
    await drain(store, slack, jsonl, clock)
    assert len(slack.posts) == 1
    # Meanwhile one of the held stories was muted: it is left out of the digest.
    now = time.time()
    await store.add_mute(Mute("story", "slack:#news", "w", "s-1", "U0BOB001", now, now + 30 * DAY))
    clock.ahead = DAY + 1
    await drain(store, slack, jsonl, clock)
    digest = slack.posts[1:]
    assert len(digest) == 1  # one message for everything held
    text = json.dumps(digest[0])
    assert "held while w was snoozed" in text
    assert text.index("w 0") < text.index("w 2") and "w 1" not in text and "actions" not in text
    assert "2 alerts" in digest[0]["text"]
    assert await store.outbox_pending() == 0 and await store.outbox_parked() == []
    assert slack.refusals == []


async def test_a_lifted_snooze_releases_the_held_records_at_once(
    store: Store, slack: SlackStub, tmp_path: Path
) -> None:
    s = snooze()
    await store.add_mute(s)
    await queue(store, "w 0", story="s-0")
    await drain(store, slack, tmp_path / "a.jsonl")
    assert slack.posts == []
    assert await store.clear_mutes([s.id]) == 1  # `newswatch mutes --clear`, or "Unsnooze"
    await queue(store, "w 1", story="s-1")
    await drain(store, slack, tmp_path / "a.jsonl")
    # The new record is posted on its own; what was held comes as the digest (two queues: either may go first).
    assert sorted(posted_titles(slack)) == ["1 alerts", "w 1"]
    [digest] = [p for p in slack.posts if "1 alerts" in json.dumps(p)]
    assert "held while w was snoozed" in json.dumps(digest)
    assert await store.outbox_pending() == 0


async def test_mutes_in_force_leave_a_flood_digest_alone(
    store: Store, slack: SlackStub, tmp_path: Path
) -> None:
    now = time.time()
    await store.add_mute(Mute("story", "slack:#news", "w", "s-3", "U0ALICE1", now, now + DAY))
    for i in range(6):
        await queue(store, f"w {i}", story=f"s-{i}", targets=("slack:#news",))
    notifier = SlackNotifier(GOOD_TOKEN, slack.base_url, pace=0.0)
    delivery = Delivery(store, {"slack": notifier}, policy=DeliveryPolicy(flood_max=2))
    await delivery.drain_all(time.time() + 30)
    await notifier.close()
    texts = [json.dumps(p) for p in slack.posts]
    assert len(slack.posts) == 3  # two alerts, then the overflow as one digest
    assert "w 0" in texts[0] and "w 1" in texts[1]
    assert all(f"w {i}" in texts[2] for i in (2, 4, 5)) and "w 3" not in "".join(texts)
    assert await store.outbox_pending() == 0
