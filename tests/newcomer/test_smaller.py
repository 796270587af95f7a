"""The smaller rough edges of a first hour, each fixed and shown: check's one-pass report, capitals in aliases,
appendable OPML output, `match | head`, an HTML page that advertises its feed, Slack snippets and thread
replies, a webhook and a watch's channel."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest

from newswatch.cli import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS, main
from newswatch.config import ConfigError, load_config
from newswatch.delivery.notify.slackblocks import build_message, build_update
from newswatch.feeds.parse import parse_feed
from tests.feedserver import FeedServer
from tests.newcomer.helpers import records, rss

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_lists_every_unset_variable_in_one_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write(tmp_path, "notify:\n  slack: {token: '${NW_TOKEN}', channel: '${NW_CHANNEL}'}\n"
                          "  webhook: {url: 'https://hooks.example/${NW_HOOK}'}\n")  # fmt: skip
    assert main(["check", "-c", str(cfg)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert all(f"environment variable {v} is not set" in err for v in ("NW_TOKEN", "NW_CHANNEL", "NW_HOOK"))
    with pytest.raises(ConfigError, match="NW_CHANNEL"):
        load_config(cfg, environ={"NW_TOKEN": "x", "NW_HOOK": "y"})


def test_check_fails_on_a_stories_weights_file_that_cannot_be_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write(tmp_path, "stories: {weights: missing-weights.json}\n")
    assert main(["check", "-c", str(cfg)]) == EXIT_PROBLEMS
    captured = capsys.readouterr()
    assert "config OK" not in captured.out
    assert f"stories.weights: {tmp_path / 'missing-weights.json'}" in captured.err


def test_check_warns_about_capitalised_aliases_and_a_webhooks_channels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write(
        tmp_path,
        """
entities:
  boeing: {aliases: ["737 MAX 9", "Boeing", {text: "737 MAX 8", case_sensitive: true}]}
  us: {aliases: ["US", "U.S.", "United States"]}
  un: {aliases: ["UN SECURITY COUNCIL"]}
watches:
  - {name: max9, query: '@boeing', channel: "#aviation"}
  - {name: world, query: '@us OR @un', digest: daily}
