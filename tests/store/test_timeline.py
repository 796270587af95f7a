"""Story timelines for the status pages, on SQLite, Redis and a Redis Cluster: written by the same
``Store.record`` call as the claims, read by any worker, bounded per story and per watch, expiring with the
item's seen_ttl."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from newswatch import constants as C
from newswatch.store import Sighted, Sighting, Store, WatchClaim, open_store
from newswatch.stories import BatchStories, default_model
from tests.store.test_store import features

STORIES = BatchStories({}, default_model())
NOW = 1_741_000_000.0


@pytest.fixture
async def two_workers(store_url: str) -> AsyncIterator[tuple[Store, Store]]:
    a, b = open_store(store_url), open_store(store_url)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def report(store: Store, key: str, source: str, *, watch: str = "w", ttl: float = 3600.0,
                 extra: dict[str, object] | None = None) -> str:  # fmt: skip
    profile = features(("0:aa", "1:bb", "2:cc"), {"hamas": 0.8, "boehler": 0.6})
    record = {"watch": watch, "title": f"report {key}", "url": f"https://{source}.example/{key}",
              "source": source, "published": "2025-03-05T10:00:00+00:00", **(extra or {})}  # fmt: skip
    (done,) = await store.record(
        [Sighted(Sighting((key,), "fp", 100, ttl, NOW), (WatchClaim(watch, ("jsonl",), record, profile),))],
        STORIES.fresh(),
    )
    return done.events[0].story


async def test_every_report_of_a_story_in_order_read_by_another_worker(
    two_workers: tuple[Store, Store],
) -> None:
    a, b = two_workers
    story = await report(a, "guid:1", "tehran")
    assert (
        await report(b, "guid:2", "caribe", extra={"related": {"story": "s-1", "title": "t", "url": "u"}})
        == story
    )
    assert await report(a, "guid:3", "wire") == story
    for store in (a, b):
        lines = await store.story_timeline(story)
        assert [ln["source"] for ln in lines] == ["tehran", "caribe", "wire"]
        assert [ln["event"] for ln in lines] == ["alert", "update", "update"]
        # Each line says why, in the decision's own words.
        assert lines[0]["reason"].startswith("new story: ") and lines[1]["reason"].startswith("joined story ")
        assert lines[1]["related"] == {"story": "s-1", "title": "t", "url": "u"}
        (summary,) = await store.recent_stories("w", 10)
        assert (summary["story"], summary["title"], summary["reports"], summary["outlets"]) == (
            story, "report guid:1", 3, 3)  # fmt: skip
    assert await a.story_timeline("s-none") == []
    assert await a.recent_stories("nobody", 10) == []


async def test_timelines_are_bounded_and_expire(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(C, "TIMELINE_PER_STORY", 3)
    monkeypatch.setattr(C, "TIMELINE_STORIES_PER_WATCH", 2)
    story = ""
    for i in range(5):
        story = await report(store, f"guid:{i}", f"outlet{i}")
    assert [ln["source"] for ln in await store.story_timeline(story)] == ["outlet2", "outlet3", "outlet4"]
    # A watch lists its latest stories only (each item here opens its own story on another watch).
    for i in range(4):
        await store.record(
            [Sighted(Sighting((f"guid:solo{i}",), "fp", 100, 3600.0, NOW),
                     (WatchClaim("v", ("jsonl",), {"watch": "v", "title": f"solo {i}"}, None),))],
            STORIES.fresh(),
        )  # fmt: skip
    assert [s["title"] for s in await store.recent_stories("v", 10)] == ["solo 3", "solo 2"]
    brief = await report(store, "guid:brief", "x", watch="u", ttl=0.2)
    assert await store.story_timeline(brief)
    await asyncio.sleep(0.4)
    assert await store.story_timeline(brief) == []  # within seen_ttl, never longer
    assert await store.recent_stories("u", 10) == []
