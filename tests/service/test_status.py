"""The status pages (http.status) on both stores: the seeds' story with its outlets in order, escaped; the
reason and possibly-related fields of the story decision; feeds, mutes, outbox; the token."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import aiohttp
import pytest

from newswatch.store import Sighted, Sighting, Store, WatchClaim, open_store
from newswatch.stories import BatchStories, default_model
from tests.service.statusfixture import W1, seed, serve

TOKEN = "status-token-0123456789"


def cells(html: str, css: str) -> list[str]:
    return [
        unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(rf'<td class="{css}">(.*?)</td>', html, re.S)
    ]


async def get(server_url: str, path: str, **kw: object) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(server_url + path, **kw) as resp:  # type: ignore[arg-type]
        return resp.status, await resp.text()


async def test_the_seeds_story_with_its_outlets_in_order_escaped(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = await seed(tmp_path, store_url, monkeypatch)
    story = seeded.story_of(W1)
    expected = seeded.outlets_in_order(story)
    assert len(expected) >= 5  # the guide's story: at least five outlets carried it
    store = open_store(store_url)
    server = await serve(store, seeded.loaded)
    base = str(server.make_url(""))
    try:
        status, index = await get(base, "/")
        assert status == 200
        assert f'href="/stories/{story}"' in index
        for watch in (W1, "Gaza aid blockade"):
            assert watch in unescape(index)
        status, page = await get(base, f"/stories/{story}")
        assert status == 200
        assert list(dict.fromkeys(cells(page, "outlet"))) == expected
        assert "<svg" in page and page.count("<circle") == len(cells(page, "outlet"))
        assert "opened the story" in page and "joined" in page
        # What feeds wrote is text on every page, never markup.
        for html in (index, page):
            assert "<script" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index + page
        status, feeds = await get(base, "/feeds")
        assert status == 200 and "<script" not in feeds and "&lt;script&gt;" in feeds
        assert "Tehran World Service" in feeds and ">ok<" in feeds
        for path in ("/mutes", "/outbox"):
            status, html = await get(base, path)
            assert status == 200
        assert (await get(base, "/stories/s-nosuchstory"))[0] == 404
    finally:
        await server.close()
        await store.close()


STORIES = BatchStories({}, default_model())


async def _record(store: Store, n: int, record: dict[str, object], features: bool = False) -> None:
    sighting = Sighting((f"guid:x{n}",), f"fp{n}", 10, 3600.0, 1_741_000_000.0 + n)
    await store.record([Sighted(sighting, (WatchClaim("w", ("jsonl",), record, None),))], STORIES.fresh())


async def test_reason_and_related_are_shown(tmp_path: Path, store: Store) -> None:
    """The story decision's one-line reason and its possibly-related story (fields of the parallel story
    rewrite: read with .get, shown when present), escaped."""
    from newswatch.config import Config

    related = {"story": "s-0123456789abcdef", "title": "Earlier: <b>Hamas</b> talks in Cairo",
               "url": "https://news.example/cairo"}  # fmt: skip
    record = {"event": None, "watch": "w", "story": None, "title": "New <i>talks</i>", "url": "javascript:alert(1)",
              "source": "Outlet & Co", "published": "2025-03-05T10:00:00+00:00", "matched": ["talks"],
              "at": "2025-03-05T10:00:00+00:00", "reason": "new story: nothing within 48h shares 2 names <x>",
              "related": related}  # fmt: skip
    await _record(store, 1, record)
    story = (await store.recent_stories("w", 5))[0]["story"]
    cfg = Config.model_validate({"watches": [{"name": "w", "query": "talks"}]})

    class Loaded:
        config = cfg

    server = await serve(store, Loaded)  # type: ignore[arg-type]
    try:
        status, page = await get(str(server.make_url("")), f"/stories/{story}")
    finally:
        await server.close()
    assert status == 200
    assert "new story: nothing within 48h shares 2 names &lt;x&gt;" in page
    assert "possibly related" in page
    assert (
        'href="/stories/s-0123456789abcdef"' in page
        and "Earlier: &lt;b&gt;Hamas&lt;/b&gt; talks in Cairo" in page
    )
    assert 'href="https://news.example/cairo"' in page
    assert "javascript:" not in page  # a link from a feed is used only when it is http(s)
    assert "Outlet &amp; Co" in page and "New &lt;i&gt;talks&lt;/i&gt;" in page


async def test_the_token_guards_every_page(tmp_path: Path, store: Store) -> None:
    from newswatch.config import Config

    class Loaded:
        config = Config.model_validate({"watches": [{"name": "w", "query": "talks"}]})

    server = await serve(store, Loaded, token=TOKEN)  # type: ignore[arg-type]
    base = str(server.make_url(""))
    try:
        for path in ("/", "/feeds", "/mutes", "/outbox", "/stories/s-x"):
            assert (await get(base, path))[0] == 401
            assert (await get(base, path + "?token=wrong-token-0123456789"))[0] == 401
        status, _ = await get(base, "/", headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        status, html = await get(base, f"/feeds?token={TOKEN}")
        assert status == 200
        assert f'href="/outbox?token={TOKEN}"' in html  # a browser's links keep the token
    finally:
        await server.close()


async def test_run_serves_the_pages_only_with_http_status(tmp_path: Path) -> None:
    from newswatch.app import open_app
    from newswatch.config import load_config

    for status in (True, False):
        cfg = tmp_path / f"c{status}.yaml"
        cfg.write_text(
            f"""
store: sqlite:///{tmp_path / "state.db"}
workers: 0
watches: [{{name: w, query: talks}}]
http: {{listen: "127.0.0.1:0", status: {str(status).lower()}, token: {TOKEN}}}
""",
            encoding="utf-8",
        )
        async with open_app(load_config(cfg)) as app:
            assert app.ops is not None
            code, html = await get(app.ops.url, f"/?token={TOKEN}")
            assert code == (200 if status else 404)
            assert (await get(app.ops.url, "/"))[0] == (401 if status else 404)
            if status:
                assert "<h2" in html and ">w<" in html


def test_http_status_needs_a_listen_address(tmp_path: Path) -> None:
    from newswatch.config import ConfigError, load_config

    cfg = tmp_path / "c.yaml"
    cfg.write_text("watches: [{name: w, query: talks}]\nhttp: {status: true}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c.yaml:2: http.status: needs http.listen"):
        load_config(cfg)
