"""Shared by the hostile delivery tests: alert records queued in a real outbox, delivered for real."""

from __future__ import annotations

import time
from typing import Any

from newswatch.delivery.notify.base import Notifier
from newswatch.delivery.outbox import Delivery
from newswatch.delivery.report import DeliveryPolicy
from newswatch.store import Sighted, Sighting, Store, WatchClaim
from newswatch.stories import BatchStories, ItemProfile
from tests.stories.items import body_model

STORIES = BatchStories({}, body_model())
NEWS = "slack:#news"


def record(case: str, **over: Any) -> dict[str, Any]:
    base = {"event": None, "watch": "w", "story": None, "title": f"{case} Zarquon held talks",
            "url": f"https://news.example/{case}", "source": "Example Wire", "published": "2025-03-05T10:00:00+00:00",
            "matched": ["zarquon"], "at": "2025-03-05T10:00:01+00:00"}  # fmt: skip
    return base | over


async def queue(
    store: Store, rec: dict[str, Any], key: str, target: str = NEWS, feats: ItemProfile | None = None
) -> None:
    sighting = Sighting((f"guid:{key}",), f"fp-{key}", 10, 3600.0, 1_741_170_000.0)
    claim = WatchClaim(rec["watch"], (target,), rec, feats)
    await store.record([Sighted(sighting, (claim,))], STORIES.fresh())


async def deliver(store: Store, notifier: Notifier, policy: DeliveryPolicy | None = None) -> Delivery:
    delivery = Delivery(store, {notifier.name: notifier}, policy=policy or DeliveryPolicy(flood_max=1000))
    await delivery.drain_all(time.time() + 60)
    return delivery


def texts(body: dict[str, Any]) -> str:
    """Everything a message shows: its text and the text of its blocks."""
    parts = [str(body.get("text", ""))]
    for block in body.get("blocks") or []:
        if "text" in block:
            parts.append(block["text"]["text"])
        # A context element's text is a string; a button's is a text object.
        parts += [
            e["text"] if isinstance(e["text"], str) else e["text"]["text"] for e in block.get("elements", [])
        ]
    return "\n".join(parts)


async def nothing_left(store: Store) -> None:
    assert await store.outbox_parked() == []
    assert await store.outbox_pending() == 0
