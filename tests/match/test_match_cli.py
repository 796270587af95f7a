"""`newswatch match`: files, feeds and URLs in; per-watch verdicts out, as text and JSON."""

from __future__ import annotations

import http.server
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from newswatch.cli.match import run_match

CONFIG = """
entities:
  us: {name: United States, aliases: ["United States", "US", "U.S.", "Washington"], exclude: ["Washington state"]}
  hamas: {aliases: ["Hamas"]}
watches:
  - name: US–Hamas talks
    query: '@us AND @hamas AND (talks OR negotiat*)'
  - name: Hamas near US
    query: '@hamas NEAR/5 @us'
"""

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test wire</title><link>https://wire.example/</link>
<item><title>U.S. confirms direct talks with Hamas</title><link>https://wire.example/1</link>
<description>&lt;p&gt;The White House said envoys held negotiations.&lt;/p&gt;</description></item>
<item><title>Hamas told us the talks in Cairo continue</title><link>https://wire.example/2</link>
<description>Egyptian mediators hosted the meeting.</description></item>
</channel></rss>
"""


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "newswatch.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return str(path)


def run(config: str, *articles: str, as_json: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    code = run_match(config, list(articles), as_json, out=out)
    return code, out.getvalue()


def test_text_file_match_and_miss_explained(config: str, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Hamas told us about the talks\nMediators in Cairo hosted them.\n", encoding="utf-8")
    code, out = run(config, str(article))
    assert code == 0
    assert "== Hamas told us about the talks" in out
    assert "no match  US–Hamas talks" in out
    assert "failed: @us" in out and "'Hamas' (@hamas) at title word 0" in out


def test_feed_file_gives_one_verdict_block_per_entry(config: str, tmp_path: Path) -> None:
    feed = tmp_path / "wire.xml"
    feed.write_text(RSS, encoding="utf-8")
    code, out = run(config, str(feed), as_json=True)
    assert code == 0
    report = json.loads(out)
    assert [r["title"] for r in report] == [
        "U.S. confirms direct talks with Hamas",
        "Hamas told us the talks in Cairo continue",
    ]
    first = {w["watch"]: w for w in report[0]["watches"]}
    assert first["US–Hamas talks"]["matched"] is True
    assert [t["text"] for t in first["US–Hamas talks"]["terms"]][:3] == ["U.S.", "talks", "Hamas"]
    second = {w["watch"]: w for w in report[1]["watches"]}
    assert second["US–Hamas talks"]["matched"] is False
    assert second["US–Hamas talks"]["failed_clause"] == "@us"


def test_html_file(config: str, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<!doctype html><html><head><title>Envoy meets Hamas</title></head>"
        "<body><p>Washington&nbsp;and Hamas held talks.</p></body></html>",
        encoding="utf-8",
    )
    code, out = run(config, str(page))
    assert code == 0 and "== Envoy meets Hamas" in out and "MATCH  US–Hamas talks" in out


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "story.txt").write_text("US and Hamas resume talks\nIn Doha.\n", encoding="utf-8")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_url_article_and_missing_file(config: str, server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(config, f"{server}/story.txt", "/nonexistent/article.txt", f"{server}/missing.txt")
    assert code == 1
    assert "MATCH  US–Hamas talks" in out
    err = capsys.readouterr().err
    assert "/nonexistent/article.txt: cannot read" in err and "HTTP 404" in err


def test_bad_query_exits_2_with_caret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "watches:\n  - {name: broken, query: '@us AND (talks'}\nentities: {us: {aliases: [US]}}\n"
    )
    code, _ = run(str(path), "x.txt")
    assert code == 2
    assert "^" in capsys.readouterr().err


def test_url_of_an_article_page_is_read_as_full_text_feeds_read_it(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same extraction as a full_text feed's pages: the article, not the page's header and footer.
    page = Path(__file__).parents[1] / "fixtures" / "articles" / "envoy-doha-full.html"
    (tmp_path / "envoy.html").write_bytes(page.read_bytes())
    cfg = tmp_path / "articles.yaml"
    cfg.write_text(
        "watches:\n  - {name: Envoy, query: 'Boehler'}\n  - {name: Footer, query: 'newsletter'}\n",
        encoding="utf-8",
    )
    code, out = run(str(cfg), f"{server}/envoy.html", as_json=True)
    assert code == 0, capsys.readouterr().err
    (report,) = json.loads(out)
    assert report["title"] == "US envoy meets Hamas officials in Doha – The Gulf Courier"
    verdicts = {w["watch"]: w["matched"] for w in report["watches"]}
    assert verdicts == {"Envoy": True, "Footer": False}
