"""Normalisation: canonical URLs, HTML to text, dedupe keys, fingerprints and aggregator title suffixes."""

from __future__ import annotations

import hashlib

import pytest

from newswatch.feeds.text import (
    canonical_url,
    html_to_text,
    item_keys,
    strip_source_suffix,
    text_fingerprint,
)
from newswatch.feeds.text import url_key as text_url_key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://News.Example.COM/World/Talks", "https://news.example.com/World/Talks"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://example.org/a#comments", "https://example.org/a"),
        ("https://example.org", "https://example.org/"),
        (
            "https://example.org/a?utm_source=rss&id=7&utm_medium=feed&fbclid=XYZ&page=2&gclid=1",
            "https://example.org/a?id=7&page=2",
        ),
        ("https://example.org/a?UTM_Campaign=x&b=1", "https://example.org/a?b=1"),
        ("https://example.org/a?z=1&a=2", "https://example.org/a?z=1&a=2"),  # order kept
        ("https://example.org/a?q=a%20b&x=", "https://example.org/a?q=a%20b&x="),  # spelling kept
        ("https://example.org/a?utm_source=x", "https://example.org/a"),
        ("  https://example.org/a  ", "https://example.org/a"),
        ("https://Example.org./a", "https://example.org/a"),
        ("http://[::1]:80/feed", "http://[::1]/feed"),
        ("mailto:desk@example.org", "mailto:desk@example.org"),
        ("", ""),
    ],
)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


def test_canonical_url_resolves_relative_links() -> None:
    base = "https://radio.example.cu/rss/world.xml"
    assert canonical_url("/2025/03/talks?utm_source=rss", base) == "https://radio.example.cu/2025/03/talks"
    assert canonical_url("talks.html", base) == "https://radio.example.cu/rss/talks.html"


