"""The seeds' story for the status page tests: ``config/example.yaml`` run once on its bundled sample feeds,
plus one hostile feed whose title and item carry ``<script>``, in a copy of the config under ``tmp_path``."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from newswatch.cli import run
from newswatch.config import LoadedConfig, load_config
from newswatch.service.status import StatusPages
from newswatch.store import Store

ROOT = Path(__file__).parents[2]
W1 = "US–Hamas talks"
HOSTILE_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>&lt;script&gt;alert("feed")&lt;/script&gt; Wire</title>
<link>https://hostile.example/</link>
<item>
  <title>&lt;script&gt;alert(1)&lt;/script&gt; US envoy held direct talks with Hamas, White House says</title>
  <link>https://hostile.example/2025/03/06/us-hamas-talks</link>
  <pubDate>Thu, 06 Mar 2025 09:00:00 +0000</pubDate>
  <description>The White House said a US envoy held direct talks with Hamas in Doha about American captives in Gaza.</description>
</item>
</channel></rss>
"""


@dataclass
class Seeded:
    loaded: LoadedConfig
    records: list[dict[str, Any]]

    def story_of(self, watch: str) -> str:
        """The story of the watch with the most outlets (the seeds' one story)."""
        by_story: dict[str, set[str]] = {}
        for r in self.records:
            if r["watch"] == watch:
                by_story.setdefault(r["story"], set()).add(r["source"])
        return max(by_story, key=lambda s: len(by_story[s]))

    def outlets_in_order(self, story: str) -> list[str]:
        return list(dict.fromkeys(r["source"] for r in self.records if r["story"] == story))


async def seed(tmp_path: Path, store_url: str, monkeypatch: Any, *, hostile: bool = True) -> Seeded:
    """Run the example config once (its own feeds, the hostile one, a JSONL file of what was queued)."""
    shutil.copytree(ROOT / "config" / "feeds", tmp_path / "feeds")
    text = (ROOT / "config" / "example.yaml").read_text(encoding="utf-8")
    text = text.replace("  # jsonl: alerts.jsonl", "  jsonl: alerts.jsonl  #")
    if hostile:
        (tmp_path / "feeds" / "hostile.xml").write_text(HOSTILE_FEED, encoding="utf-8")
        text = text.replace("feeds:\n", "feeds:\n  - {url: feeds/hostile.xml, interval: 5m}\n", 1)
    cfg = tmp_path / "example.yaml"
    cfg.write_text(text, encoding="utf-8")
    monkeypatch.setenv("NEWSWATCH_STORE", store_url)
    loaded = load_config(cfg)
    assert await run(loaded, once=True) == 0
    lines = (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    return Seeded(loaded, [json.loads(line) for line in lines])


async def serve(store: Store, loaded: LoadedConfig, token: str | None = None) -> TestServer:
    """The status pages on a real local HTTP server (the caller closes it)."""
    app = web.Application()
    for method, path, handler in StatusPages(store, lambda: loaded.config, token).routes():
        app.router.add_route(method, path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server
