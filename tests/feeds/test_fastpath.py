"""The lxml fast path gives exactly the items feedparser gives, and steps aside whenever it is in doubt.

Every comparison runs ``parse_feed`` twice over the same bytes, once with the fast path and once with
feedparser only, and asserts equal results (title, items, ttl, warning) or the same error.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswatch.feeds.fastpath import read_feed
from newswatch.feeds.parse import FeedParseError, ParsedFeed, parse_feed

ROOT = Path(__file__).parents[2]
NOW = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
FEED_URL = "https://feeds.example.org/section/rss.xml"


def outcome(body: bytes, *, fast: bool, content_type: str | None = None) -> ParsedFeed | str:
    try:
        return parse_feed(body, FEED_URL, None, NOW, content_type=content_type, fast=fast)
    except FeedParseError as exc:
        return f"FeedParseError: {exc}"


def fast_path_taken(body: bytes, charset: str = "utf-8") -> bool:
    return read_feed(body, charset) is not None


def assert_same(body: bytes, content_type: str | None = None) -> None:
    reference = outcome(body, fast=False, content_type=content_type)
    fast = outcome(body, fast=True, content_type=content_type)
    if isinstance(reference, ParsedFeed) and isinstance(fast, ParsedFeed):
        assert fast.title == reference.title
        assert fast.ttl == reference.ttl
        assert fast.warning == reference.warning
        for a, b in zip(fast.items, reference.items, strict=True):
            assert a == b
    assert fast == reference


# --------------------------------------------------------------------------------------------------------------
# Every feed document the project has


FILE_FEEDS = sorted(
    [*(ROOT / "tests" / "fixtures" / "feeds").iterdir(), *(ROOT / "config" / "feeds").iterdir()]
)


@pytest.mark.parametrize("path", FILE_FEEDS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_files_give_identical_items(path: Path) -> None:
    assert_same(path.read_bytes())


def test_fixture_files_take_the_fast_path() -> None:
    """Otherwise the comparisons above would prove nothing: only the Latin-1 feed goes to feedparser."""
    slow = [p.name for p in FILE_FEEDS if not fast_path_taken(p.read_bytes())]
    assert slow == ["latin1.xml"]


def _inline_documents() -> list[bytes]:
    """Every string or bytes literal in tests/feeds/test_parse.py that looks like a feed document."""
    tree = ast.parse((ROOT / "tests" / "feeds" / "test_parse.py").read_text(encoding="utf-8"))
    docs: list[bytes] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            value = node.value.encode("utf-8") if isinstance(node.value, str) else node.value
            if any(marker in value for marker in (b"<rss", b"<feed", b"<rdf", b"<?xml", b"<channel")):
                docs.append(value)
    return docs


INLINE = _inline_documents()


def test_inline_fixtures_were_found() -> None:
    assert len(INLINE) >= 15
    assert sum(fast_path_taken(d) for d in INLINE) >= 5


@pytest.mark.parametrize("body", INLINE, ids=[f"test_parse-{i}" for i in range(len(INLINE))])
def test_inline_fixtures_of_test_parse_give_identical_items(body: bytes) -> None:
    assert_same(body)


# --------------------------------------------------------------------------------------------------------------
# Edge cases of the values feedparser rewrites


def rss(items: str, channel: str = "<title>Example</title>", ns: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
        f'xmlns:media="http://search.yahoo.com/mrss/" {ns}>\n<channel>{channel}\n{items}\n</channel></rss>'
    ).encode()


def atom(entries: str, head: str = "<title>Example</title>") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom">{head}\n{entries}\n</feed>'
    ).encode()


FAST_CASES = {
    "entities and markup in titles": rss(
        "<item><title>A &amp; B</title><link>https://e.example/1</link></item>"
        "<item><title>Tom &amp;amp; Jerry</title><link>https://e.example/2</link></item>"
        "<item><title>&lt;b&gt;Bold&lt;/b&gt; move</title><link>https://e.example/3</link></item>"
        "<item><title><![CDATA[<em>Hi</em> there]]></title><link>https://e.example/4</link></item>"
        "<item><title>5 &lt; 6 &amp;&amp; 7 &gt; 2</title><link>https://e.example/5</link></item>"
        "<item><title>&lt;/blink&gt; unknown tag &amp;bogus;</title><link>https://e.example/6</link></item>"
        "<item><title>  spaced\n   out \n</title><link>https://e.example/7</link></item>"
        "<item><title></title><link>https://e.example/8</link></item>"
    ),
    "mojibake and C1 characters are repaired as feedparser does": rss(
        "<item><title>CafÃ© talks \u0080 \u0093quoted\u0094</title><link>https://e.example/1</link>"
        "<description>NÃ©gociations \u0085</description></item>"
        "<item><title>Ünïcödé stays</title><link>https://e.example/2</link></item>"
    ),
    "links: ampersands, whitespace, slashes, relative, odd schemes": rss(
        "<item><title>a</title><link>https://e.example/a?x=1&amp;y=2</link></item>"
        "<item><title>b</title><link>https://e.example/a?x=1&amp;amp;y=2&amp;z;=3</link></item>"
        "<item><title>c</title><link>  https://e.example/ws  </link></item>"
        "<item><title>d</title><link>http:////e.example/extra-slashes</link></item>"
        "<item><title>e</title><link>/relative/path#frag</link></item>"
        "<item><title>f</title><link>mailto:x@example.com</link></item>"
        "<item><title>g</title><link>javascript:alert(1)</link></item>"
        "<item><title>h</title><link></link><guid>https://e.example/from-guid</guid></item>"
        "<item><title>i</title><link>https://E.Example:443/p?utm_source=x&amp;id=4#top</link></item>"
    ),
    "guid as link, in either order, permalink or not": rss(
        "<item><title>a</title><guid>https://e.example/g1</guid></item>"
        "<item><title>b</title><guid>abc-1</guid></item>"
        '<item><title>c</title><guid isPermaLink="false">https://e.example/g3</guid></item>'
        '<item><title>d</title><guid isPermaLink="False">https://e.example/g4</guid></item>'
        "<item><title>e</title><guid>https://e.example/g5</guid><link>https://e.example/l5</link></item>"
        "<item><title>f</title><link>https://e.example/l6</link><guid>https://e.example/g6</guid></item>"
        '<item><title>g</title><guid isPermaLink="true">tag:e.example,2025:7</guid></item>'
        "<item><guid>https://e.example/g8</guid></item>"
        "<item><title>dup</title><guid>same</guid></item><item><title>dup2</title><guid>same</guid></item>"
    ),
    "summary and content in every combination": rss(
        "<item><title>a</title><link>https://e.example/1</link>"
        "<description>&lt;p&gt;Para &lt;b&gt;one&lt;/b&gt;&lt;/p&gt;</description></item>"
        "<item><title>b</title><link>https://e.example/2</link>"
        "<content:encoded><![CDATA[<div>Full <i>text</i></div>]]></content:encoded></item>"
        "<item><title>c</title><link>https://e.example/3</link><description>Short</description>"
        "<content:encoded><![CDATA[<p>Long text</p>]]></content:encoded></item>"
        "<item><title>d</title><link>https://e.example/4</link>"
        "<content:encoded><![CDATA[<p>Long text</p>]]></content:encoded><description>Short</description></item>"
        "<item><title>e</title><link>https://e.example/5</link><description>Plain 5 < 6 text</description></item>"
        "<item><title>f</title><link>https://e.example/6</link><description></description></item>"
    ).replace(b"5 < 6", b"5 &lt; 6"),
    "dates in many forms": rss(
        "<item><title>a</title><link>https://e.example/1</link><pubDate>Wed, 05 Mar 2025 18:30:00 -0500</pubDate></item>"
        "<item><title>b</title><link>https://e.example/2</link><pubDate>Thu, 06 Mar 2025 07:00:00 IST</pubDate></item>"
        "<item><title>c</title><link>https://e.example/3</link><dc:date>2025-03-06T08:15:00+01:00</dc:date></item>"
        "<item><title>d</title><link>https://e.example/4</link><pubDate>2025-03</pubDate></item>"
        "<item><title>e</title><link>https://e.example/5</link><pubDate>garbage</pubDate></item>"
        "<item><title>f</title><link>https://e.example/6</link><pubDate>2031-01-01T00:00:00Z</pubDate></item>"
        "<item><title>g</title><link>https://e.example/7</link><pubDate></pubDate></item>"
        "<item><title>h</title><link>https://e.example/8</link><pubDate>nonsense</pubDate>"
        "<dc:date>2025-03-01T00:00:00Z</dc:date></item>"
        "<item><title>i</title><link>https://e.example/9</link><pubDate>2025-03-05</pubDate></item>"
    ),
    "aggregator source and ignored extras": rss(
        "<item><title>Talks resume – Reuters</title><link>https://agg.example/r?url=x&amp;utm_medium=rss</link>"
        '<source url="https://reuters.example/rss">Reuters</source><category>World</category>'
        "<author>desk@example.com (Desk)</author><dc:creator>Jane</dc:creator><comments>https://e.example/c</comments>"
        '<enclosure url="https://e.example/a.mp3" length="1" type="audio/mpeg"/>'
        '<media:content url="https://e.example/p.jpg"><media:credit>AP</media:credit></media:content>'
        '<media:thumbnail url="https://e.example/t.jpg"/></item>'
        "<item><title>Empty source</title><link>https://e.example/2</link><source/></item>"
    ),
    "channel ttl, image and self link": rss(
        "<item><title>a</title><link>https://e.example/1</link></item>",
        channel="<image><url>https://e.example/logo.png</url><title>Logo title</title><link>https://e.example/</link></image>"
        '<title>Radio &amp; TV</title><atom:link rel="self" href="https://e.example/rss"/><ttl> 45 </ttl>'
        "<link>https://e.example/</link><description>About</description><lastBuildDate>Wed, 05 Mar 2025 18:30:00 GMT</lastBuildDate>",
    ),
    "syndication module period": rss(
        "<item><title>a</title><link>https://e.example/1</link></item>",
        channel="<title>T</title><sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>",
        ns='xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"',
    ),
    "no channel title, title that looks like HTML": rss(
        "<item><title>x</title><link>https://e.example/1</link></item>",
        channel="<title>News &amp;amp; views &lt;i&gt;daily&lt;/i&gt;</title>",
    ),
    "empty feed": rss(""),
    "atom: links, ids, types": atom(
        '<entry><title type="html">Envoy &lt;em&gt;talks&lt;/em&gt;</title>'
        '<link rel="alternate" href="https://w.example/1"/><link rel="enclosure" href="https://w.example/p.jpg"/>'
        "<id>tag:w.example,2025:1</id><updated>2025-03-06T09:00:00+01:00</updated>"
        "<summary>Plain 5 &lt; 6 summary</summary></entry>"
        "<entry><title>Only an id</title><id>https://w.example/2</id></entry>"
        "<entry><title>Id first</title><id>https://w.example/id3</id>"
        '<link href="https://w.example/3"/></entry>'
        '<entry><title>Self and related</title><link rel="self" href="https://w.example/self"/>'
        '<link rel="related" href="https://w.example/rel"/><id>tag:x</id></entry>'
        '<entry><title>Two alternates</title><link href="https://w.example/a1" type="text/html"/>'
        '<link href="https://w.example/a2" type="application/pdf"/><link href="https://w.example/a3"/></entry>'
        '<entry><title type="text">T &amp; text</title><link href="/relative"/>'
        '<content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry>'
        '<entry><title>Text content</title><link href="https://w.example/6"/>'
        '<content type="text">Plain &lt;b&gt; text\n  with lines</content></entry>'
        '<entry><title>Both</title><link href="https://w.example/7"/><content type="html">&lt;p&gt;Long&lt;/p&gt;</content>'
        "<summary>Short</summary><published>2025-03-05T10:00:00Z</published></entry>"
        '<entry xml:lang="en"><title xml:lang="en">Lang</title><link href="https://w.example/8"/>'
        "<author><name>N</name><uri>https://w.example/n</uri></author><category term='x'/></entry>"
    ).replace(b"<entry xml:lang", b"<entry xml:lang"),
    "atom: xhtml content, title and summary": atom(
        '<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">X <b>bold</b> title</div></title>'
        '<link href="https://w.example/1"/><summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        "<p>One</p><p>Two &amp; three</p></div></summary>"
        '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>A<br/>B</p><ul><li>x</li><li>y</li></ul>'
        "<script>evil()</script><p>5 &lt; 6</p></div></content></entry>"
        '<entry><title>No wrapper div</title><link href="https://w.example/2"/>'
        '<content type="xhtml"><p xmlns="http://www.w3.org/1999/xhtml">First</p>'
        '<p xmlns="http://www.w3.org/1999/xhtml">Second</p></content></entry>'
        '<entry><title>Prefixed</title><link href="https://w.example/3"/>'
        '<content type="xhtml"><h:div xmlns:h="http://www.w3.org/1999/xhtml"><h:p>Pre</h:p><h:p>fixed</h:p></h:div>'
        "</content></entry>"
    ),
    "atom: feed title types": atom(
        "<entry><title>x</title><link href='https://w.example/1'/></entry>",
        head='<title type="html">Wire &lt;b&gt;Example&lt;/b&gt;</title><subtitle>s</subtitle>'
        '<link rel="self" href="https://w.example/feed"/><id>https://w.example/</id><updated>2025-03-06T09:00:00Z</updated>',
    ),
}


@pytest.mark.parametrize("body", FAST_CASES.values(), ids=FAST_CASES.keys())
def test_edge_cases_take_the_fast_path_and_agree(body: bytes) -> None:
    assert fast_path_taken(body)
    assert_same(body)


DOUBT_CASES = {
    "xml:base": rss('<item xml:base="https://b.example/"><title>a</title><link>/x</link></item>'),
    "base on an inner element": atom(
        '<entry><title>a</title><link xml:base="https://b.example/d/" href="x"/></entry>'
    ),
    "DOCTYPE": b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://my.netscape.com/publish/formats/rss-0.91.dtd">'
    b'<rss version="2.0"><channel><title>T</title></channel></rss>',
    "RSS 0.91": b'<rss version="0.91"><channel><title>T</title><item><title>a</title></item></channel></rss>',
    "RDF": b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
    b'<channel rdf:about="x"><title>T</title></channel><item rdf:about="https://e.example/1"><title>a</title>'
    b"<link>https://e.example/1</link></item></rdf:RDF>",
    "unknown namespace": rss(
        "<item><title>a</title><x:thing>1</x:thing></item>", ns='xmlns:x="https://unknown.example/ns"'
    ),
    "prefix of a known module bound elsewhere": rss(
        "<item><title>a</title><link>https://e.example/1</link></item>",
        ns='xmlns:slash="https://not-slash.example/"',
    ),
    "repeated title": rss("<item><title>a</title><title>b</title></item>"),
    "repeated description": rss(
        "<item><title>a</title><description>x</description><description>y</description></item>"
    ),
    "media description competes for the summary": rss(
        "<item><title>a</title><media:content><media:description>m</media:description></media:content>"
        "<description>d</description></item>"
    ),
    "atom link in an RSS item": rss('<item><title>a</title><atom:link href="https://e.example/1"/></item>'),
    "markup inside a title": rss("<item><title>a <b>b</b></title></item>"),
    "title with a type attribute": rss('<item><title type="html">a</title></item>'),
    "item attributes": rss('<item rdf:about="x"><title>a</title></item>'),
    "atom content by reference": atom('<entry><title>a</title><content src="https://e.example/c"/></entry>'),
    "atom base64 content": atom('<entry><title>a</title><content type="image/png">AAAA</content></entry>'),
    "atom source": atom("<entry><title>a</title><source><title>S</title></source></entry>"),
    "atom link without href": atom("<entry><title>a</title><link>https://e.example/1</link></entry>"),
    "xhtml outside the xhtml namespace": atom(
        '<entry><title>a</title><content type="xhtml"><div><p>x</p></div></content></entry>'
    ),
    "svg in xhtml": atom(
        '<entry><title>a</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        '<svg xmlns="http://www.w3.org/2000/svg"><title>t</title></svg></div></content></entry>'
    ),
    "Atom 0.3": b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>T</title></feed>',
    "XML 1.1": b'<?xml version="1.1"?><rss version="2.0"><channel><title>T</title></channel></rss>',
    "Latin-1 declared": rss("<item><title>Caf\xe9</title></item>").replace(b"utf-8", b"iso-8859-1"),
    "undefined entity": rss("<item><title>a&nbsp;b</title></item>"),
    "malformed": rss("<item><title>a</title>"),
    "textinput in the channel": rss(
        "<item><title>a</title></item>",
        channel="<title>T</title><textInput><title>Search</title></textInput>",
    ),
    "empty channel title": rss("<item><title>a</title></item>", channel="<title></title>"),
}


@pytest.mark.parametrize("body", DOUBT_CASES.values(), ids=DOUBT_CASES.keys())
def test_documents_in_doubt_go_to_feedparser_and_still_agree(body: bytes) -> None:
    assert not fast_path_taken(body)
    assert_same(body)


@pytest.mark.parametrize(
    ("charset", "taken"),
    [("utf-8", True), ("UTF-8", True), ("us-ascii", True), ("windows-1252", False), (None, False)],
)
def test_only_utf8_and_ascii_take_the_fast_path(charset: str | None, taken: bool) -> None:
    assert (read_feed(rss("<item><title>a</title></item>"), charset) is not None) is taken


def test_http_charset_that_differs_from_the_document_goes_to_feedparser() -> None:
    body = rss("<item><title>Caf\xe9</title><link>https://e.example/1</link></item>").replace(
        b'<?xml version="1.0" encoding="utf-8"?>', b""
    )
    for content_type in ("application/rss+xml; charset=iso-8859-1", "text/xml", None):
        assert_same(body, content_type)


def test_hostile_documents_never_reach_the_fast_path(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]><rss version="2.0"><channel><title>&x;</title></channel></rss>'
    laughs = '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><rss version="2.0"><channel><title>&b;</title></channel></rss>'
    for doc in (xxe, laughs):
        assert read_feed(doc.encode(), "utf-8") is None
        with pytest.raises(FeedParseError, match="entity declarations"):
            parse_feed(doc.encode(), FEED_URL, None, NOW)
    # An entity reference without any declaration is an XML error for lxml: feedparser decides.
    assert read_feed(rss(f"<item><title>&x;{secret}</title></item>"), "utf-8") is None


# --------------------------------------------------------------------------------------------------------------
# Generated documents: any mix of the tricky values above, in any order

TEXTS = [
    "Plain words",
    "A &amp; B",
    "Tom &amp;amp; Jerry",
    "&lt;b&gt;Bold&lt;/b&gt; move",
    "<![CDATA[<em>Hi</em> & bye]]>",
    "5 &lt; 6",
    "CafÃ© \u0080 \u0093q\u0094",
    "Négociations à Doha",
    "США и ХАМАС",
    "  spaced\n  out ",
    "",
    "&lt;p&gt;Para&lt;/p&gt;&lt;p&gt;Two&lt;/p&gt;",
    "Talks resume - Reuters",
    "&amp;#8217;quoted&amp;#8217; &amp;nbsp;",
    "&lt;/blink&gt; &amp;bogus;",
]
LINKS = [
    "https://e.example/a?x=1&amp;y=2",
    "https://e.example/a?x=1&amp;amp;y=2&amp;z;=3",
    "/relative/path#frag",
    "http:////e.example/slashes",
    "  https://e.example/ws  ",
    "",
    "mailto:x@example.com",
    "https://E.Example:443/p?utm_source=x&amp;id=4#top",
    "abc-1",
    "tag:e.example,2025:1",
]
DATES = [
    "Wed, 05 Mar 2025 18:30:00 -0500",
    "Thu, 06 Mar 2025 07:00:00 IST",
    "2025-03-06T08:15:00+01:00",
    "2025-03",
    "garbage",
    "2031-01-01T00:00:00Z",
    "",
    "2025-03-05",
]


@st.composite
def rss_items(draw: st.DrawFn) -> str:
    parts: list[str] = []
    if draw(st.booleans()):
        parts.append(f"<title>{draw(st.sampled_from(TEXTS))}</title>")
    if draw(st.booleans()):
        parts.append(f"<link>{draw(st.sampled_from(LINKS))}</link>")
    if draw(st.booleans()):
        perma = draw(
            st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="true"', ' isPermaLink="False"'])
        )
        parts.append(f"<guid{perma}>{draw(st.sampled_from([*LINKS, 'g-1', 'g-2']))}</guid>")
    if draw(st.booleans()):
        parts.append(f"<description>{draw(st.sampled_from(TEXTS))}</description>")
    if draw(st.booleans()):
        parts.append(f"<content:encoded>{draw(st.sampled_from(TEXTS))}</content:encoded>")
    if draw(st.booleans()):
        parts.append(f"<pubDate>{draw(st.sampled_from(DATES))}</pubDate>")
    if draw(st.booleans()):
        parts.append(f"<dc:date>{draw(st.sampled_from(DATES))}</dc:date>")
    if draw(st.booleans()):
        parts.append(
            f'<source url="https://r.example/">{draw(st.sampled_from(["Reuters", "", "AP"]))}</source>'
        )
    if draw(st.booleans()):
        parts.append("<category>World</category><comments>https://e.example/c</comments>")
    order = draw(st.permutations(parts))
    return "<item>" + "".join(order) + "</item>"


@st.composite
def atom_entries(draw: st.DrawFn) -> str:
    parts: list[str] = []
    kinds = st.sampled_from(["", ' type="text"', ' type="html"'])
    if draw(st.booleans()):
        parts.append(f"<title{draw(kinds)}>{draw(st.sampled_from(TEXTS))}</title>")
    for _ in range(draw(st.integers(0, 3))):
        rel = draw(
            st.sampled_from(["", ' rel="alternate"', ' rel="self"', ' rel="enclosure"', ' rel="related"'])
        )
        kind = draw(
            st.sampled_from(["", ' type="text/html"', ' type="application/pdf"', ' type="TEXT/HTML"'])
        )
        href = draw(st.sampled_from(LINKS)).replace('"', "")
        parts.append(f'<link{rel}{kind} href="{href}"/>')
    if draw(st.booleans()):
        parts.append(f"<id>{draw(st.sampled_from(LINKS))}</id>")
    if draw(st.booleans()):
        parts.append(f"<summary{draw(kinds)}>{draw(st.sampled_from(TEXTS))}</summary>")
    if draw(st.booleans()):
        parts.append(f"<content{draw(kinds)}>{draw(st.sampled_from(TEXTS))}</content>")
    for tag in ("published", "updated"):
        if draw(st.booleans()):
            parts.append(f"<{tag}>{draw(st.sampled_from(DATES))}</{tag}>")
    return "<entry>" + "".join(draw(st.permutations(parts))) + "</entry>"


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rss_items(), max_size=4), st.sampled_from(TEXTS))
def test_generated_rss_agrees(items: list[str], title: str) -> None:
    body = rss("".join(items), channel=f"<title>{title or 'x'}</title>")
    assert fast_path_taken(body)
    assert_same(body)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(atom_entries(), max_size=4))
def test_generated_atom_agrees(entries: list[str]) -> None:
    body = atom("".join(entries))
    assert fast_path_taken(body)
    assert_same(body)