notify: {slack_webhook: "https://hooks.example/T/B/x"}
""",
    )
    assert main(["check", "-c", str(cfg)]) == EXIT_OK  # warnings, not errors
    out = capsys.readouterr().out
    warnings = out.split("warnings:\n")[1].split("config OK")[0].splitlines()
    # "737 MAX 9", "UN SECURITY COUNCIL" and the channel; never US, U.S. nor an alias whose case was chosen
    assert len(warnings) == 3, out
    assert "'737 MAX 9' is in capitals, so it matches only in capitals ('737 Max 9' would not match)" in out
    assert "case_sensitive: false" in out and "@un: alias 'UN SECURITY COUNCIL'" in out
    assert "watch 'max9': channel '#aviation' is not used: an incoming webhook" in out
    assert "world: @us OR @un  (daily digest, sent at 00:00 UTC" in out


def test_match_says_an_alias_differs_only_in_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write(
        tmp_path,
        "entities:\n  boeing: {aliases: ['737 MAX 9']}\nwatches:\n  - {name: max9, query: '@boeing'}\n",
    )
    article = write(
        tmp_path, "Alaska Airlines grounds its 737 Max 9 jets\nAfter a door plug blew out.\n", "a.txt"
    )
    assert main(["match", "-c", str(cfg), str(article)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "'737 MAX 9' differs only in case from the item's '737 Max 9'" in out
    shouting = write(
        tmp_path, "ALASKA GROUNDS 737 MAX 9 JETS\n", "b.txt"
    )  # same case: the hint would be wrong
    main(["match", "-c", str(cfg), str(shouting)])
    assert "differs only in case" not in capsys.readouterr().out


def test_import_opml_append_goes_under_an_existing_feeds_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opml = write(tmp_path, '<opml version="2.0"><body><outline text="Wire" xmlUrl="https://wire.example/rss"/>'
                           "</body></opml>", "x.opml")  # fmt: skip
    cfg = write(tmp_path, "watches: []\nfeeds:\n  - {url: https://first.example/rss}\n")
    assert main(["import-opml", "--append", str(opml)]) == EXIT_OK
    with cfg.open("a", encoding="utf-8") as fh:
        fh.write(capsys.readouterr().out)  # `newswatch import-opml --append x.opml >> cfg.yaml`
    assert [f.url for f in load_config(cfg).config.feeds] == [
        "https://first.example/rss",
        "https://wire.example/rss",
    ]


def test_match_piped_into_head_ends_without_a_traceback(tmp_path: Path) -> None:
    cfg = write(tmp_path, "watches:\n  - {name: everything, query: '*'}\n")
    feed = write(tmp_path, rss("Big", [{"title": f"Item {i} " + "words " * 40, "link": f"https://x.example/{i}"}
                                       for i in range(600)]), "big.xml")  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "newswatch.cli", "match", "-c", str(cfg), str(feed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"== Item 0")
    proc.stdout.close()  # what `head -1` does once it has its line
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipeError" not in err


async def test_an_html_page_that_advertises_its_feed_is_followed(tmp_path: Path, store_url: str) -> None:
    async with FeedServer() as server:
        server.html("/news/", '<!DOCTYPE html><html><head><title>Wire</title>'
                    '<link rel="alternate" type="application/atom+xml" href="/atom.xml">'
                    '<link rel="alternate" type="application/rss+xml" title="RSS" href="/feeds/all.rss">'
                    "</head><body><p>Front page</p></body></html>")  # fmt: skip
        server.add(
            "/feeds/all.rss", rss("Wire", [{"title": "Direct talks begin", "link": "https://wire.example/1"}])
        )
        cfg = write(tmp_path, f"store: {store_url}\nfeeds: [{{url: '{server.url('/news/')}'}}]\n"
                              "watches: [{name: talks, query: talks}]\nnotify: {jsonl: alerts.jsonl}\n")  # fmt: skip
        assert await asyncio.to_thread(main, ["run", "-c", str(cfg), "--once"]) == EXIT_OK
        assert [r["url"] for r in records(tmp_path / "alerts.jsonl")] == ["https://wire.example/1"]
        assert await asyncio.to_thread(main, ["run", "-c", str(cfg), "--once"]) == EXIT_OK
        assert server.hits["/news/"] == 1 and server.hits["/feeds/all.rss"] == 2  # then polled directly
        assert server.hits["/atom.xml"] == 0  # RSS first


def test_slack_snippet_does_not_repeat_the_title_nor_bold_most_words() -> None:
    title = "US and Hamas hold direct talks in Doha"
    snippet = f"{title}. US envoy Adam Boehler said the US and Hamas talks on US hostages went well."
    hits = sorted([m.start(), m.end()] for m in re.finditer(r"\b(?:US|Hamas|talks)\b", snippet))
    record = {"title": title, "url": "https://x.example/1", "source": "Wire", "watch": "talks",
              "published": None, "snippet": snippet, "_snippet_hits": hits}  # fmt: skip
    quote = build_message(record).blocks[2]["text"]["text"]
    assert quote.startswith(">*US* envoy Adam Boehler")  # the title is the line above
    assert quote.count("*") == 6  # three words in bold: US, Hamas, talks, once each
    assert "said the US and" in quote and "on US hostages" in quote  # each word in bold once


def test_a_thread_reply_names_the_articles_outlet_not_the_aggregator() -> None:
    from datetime import UTC, datetime

    parsed = parse_feed(
        (FIXTURES / "aggregator.xml").read_bytes(), "https://agg.example/rss", "NewsHub", datetime.now(UTC)
    )
    [item] = parsed.items
    assert item.source == "Tehran World Service"  # the entry's <source>, not the feed's name
    reply = build_update({"title": item.title, "url": item.url, "source": item.source, "published": None})
    assert reply.text.startswith("Also reported by *Tehran World Service* — ")
