"""A feed removed by a reload stops alerting through WebSub (issue 21 point 14), on both stores.

Two pushed feeds are subscribed at a local hub; a reload drops one.  A push for the removed feed is answered 410
(the hub's cue to stop) and alerts nothing, the hub is asked to unsubscribe, and a renewal round never
subscribes it again; the kept feed's push still alerts exactly once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newswatch.app import open_app
from newswatch.config import load_config
from newswatch.feeds.push import WebSubSettings, WebSubSubscriber
from newswatch.feeds.pushed import PushedFeeds
from tests.conftest import free_port
from tests.feeds.test_push import LocalHub
from tests.feeds.test_push_end_to_end import atom
from tests.feedserver import FeedServer
from tests.hostile.test_feeds import story


async def until(check: Callable[[], bool], what: str, seconds: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def write_config(path: Path, store_url: str, feeds: list[str], out: Path) -> Path:
    listed = "".join(f"  - {{url: {url}, interval: 1h}}\n" for url in feeds)
    path.write_text(
        f"store: {store_url}\nmax_item_age: null\nfeeds:\n{listed}"
        f"watches:\n  - {{name: talks, query: 'talks'}}\nnotify: {{jsonl: {out}}}\n",
        encoding="utf-8",
    )
    return path


def alerts(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


async def test_a_removed_feeds_pushes_are_refused_and_its_lease_is_not_renewed(
    tmp_path: Path, store_url: str
) -> None:
    hub = LocalHub()
    out = tmp_path / "alerts.jsonl"
    async with FeedServer() as server:
        await hub.mount(server)
        kept, removed = server.url("/kept.atom"), server.url("/removed.atom")
        server.add("/kept.atom", atom(hub.url, kept, [(f"{story(1)} talks", "https://kept.example/1")]))
        server.add("/removed.atom", atom(hub.url, removed, [(f"{story(2)} talks", "https://gone.example/1")]))
        both = write_config(tmp_path / "both.yaml", store_url, [kept, removed], out)
        port = free_port()
        settings = WebSubSettings(
            f"http://127.0.0.1:{port}/websub", "a-long-enough-secret", f"127.0.0.1:{port}"
        )
        async with open_app(load_config(both)) as app:
            subscriber = WebSubSubscriber(settings, app.pipeline.on_push)
            await subscriber.start()
            try:
                push = PushedFeeds(subscriber, app.pipeline.session, app.tasks.spawn)
                app.pipeline.push = push
                await app.pipeline.run_once()
                await until(lambda: {kept, removed} <= hub.subscribers.keys(), "both subscriptions")
                await until(lambda: all(subscriber.active(t) for t in (kept, removed)), "both verified")

                only_kept = write_config(tmp_path / "kept.yaml", store_url, [kept], out)
                app.pipeline.reload(load_config(only_kept).config)  # what SIGHUP does to the pipeline
                assert push.feed(removed) is None
                await until(lambda: any(mode for mode in [subscriber.subscription(removed)] if mode and
                                        mode.state in ("unsubscribing", "unsubscribed")), "the unsubscribe")  # fmt: skip

                gone = atom(hub.url, removed, [(f"{story(3)} talks", "https://gone.example/2")]).encode()
                assert await hub.publish(removed, gone) == 410
                news = atom(hub.url, kept, [(f"{story(4)} talks", "https://kept.example/2")]).encode()
                assert await hub.publish(kept, news) == 202
                for _ in range(150):  # the push is recorded in a task of its own; then delivered
                    await app.pipeline.delivery.drain()
                    if any(r["url"] == "https://kept.example/2" for r in alerts(out)):
                        break
                    await asyncio.sleep(0.1)

                # A renewal round with every lease about to run out (the subscriber's clock is the loop's):
                # only the kept feed is asked for again.
                asked = len(hub.verifications)
                soon = asyncio.get_running_loop().time() + 1
                for sub in [subscriber.subscription(kept), subscriber.subscription(removed)]:
                    if sub is not None:
                        sub.expires_at, sub.requested_at = soon, None
                await push.renew()
                await until(lambda: len(hub.verifications) > asked, "the renewal")
                await asyncio.sleep(0.3)
                assert len(hub.verifications) == asked + 1
                assert subscriber.active(kept) and not subscriber.active(removed)
            finally:
                await subscriber.close()
                await hub.close()
    # Each report once (an alert, or an update when the story model folds the made-up titles together).
    urls = sorted(r["url"] for r in alerts(out))
    assert urls == ["https://gone.example/1", "https://kept.example/1", "https://kept.example/2"]
