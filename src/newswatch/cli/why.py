"""`newswatch why -c FILE URL`: what newswatch did with one item, from the decision record in the store.

Reads the notes the recorder filed under the item's identity keys (:mod:`newswatch.decisions`; kept for
``seen_ttl``, the latest few per item) and what the store knows now: whether each queued record still waits
(and for a digest, when it goes out), was parked and why, is muted in its channel, or was delivered (for Slack,
when: the message's own time).  The watches that did not match are explained with today's config, on the text
the archive kept when there is one, else on the recorded title, and the command says which.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from newswatch.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_STARTUP, read_store
from newswatch.cli.outbox import LIST_LIMIT, when
from newswatch.config import Config, LoadedConfig, format_duration
from newswatch.cpu import same_text
from newswatch.delivery.digests import DIGEST_MARK, HELD_PERIOD, digest_due
from newswatch.delivery.effects import Verdict, candidates, verdict
from newswatch.feeds.text import http_url, url_key
from newswatch.models import Item
from newswatch.shared.terminal import strip_controls
from newswatch.store.base import OutboxEntry, Store, thread_key


async def why(loaded: LoadedConfig, url: str) -> int:
    canonical = http_url(url.strip())
    if not canonical:
        print(f"newswatch: why: {url!r} is not an http(s) URL", file=sys.stderr)
        return EXIT_CONFIG
    key = url_key(canonical)

    async def look(store: Store) -> list[str]:
        return await explain_item(loaded.config, store, canonical, key)

    lines = await read_store(loaded, look)
    if lines is None:
        return EXIT_STARTUP
    print("\n".join(lines))
    return EXIT_OK


async def explain_item(cfg: Config, store: Store, canonical: str, key: str) -> list[str]:
    notes = await store.notes([key])
    others = sorted({str(n["item"]) for n in notes if n.get("item")} - {key})
    if others:  # the item it was folded into: its first sightings are filed under its own keys
        notes = await store.notes([key, *others])
    out = [canonical]
    if not notes:
        if await store.known_keys([key]):
            out.append("  seen, but no decision of it is on record (recorded before newswatch kept one)")
        else:
            ttl = format_duration(cfg.seen_ttl)
            out.append(f"  never seen (in the last {ttl}, seen_ttl): no polled feed carried this URL")
        return out
    matched_any: set[str] = set()
    first = next((n for n in notes if n.get("what") == "new"), None)
    for i, note in enumerate(notes):
        out += await _note_lines(store, note, canonical, first, notes[:i])
        matched_any.update(str(m.get("watch")) for m in note.get("matched", ()))
    if any(n.get("what") in ("new", "changed") for n in notes):
        out += _misses(cfg, notes, canonical, matched_any)
    return out


async def _note_lines(
    store: Store,
    note: dict[str, Any],
    canonical: str,
    first: dict[str, Any] | None,
    earlier: Sequence[dict[str, Any]] = (),
) -> list[str]:
    at = _stamp(note.get("at"))
    what = note.get("what")
    source = f" ({_cell(note.get('source'))})" if note.get("source") else ""
    seen = f'{at}  from feed {_cell(note.get("feed"))}{source}: "{_cell(note.get("title"))}"'
    published = f", published {note['published']}" if note.get("published") else ""
    if what == "too_old":
        age = format_duration(float(note.get("max_age") or 0))
        return [
            f"  {seen}{published}",
            f"      skipped: too old (published more than max_item_age {age} before)",
        ]
    here = note.get("url") == canonical
    lines = [f"  {seen}{published}" + ("" if here else f"  [{note.get('url') or 'no URL'}]")]
    if what in ("same", "changed") and first is not None and first is not note:
        # One item under several links or feeds (a section feed, an aggregator's tracking link): one alert.
        elsewhere = first.get("feed") != note.get("feed") or first.get("url") != note.get("url")
        if elsewhere or note.get("folded"):
            lines.append(f"      folded into the item first seen {_stamp(first.get('at'))} from feed "
                         f"{_cell(first.get('feed'))}")  # fmt: skip
    elif what in ("same", "changed") and note.get("folded"):
        lines.append(f"      folded into an item seen before (item {note.get('item')})")
    if what == "same":
        lines.append("      same text as seen before: nothing to do")
        return lines
    if what == "changed" and _watches_changed(note, earlier):
        lines.append("      the same text, matched again: the watches changed since it was seen (a reload, or a "
                     "worker running another config)")  # fmt: skip
    elif what == "changed":
        lines.append("      a new text of an item seen before: matched again")
    matched = note.get("matched") or []
    if not matched:
        lines.append("      matched no watch")
    for m in matched:
        lines += await _match_lines(store, m, note)
    return lines


def _watches_changed(note: dict[str, Any], earlier: Sequence[dict[str, Any]]) -> bool:
    """Whether a sighting was matched again for its watch set only: an earlier one had the same text."""
    fp = str(note.get("fingerprint") or "")
    return bool(fp) and any(
        (seen := str(n.get("fingerprint") or "")) and seen != fp and same_text(seen, fp) for n in earlier
    )


async def _match_lines(store: Store, m: dict[str, Any], note: dict[str, Any]) -> list[str]:
    watch = _cell(m.get("watch"))
    if m.get("event") == "already":
        return [f'      watch "{watch}": matched; it had reported this item already (another copy or text)']
    verb = "opened story" if m.get("event") == "alert" else "joined story"
    lines = [f'      watch "{watch}": matched, {m.get("event")}: {verb} {m.get("story")}']
    if m.get("reason"):
        lines.append(f"        why: {_cell(m['reason'])}")
    for target, entry_id in m.get("queued") or []:
        lines.append(f"        {target}: {await _delivery(store, str(target), str(entry_id), m, note)}")
    return lines


async def _delivery(store: Store, target: str, entry_id: str, m: dict[str, Any], note: dict[str, Any]) -> str:
    """Where one queued record stands now."""
    waiting = next((e for e in await store.outbox_head(target, LIST_LIMIT) if e.id == entry_id), None)
    if waiting is not None:
        period = target.split(DIGEST_MARK, 1)[1] if DIGEST_MARK in target else None
        if period and period != HELD_PERIOD:
            return f"in a {period} digest due {when(digest_due(waiting.created, period))}"
        if period == HELD_PERIOD:
            return "held: the watch is snoozed in this channel"
        return "waiting in the outbox" + (f" (attempt {waiting.attempts} failed)" if waiting.attempts else "")
    parked = next((reason for e, reason in await store.outbox_parked() if e.id == entry_id and e.target == target),
                  None)  # fmt: skip
    if parked is not None:
        return f"parked: {_cell(parked)} (see newswatch outbox --retry)"
    channel = target.split(DIGEST_MARK, 1)[0]
    if channel.startswith("slack:"):
        entry = OutboxEntry(entry_id, 0, channel, str(m.get("watch")), str(m.get("story")), str(m.get("event")),
                            {"feed": note.get("feed", "")})  # fmt: skip
        mutes = await store.mutes(channel, ids=candidates(channel, entry))
        decided, mute = verdict(mutes, entry, datetime.now(UTC).timestamp())
        if decided is Verdict.MUTED and mute is not None:
            return f"muted ({mute.kind} muted by {_cell(mute.user)} until {when(mute.expires)}): not posted"
        state = await store.get_thread(thread_key(channel, str(m.get("watch")), str(m.get("story"))))
        ts = _slack_time(state)
        if ts is not None and m.get("event") == "alert":
            return f"delivered {when(ts)}"
    return "delivered (no longer in the outbox)"


def _misses(cfg: Config, notes: Sequence[dict[str, Any]], canonical: str, matched: set[str]) -> list[str]:
    """Today's watches that did not match it, each with the clause that fails."""
    from newswatch.match import compile_watches

    rest = [w for w in cfg.watches if w.name not in matched]
    if not rest:
        return []
    item, on = _archived(cfg, canonical), "the archived text"
    if item is None:
        title = next((str(n.get("title")) for n in reversed(notes) if n.get("title")), "")
        source = next((str(n.get("source")) for n in reversed(notes) if n.get("source")), "")
        # The recorded source, so `sources:` and `exclude_sources:` filters are explained as run applied them.
        item, on = Item(title=title, url=canonical, source=source), "the recorded title only"
    lines = [
        f"  today's watches that do not match it (on {on}; `newswatch match -c FILE URL` reads the page):"
    ]
    for e in compile_watches(cfg.entities, rest).explain(item):
        if not e.matched:
            lines.append(f'      "{e.watch}": failed {e.failed_clause}  ({e.reason})')
    return lines


def _archived(cfg: Config, canonical: str) -> Item | None:
    """The item as the archive kept it, newest first; None without an archive or a line for it."""
    if not cfg.archive:
        return None
    from newswatch.archiving import archive_files
    from newswatch.feeds.archive import archive_item

    for path in reversed(archive_files(cfg.archive, datetime.fromtimestamp(0, UTC))):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in reversed(lines):
            if canonical not in line:
                continue
            try:
                item = archive_item(json.loads(line), str(path), "archive")
            except ValueError:
                continue
            if item.url == canonical:
                return item
    return None


def _slack_time(state: str | None) -> float | None:
    try:
        data = json.loads(state) if state else None
        ts = data.get("ts") if isinstance(data, dict) else state
        return float(ts) if ts else None
    except (TypeError, ValueError):
        return None


def _stamp(epoch: Any) -> str:
    try:
        return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return "?"


def _cell(value: Any) -> str:
    # Titles and names came from feeds: no control character reaches the terminal, each on one line.
    return " ".join(strip_controls("" if value is None else str(value)).split())[:160]
