"""What recording decided for each item, said twice: as ``-v`` log lines and as notes for ``newswatch why``.

Owns the shape of the decision record (one note per sighting of an item, filed under the item's identity keys
by :meth:`~newswatch.store.base.Store.add_notes`): seen when and from which feed, new or a new text of an item
seen before, skipped as too old, folded into an item first seen under another key (a copy in another feed),
which watches matched, and for each the story it opened or joined and the outbox entries queued.  A matched
watch's ``reason`` is copied from :attr:`Event.reason` when the story decision gives one line of why (set it
where the batch plan builds its events); ``newswatch why`` shows it when present.
Pure functions, called by the recorder; ``cli/why.py`` reads the notes back.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from newswatch import constants as C
from newswatch.cpu import Outcome
from newswatch.store.base import Recorded, Seen, Sighted

log = logging.getLogger("newswatch")

Note = tuple[tuple[str, ...], dict[str, Any]]


def _base(o: Outcome, what: str, wall: datetime) -> dict[str, Any]:
    note: dict[str, Any] = {
        "at": round(wall.timestamp(), 3),
        "what": what,
        "feed": o.feed_url,
        "source": o.source[: C.WHY_TEXT_CHARS],
        "title": o.title[: C.WHY_TEXT_CHARS],
        "url": o.url,
    }
    if o.published is not None:
        note["published"] = o.published.isoformat()
    return note


def too_old(o: Outcome, max_age: float, wall: datetime) -> Note:
    """An item skipped because it was published more than ``max_item_age`` before its time."""
    log.debug("item skipped: too old", extra={"url": o.url or o.title, "feed": o.feed_url,
                                              "published": o.published.isoformat() if o.published else None})  # fmt: skip
    return o.keys, {**_base(o, "too_old", wall), "max_age": max_age, "fingerprint": o.fingerprint}


def seen_again(o: Outcome) -> None:
    """An item this process recorded already (same keys and text): not even the store is asked."""
    log.debug("item skipped: seen already", extra={"url": o.url or o.title, "feed": o.feed_url})


def recorded(o: Outcome, sighted: Sighted, result: Recorded, wall: datetime) -> Note:
    """The note of one recorded sighting; also its ``-v`` line(s)."""
    folded = result.item_id not in o.keys  # first seen under a key this sighting lacks: another feed's copy
    note = _base(o, result.seen.value, wall)
    note["item"] = result.item_id
    note["fingerprint"] = o.fingerprint  # of the text and the watch set (cpu.py): why tells which changed
    if folded:
        note["folded"] = True
    url = o.url or o.title
    if result.seen is Seen.SAME:
        # Another feed's copy (a section feed, an aggregator's tracking link) or the same feed again.
        log.debug("item folded into an item seen before (same text): nothing to do",
                  extra={"url": url, "feed": o.feed_url, "item": result.item_id})  # fmt: skip
        return o.keys, note
    if folded:
        log.debug(
            "item folded into an item seen before; its text is new",
            extra={"url": url, "item": result.item_id},
        )
    targets = {c.watch: c.targets for c in sighted.claims}
    events = {e.watch: e for e in result.events}
    matched: list[dict[str, Any]] = []
    for m in o.matches:
        e = events.get(m.watch)
        if e is None:  # the watch reported this item before (another copy or text of it)
            matched.append({"watch": m.watch, "event": "already"})
            continue
        entry: dict[str, Any] = {"watch": m.watch, "event": e.event, "story": e.story}
        if e.reason:
            entry["reason"] = e.reason[: C.WHY_TEXT_CHARS]
        queued = targets.get(m.watch, ())
        if len(queued) == len(e.entries):
            entry["queued"] = [[t, i] for t, i in zip(queued, e.entries, strict=True)]
        matched.append(entry)
    note["matched"] = matched
    if not matched:
        log.debug("item matched no watch", extra={"url": url, "feed": o.feed_url})
    return o.keys, note