def test_same_article_through_aggregator_and_outlet_has_one_url() -> None:
    direct = "https://wire.example.com/world/us-envoy-meets-hamas-officials"
    via_aggregator = (
        "https://WIRE.example.com:443/world/us-envoy-meets-hamas-officials"
        "?utm_source=aggregator&utm_medium=referral&fbclid=IwAR0abc#top"
    )
    assert canonical_url(direct) == canonical_url(via_aggregator)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (
            "<p>Talks <b>resumed</b> in Doha.</p><p>Officials spoke.</p>",
            "Talks resumed in Doha.\nOfficials spoke.",
        ),
        ("Envoy&nbsp;met &amp; spoke &mdash; &#8220;briefly&#8221;", "Envoy met & spoke — “briefly”"),
        ("line one<br>line two<br/>line three", "line one\nline two\nline three"),
        ("<ul><li>first</li><li>second</li></ul>", "first\nsecond"),
        ("<script>alert('x')</script><style>p{}</style>Visible", "Visible"),
        ("<!-- hidden -->Shown", "Shown"),
        ("   spaced \n\n\n   out   ", "spaced\nout"),
        ("no markup at all", "no markup at all"),
        ("a < b and c > d", "a < b and c > d"),
        ("<div><div><p>deep</p></div></div>tail", "deep\ntail"),
        ("", ""),
        ("<p></p>", ""),
        ("<?xml version='1.0' encoding='latin-1'?><p>declared</p>", "declared"),
        ("bad\x00control\x0bchars", "badcontrolchars"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_html_to_text_drops_references_to_control_characters() -> None:
    # lxml refuses to take back a text node holding "\x1b"; such references are never text anyway.
    html = (
        "<p>Bell &#7; red &#27;[31m &#x1B;[2J C1 &#155; &#xD800; &#1114112; ok &#233;&#x41;</p><div>x</div>"
    )
    assert html_to_text(html) == "Bell red [31m [2J C1 ok éA\nx"


def test_html_to_text_deep_nesting() -> None:
    html = "<div>" * 1500 + "core" + "</div>" * 1500
    assert html_to_text(html) == "core"
    # Past libxml2's hard limit the text is lost, but nothing breaks.
    assert isinstance(html_to_text("<div>" * 50_000 + "x"), str)


def test_item_keys() -> None:
    url = "https://example.org/a"
    feed = "https://example.org/feed.xml"
    sha = hashlib.sha256
    url_key = "url:" + sha(url.encode()).hexdigest()
    # A GUID is keyed together with its feed; the canonical URL alone.
    assert item_keys("urn:uuid:1", url, feed) == (
        "guid:" + sha(b"https://example.org/feed.xml\nurn:uuid:1").hexdigest(),
        url_key,
    )
    # Without a GUID the item's own feed's key is of the feed and the URL: a copy in another feed folds into
    # the item through the url: key (issue 21).
    link_key = "link:" + sha(b"https://example.org/feed.xml\nhttps://example.org/a").hexdigest()
    assert item_keys(None, url, feed) == (link_key, url_key)
    assert item_keys("  ", url, feed) == (link_key, url_key)
    assert item_keys("g", "", feed) == ("guid:" + sha(b"https://example.org/feed.xml\ng").hexdigest(),)
    # The same GUID in two feeds is two items; the same URL in two feeds is one.
    other = item_keys("urn:uuid:1", url, "https://other.example/rss")
    assert other[0] != item_keys("urn:uuid:1", url, feed)[0] and other[1] == item_keys(None, url, feed)[1]
    assert item_keys(None, url, "https://other.example/rss")[0] != link_key
    assert url_key == text_url_key(url)


def test_item_keys_end_with_the_feeds_text() -> None:
    """The same feed with the same text is the same report, whatever link token it carries, with no GUID or with
    the link as GUID (issue 21); an opaque GUID is the feed's word that two items are two."""
    feed = "https://example.org/feed.xml"
    fp = text_fingerprint("Talks resume", "In Doha.", "")
    a = item_keys(None, "https://example.org/a?rsskey=101", feed, fp)
    b = item_keys(None, "https://example.org/a?rsskey=102", feed, fp)
    c = item_keys("https://example.org/a?rsskey=103", "https://example.org/a?rsskey=103", feed, fp)
    assert a[-1] == b[-1] == c[-1] == "ftext:" + hashlib.sha256(f"{feed}\n{fp}".encode()).hexdigest()
    assert len({a[0], b[0], c[0]}) == 3
    assert not any(k.startswith("ftext:") for k in item_keys("guid-7", "https://example.org/a", feed, fp))
    # Another feed's same text is another source's report; an empty text is no identity; no link nor GUID: text.
    assert item_keys(None, "https://example.org/a?rsskey=101", "https://other.example/rss", fp)[-1] != a[-1]
    empty = text_fingerprint("", "", "")
    assert not any(k.startswith("ftext:") for k in item_keys(None, "https://example.org/a", feed, empty))
    assert item_keys(None, "", feed, fp) == ("text:" + fp,)


def test_text_fingerprint_ignores_whitespace_only() -> None:
    a = text_fingerprint("US envoy meets Hamas", "Talks in  Doha.", "")
    assert a == text_fingerprint("US envoy meets Hamas", "Talks in\u00a0Doha.\n", "")
    assert a != text_fingerprint("US envoy meets Hamas", "Talks in Cairo.", "")
    assert len(a) == 64


@pytest.mark.parametrize(
    ("title", "source", "expected"),
    [
        ("US confirms direct talks with Hamas – Reuters", "Reuters", "US confirms direct talks with Hamas"),
        ("US confirms direct talks with Hamas - reuters", "Reuters", "US confirms direct talks with Hamas"),
        (
            "US confirms direct talks with Hamas - Reuters",
            "AP News",
            "US confirms direct talks with Hamas - Reuters",
        ),
        ("US confirms direct talks with Hamas – Al Jazeera", None, "US confirms direct talks with Hamas"),
        ("US confirms direct talks with Hamas | example.com", None, "US confirms direct talks with Hamas"),
        ("Talks resume in Doha - what we know", None, "Talks resume in Doha - what we know"),
        ("Gaza – live", None, "Gaza – live"),
        ("No suffix here", None, "No suffix here"),
    ],
)
def test_strip_source_suffix(title: str, source: str | None, expected: str) -> None:
    assert strip_source_suffix(title, source) == expected
