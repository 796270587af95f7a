"""WebSub end to end: a running service discovers the hub a feed advertises, subscribes, and a pushed item
reaches Slack within 2 seconds, long before the next poll; a push with a bad signature is ignored."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

from tests.conftest import free_port
from tests.feeds.test_push import LocalHub
from tests.feedserver import FeedServer
from tests.service.test_resilience import child_log, start, wait_for
from tests.slackstub import GOOD_TOKEN, SlackStub


def atom(hub: str, topic: str, entries: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<entry><id>{link}</id><title>{title}</title><link href='{link}'/><updated>2025-03-06T10:00:00Z</updated>"
        f"<summary>{title}, the White House said.</summary></entry>"
        for title, link in entries
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Pushy</title>"
        f"<id>{topic}</id><link rel='hub' href='{hub}'/><link rel='self' href='{topic}'/>"
        f"<updated>2025-03-06T10:00:00Z</updated>{body}</feed>"
    )


async def test_pushed_item_reaches_slack_within_2s(tmp_path: Path, store_url: str) -> None:
    hub = LocalHub()
    port = free_port()
    try:
        async with FeedServer() as server, SlackStub() as slack:
            await hub.mount(server)  # beside the listed feed: a hub elsewhere on 127.0.0.1 would be refused
            topic = server.url("/pushy.atom")
            first = [("US and Hamas hold talks", "https://push.example/1")]
            server.add("/pushy.atom", atom(hub.url, topic, first), content_type="application/atom+xml")
            cfg = tmp_path / "cfg.yaml"
            cfg.write_text(
                f"""
store: {store_url}
max_item_age: null
feeds: [{{url: "{topic}", interval: 1h}}]
watches: [{{name: talks, query: 'talks'}}]
websub: {{callback_url: "http://127.0.0.1:{port}/websub", secret: "a-long-enough-secret", listen: "127.0.0.1:{port}"}}
notify:
  slack: {{token: "{GOOD_TOKEN}", channel: "#news", base_url: "{slack.base_url}", min_interval: 0.01s}}
""",
                encoding="utf-8",
            )
            proc = await start(cfg)
            await wait_for(lambda: len(slack.posts) == 1, 30, "the polled alert", cfg)
            await wait_for(lambda: topic in hub.subscribers, 30, "the subscription", cfg)

            # A bad signature: ignored (and acknowledged, as the spec says), nothing posted.
            forged = atom(hub.url, topic, [("Forged talks item", "https://push.example/forged")]).encode()
            await hub.publish(topic, forged, signature="bad")
            pushed = atom(
                hub.url, topic, [*first, ("Talks resume in Doha", "https://push.example/2")]
            ).encode()
            sent = time.monotonic()
            assert await hub.publish(topic, pushed) in (200, 202, 204)
            await wait_for(lambda: len(slack.posts) == 2, 10, "the pushed alert", cfg)
            took = time.monotonic() - sent
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 20)
    finally:
        await hub.close()
    posts = json.dumps(slack.posts)
    assert "push.example/2" in posts and "forged" not in posts
    assert took < 2.0, f"push to Slack took {took:.2f}s"
    assert "push subscribed" in child_log(cfg)


async def test_a_hub_named_only_in_a_link_header_is_subscribed(tmp_path: Path, store_url: str) -> None:
    """WebSub discovery reads the feed response's Link headers first (§4): a feed whose document names no hub
    but whose response does is subscribed for push when it is polled."""
    from newswatch.app import open_app
    from newswatch.config import load_config
    from newswatch.feeds.push import WebSubSettings, WebSubSubscriber
    from newswatch.feeds.pushed import PushedFeeds
    from tests.conftest import free_port

    hub = LocalHub()
    async with FeedServer() as srv:
        await hub.mount(srv)
        feed_url = srv.url("/plain.xml")
        body = "<rss version='2.0'><channel><title>Plain</title><item><title>Hamas talks</title>"
        body += "<link>https://plain.example/1</link></item></channel></rss>"
        links = {"Link": f'<{hub.url}>; rel="hub", <{feed_url}>; rel="self"'}
        srv.add("/plain.xml", body, headers=links)
        cfg = tmp_path / "cfg.yaml"
        cfg.write_text(
            f"store: {store_url}\nmax_item_age: null\nfeeds:\n  - url: {feed_url}\n"
            f"watches:\n  - {{name: all, query: '*'}}\nnotify: {{jsonl: {tmp_path / 'out.jsonl'}}}\n",
            encoding="utf-8",
        )
        port = free_port()
        settings = WebSubSettings(
            f"http://127.0.0.1:{port}/websub", "a-long-enough-secret", f"127.0.0.1:{port}"
        )
        async with open_app(load_config(cfg)) as app:
            subscriber = WebSubSubscriber(settings, app.pipeline.on_push)
            await subscriber.start()
            try:
                app.pipeline.push = PushedFeeds(subscriber, app.pipeline.session, app.tasks.spawn)
                await app.pipeline.poll(app.pipeline.config.feeds[0])
                deadline = asyncio.get_running_loop().time() + 10
                while feed_url not in hub.subscribers:
                    assert asyncio.get_running_loop().time() < deadline, hub.subscribers
                    await asyncio.sleep(0.05)
            finally:
                await subscriber.close()
                await hub.close()
