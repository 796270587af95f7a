"""SIGTERM with a daily digest waiting: the last log line says the records left are sent at the next start
(it read like a loss: `stopped left_in_outbox=1`), and `newswatch outbox` tells when the digest goes out."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from newswatch.store import open_store
from tests.newcomer.helpers import rss
from tests.service.test_resilience import child_log, start
from tests.slackstub import GOOD_TOKEN, SlackStub


async def test_sigterm_says_what_waits_is_sent_at_the_next_start(tmp_path: Path, store_url: str) -> None:
    (tmp_path / "wire.xml").write_text(
        rss("Wire", [{"title": "Direct talks begin", "link": "https://wire.example/1"}]), encoding="utf-8"
    )
    async with SlackStub() as slack:
        cfg = tmp_path / "cfg.yaml"
        cfg.write_text(
            f"store: {store_url}\nfeeds: [{{url: wire.xml, interval: 1h}}]\n"
            "watches: [{name: talks, query: talks, digest: daily}]\n"
            f"notify: {{slack: {{token: {GOOD_TOKEN}, base_url: '{slack.base_url}', channel: '#news'}}}}\n",
            encoding="utf-8",
        )
        store = open_store(store_url)
        proc = await start(cfg)
        try:
            for _ in range(600):  # the first poll records the item; bounded, never a timing assertion
                if await store.outbox_pending() == 1:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"the digest record was never queued; log:\n{child_log(cfg)}")
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
            await store.close()
        assert slack.posts == []  # the digest is due at midnight, not now
    last = [ln for ln in child_log(cfg).splitlines() if ln.strip()][-1]
    assert "INFO stopped; the records left in the outbox are sent at the next start left_in_outbox=1" in last
