"""What the Slack action tests share: a watch with two stories over two feeds, a config with a Slack app, and
Slack's v0 request signature written out by hand (not slack-sdk's, which the code under test uses)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.feedserver import FeedServer
from tests.slackstub import GOOD_TOKEN, SlackStub

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # a signing secret's shape (32 characters)
USER = "U0ALICE01"

BRIDGE = (
    "The harbour council voted on Tuesday to approve the budget for a new bridge over the river, ending two "
    "years of argument about the cost. Councillors agreed to fund the crossing from the port levy and a "
    "regional grant, and work on the foundations should start in the spring, the mayor said. Residents of "
    "the east bank, who now drive forty minutes to reach the hospital, welcomed the vote."
)
FESTIVAL = (
    "Organisers of the harbour festival said the event will move to the old rail yard this summer after "
    "complaints about noise near the marina. The new site holds twice as many visitors and has room for a "
    "second stage, a spokeswoman said, and shuttle buses will run from the station every ten minutes."
)
# (feed, title, link, text): the bridge story from wire A, its copy from wire B, and a new story from A.
BRIDGE_A = ("a", "Harbour council approves river bridge budget", "https://wire-a.example/bridge", BRIDGE)
BRIDGE_B = ("b", "Harbour council backs bridge budget", "https://wire-b.example/news/bridge-vote", BRIDGE)
FESTIVAL_A = ("a", "Harbour festival moves to the rail yard", "https://wire-a.example/festival", FESTIVAL)
BRIDGE_B2 = (
    "b",
    "Bridge budget: what the council agreed",
    "https://wire-b.example/news/bridge-explainer",
    BRIDGE,
)


def serve(server: FeedServer, *items: tuple[str, str, str, str]) -> None:
    """Serve feeds a and b holding ``items`` (each feed at its own path)."""
    for feed in ("a", "b"):
        body = "".join(
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>Tue, 04 Mar 2025 1{n}:00:00 GMT</pubDate><description>{text}</description></item>"
            for n, (f, title, link, text) in enumerate(items)
            if f == feed
        )
        xml = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire {feed.upper()}</title>{body}</channel></rss>'
        server.add(
            f"/{feed}.xml", xml.encode(), etag='"' + hashlib.sha256(xml.encode()).hexdigest()[:12] + '"'
        )


def write_config(
    tmp_path: Path,
    server: FeedServer,
    store_url: str,
    slack: SlackStub,
    *,
    app_token: str = "",
    name: str = "nw",
) -> Path:
    cfg = tmp_path / f"{name}.yaml"
    extra = f'    app_token: "{app_token}"\n' if app_token else ""
    cfg.write_text(
        f"""
store: {store_url}
max_item_age: null
feeds:
  - {{url: "{server.url("/a.xml")}", name: Wire A, interval: 1s}}
  - {{url: "{server.url("/b.xml")}", name: Wire B, interval: 1s}}
watches:
  - {{name: harbour, query: harbour, channel: "#news"}}
notify:
  jsonl: {tmp_path / f"{name}.jsonl"}
  slack:
    token: "{GOOD_TOKEN}"
    base_url: {slack.base_url}
    min_interval: 0.01s
    signing_secret: "{SECRET}"
{extra}http: {{listen: "127.0.0.1:0"}}
""",
        encoding="utf-8",
    )
    return cfg


def records(tmp_path: Path, name: str = "nw") -> list[dict[str, Any]]:
    path = tmp_path / f"{name}.jsonl"
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    )


def signed(
    payload: dict[str, Any], secret: str = SECRET, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """A form-encoded interactivity request and Slack's headers for it: ``v0=HMAC-SHA256(secret,
    "v0:<timestamp>:<body>")``, as Slack's documentation describes it."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    ts = str(int(time.time() if at is None else at))
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return body, headers


def alerts(slack: SlackStub) -> list[dict[str, Any]]:
    """Top-level messages posted (alerts and digests), in order."""
    return [p for p in slack.posts if "thread_ts" not in p]


def replies(slack: SlackStub) -> list[dict[str, Any]]:
    return [p for p in slack.posts if "thread_ts" in p]


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A message's buttons by action_id."""
    return {
        e["action_id"]: e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
    }


async def until(cond: Callable[[], bool], within: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
