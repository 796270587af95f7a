"""The parse stage: feed documents written for these tests, good, odd and hostile."""

from __future__ import annotations

import io
import pickle
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from newswatch.feeds.parse import FeedParseError, ParsedFeed, parse_date, parse_feed
from newswatch.feeds.text import canonical_url, item_keys, text_fingerprint

NOW = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)


def parse(
    body: bytes | str, feed_url: str = "https://radio.example.cu/rss/world.xml", **kw: object
) -> ParsedFeed:
    data = body.encode("utf-8") if isinstance(body, str) else body
    source = kw.pop("source", None)
    assert source is None or isinstance(source, str)
    return parse_feed(data, feed_url, source, NOW, **kw)  # type: ignore[arg-type]


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Radio Example – World</title>
  <link>https://radio.example.cu/</link>
  <ttl>30</ttl>
  <item>
    <title>US and Hamas hold direct talks on captives</title>
    <link>https://radio.example.cu/world/us-hamas-talks?utm_source=rss&amp;utm_medium=feed&amp;id=42</link>
    <guid isPermaLink="false">radio-2025-0305-001</guid>
    <pubDate>Wed, 05 Mar 2025 18:30:00 -0500</pubDate>
    <description><![CDATA[<p>The White House <b>confirmed</b> direct talks.</p><p>Envoy&nbsp;Adam Boehler led them.</p>
      <script>track()</script>]]></description>
  </item>
  <item>
    <title>Harbour reopens after storm</title>
    <link>/local/harbour#photos</link>
    <pubDate>Thu, 06 Mar 2025 07:00:00 GMT</pubDate>
    <content:encoded><![CDATA[<div>Ships <i>returned</i> on Thursday.</div>]]></content:encoded>
  </item>
</channel>
</rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">Wire Example</title>
  <id>tag:wire.example.com,2025:feed</id>
  <updated>2025-03-06T09:00:00Z</updated>
  <entry>
    <title type="html">Envoy says talks with &lt;em&gt;Hamas&lt;/em&gt; were &amp;quot;useful&amp;quot;</title>
    <link rel="alternate" href="https://wire.example.com/world/envoy-talks"/>
    <link rel="enclosure" href="https://wire.example.com/photo.jpg"/>
    <id>tag:wire.example.com,2025:envoy-talks</id>
    <published>2025-03-06T08:15:00+01:00</published>
    <updated>2025-03-06T09:00:00+01:00</updated>
    <summary>About 24 living hostages remain, officials said.</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>First paragraph.</p><p>Second one.</p></div></content>
  </entry>
</feed>"""


# --------------------------------------------------------------------------------------------------------------
# Formats


def test_rss2_items() -> None:
    feed = parse(RSS)
    assert feed.title == "Radio Example – World"
    assert feed.ttl == 30 * 60
    first, second = feed.items
    assert first.title == "US and Hamas hold direct talks on captives"
    assert first.url == "https://radio.example.cu/world/us-hamas-talks?id=42"
    assert first.link == "https://radio.example.cu/world/us-hamas-talks?utm_source=rss&utm_medium=feed&id=42"
    assert first.guid == "radio-2025-0305-001"
    assert first.published == datetime(2025, 3, 5, 23, 30, tzinfo=UTC)
    assert first.summary == "The White House confirmed direct talks.\nEnvoy Adam Boehler led them."
    assert first.source == "Radio Example – World"
    assert first.feed_url == "https://radio.example.cu/rss/world.xml"
    first_fp = text_fingerprint(first.title, first.summary, first.content)
    assert first.keys == item_keys("radio-2025-0305-001", first.url, first.feed_url, first_fp)
    # A relative link is resolved against the feed's URL; content:encoded becomes content, said once.
    assert second.url == "https://radio.example.cu/local/harbour"
    second_fp = text_fingerprint(second.title, second.summary, second.content)
    assert second.guid is None and second.keys == item_keys(None, second.url, second.feed_url, second_fp)
    assert (second.summary, second.content) == ("", "Ships returned on Thursday.")


def test_atom_entry() -> None:
    feed = parse(ATOM, "https://wire.example.com/atom.xml")
    assert feed.title == "Wire Example"
    (entry,) = feed.items
    assert entry.title == 'Envoy says talks with Hamas were "useful"'
    assert entry.url == "https://wire.example.com/world/envoy-talks"
    assert entry.guid == "tag:wire.example.com,2025:envoy-talks"
    assert entry.published == datetime(2025, 3, 6, 7, 15, tzinfo=UTC)
    assert entry.summary == "About 24 living hostages remain, officials said."
    assert entry.content == "First paragraph.\nSecond one."


def test_configured_name_wins_then_feed_title_then_host() -> None:
    assert parse(RSS, source="Radio Example").items[0].source == "Radio Example"
    untitled = RSS.replace("<title>Radio Example – World</title>", "")
    assert parse(untitled).items[0].source == "radio.example.cu"


def test_plain_text_title_keeps_angle_brackets() -> None:
    body = '<rss version="2.0"><channel><item><title>Rates &lt; 2% &amp; falling</title><guid>g</guid></item></channel></rss>'
    assert parse(body).items[0].title == "Rates < 2% & falling"


def test_aggregator_title_suffix_is_stripped_when_source_names_it() -> None:
    body = """<rss version="2.0"><channel><title>News aggregator</title>
    <item><title>US confirms direct talks with Hamas - Wire Example</title>
      <link>https://agg.example.net/r?url=x&amp;utm_campaign=agg</link>
      <source url="https://wire.example.com/rss">Wire Example</source></item>
    <item><title>Talks resume - what we know</title><link>https://agg.example.net/b</link>
      <source url="https://other.example/rss">Other Outlet</source></item>
    </channel></rss>"""
    first, second = parse(body).items
    assert first.title == "US confirms direct talks with Hamas"
    assert first.url == "https://agg.example.net/r?url=x"
    assert second.title == "Talks resume - what we know"


def test_entries_without_link_guid_or_title_are_dropped() -> None:
    body = """<rss version="2.0"><channel><title>T</title>
      <item><description>Only a description.</description></item>
      <item><title>Only a title</title></item>
    </channel></rss>"""
    (item,) = parse(body).items
    assert item.title == "Only a title" and item.url == "" and item.guid is None
    assert len(item.keys) == 1 and item.keys[0].startswith("text:")


def test_non_url_permalink_guid_is_not_a_link() -> None:
    body = '<rss version="2.0"><channel><item><title>t</title><guid>story-77</guid></item></channel></rss>'
    (item,) = parse(body).items
    assert item.guid == "story-77" and item.url == "" and item.link == ""


def test_duplicate_guids_keep_the_first() -> None:
    body = """<rss version="2.0"><channel><title>T</title>
      <item><title>First version</title><guid isPermaLink="false">same</guid></item>
      <item><title>Second copy</title><guid isPermaLink="false">same</guid></item>
      <item><title>Other</title><guid isPermaLink="false">other</guid></item>
    </channel></rss>"""
    assert [i.title for i in parse(body).items] == ["First version", "Other"]


def test_empty_feed_is_valid() -> None:
    feed = parse('<rss version="2.0"><channel><title>Quiet</title></channel></rss>')
    assert feed.items == [] and feed.title == "Quiet"


def test_syndication_update_period_gives_ttl() -> None:
    body = """<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
      xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
      <channel rdf:about="https://x.example/"><title>RDF</title><sy:updatePeriod>hourly</sy:updatePeriod>
      <sy:updateFrequency>4</sy:updateFrequency></channel>
      <item rdf:about="https://x.example/1"><title>One</title><link>https://x.example/1</link></item>
    </rdf:RDF>"""
    feed = parse(body)
    assert feed.ttl == 900 and [i.url for i in feed.items] == ["https://x.example/1"]


def test_result_is_picklable_for_a_process_pool() -> None:
    feed = parse(RSS)
    assert pickle.loads(pickle.dumps(feed)) == feed


# --------------------------------------------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wed, 05 Mar 2025 10:00:00 GMT", datetime(2025, 3, 5, 10, 0, tzinfo=UTC)),
        ("Wed, 05 Mar 2025 10:00:00 +0200", datetime(2025, 3, 5, 8, 0, tzinfo=UTC)),
        ("Wed, 05 Mar 2025 10:00:00 EST", datetime(2025, 3, 5, 15, 0, tzinfo=UTC)),
        ("Wed, 05 Mar 2025 10:00:00 PDT", datetime(2025, 3, 5, 17, 0, tzinfo=UTC)),
        ("Wed, 05 Mar 2025 10:00:00 CET", datetime(2025, 3, 5, 9, 0, tzinfo=UTC)),
        ("Wed, 05 Mar 2025 10:00:00 MSK", datetime(2025, 3, 5, 7, 0, tzinfo=UTC)),
        ("Wed, 05 Mar 2025 10:00:00 IST", datetime(2025, 3, 5, 4, 30, tzinfo=UTC)),
        ("5 Mar 2025 10:00 JST", datetime(2025, 3, 5, 1, 0, tzinfo=UTC)),
        ("2025-03-05T10:00:00Z", datetime(2025, 3, 5, 10, 0, tzinfo=UTC)),
        ("2025-03-05T10:00:00.250-03:00", datetime(2025, 3, 5, 13, 0, 0, 250000, tzinfo=UTC)),
        ("2025-03-05 10:00:00", datetime(2025, 3, 5, 10, 0, tzinfo=UTC)),
        ("yesterday-ish", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


def test_item_dates_missing_unparseable_and_future() -> None:
    body = """<rss version="2.0"><channel><title>T</title>
      <item><title>No date</title><guid>a</guid></item>
      <item><title>Bad date</title><guid>b</guid><pubDate>sometime soon</pubDate></item>
      <item><title>Far future</title><guid>c</guid><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>
      <item><title>Zone name</title><guid>d</guid><pubDate>Thu, 06 Mar 2025 09:00:00 CEST</pubDate></item>
    </channel></rss>"""
    dates = [i.published for i in parse(body).items]
    assert dates == [None, None, NOW, datetime(2025, 3, 6, 7, 0, tzinfo=UTC)]


# --------------------------------------------------------------------------------------------------------------
# Character sets


TITLE_FR = "Négociations à Doha : l’émissaire américain rencontre le Hamas"
TITLE_RU = "США подтвердили прямые переговоры с ХАМАС"


def feed_with(title: str, decl: str | None) -> str:
    prolog = f'<?xml version="1.0" encoding="{decl}"?>' if decl else '<?xml version="1.0"?>'
    return f"""{prolog}<rss version="2.0"><channel><title>{title}</title>
    <item><title>{title}</title><link>https://x.example/1</link><description>{title}</description></item>
    </channel></rss>"""


@pytest.mark.parametrize("decl", ["iso-8859-1", None])
def test_latin1_declared_and_undeclared(decl: str | None) -> None:
    title = TITLE_FR.replace("’", "'")  # not in Latin-1
    feed = parse(feed_with(title, decl).encode("latin-1"))
    assert feed.title == title and feed.items[0].title == title and feed.items[0].summary == title


@pytest.mark.parametrize("decl", ["windows-1251", None])
def test_windows1251_declared_and_undeclared(decl: str | None) -> None:
    feed = parse(feed_with(TITLE_RU, decl).encode("cp1251"))
    assert feed.title == TITLE_RU and feed.items[0].title == TITLE_RU


def test_windows1252_undeclared() -> None:
    feed = parse(feed_with(TITLE_FR, None).encode("cp1252"))
    assert feed.items[0].title == TITLE_FR


def test_utf8_with_bom() -> None:
    feed = parse(b"\xef\xbb\xbf" + feed_with(TITLE_RU, "utf-8").encode("utf-8"))
    assert feed.items[0].title == TITLE_RU


def test_utf8_declared_but_latin1_bytes() -> None:
    title = "Réunion à Genève"
    feed = parse(feed_with(title, "utf-8").encode("latin-1"))
    assert feed.items[0].title == title


def test_http_charset_used_when_document_declares_none() -> None:
    feed = parse(
        feed_with(TITLE_RU, None).encode("koi8-r"), content_type="application/rss+xml; charset=KOI8-R"
    )
    assert feed.items[0].title == TITLE_RU


def test_utf16_with_bom() -> None:
    feed = parse(feed_with(TITLE_RU, "utf-16").encode("utf-16"))
    assert feed.items[0].title == TITLE_RU


# --------------------------------------------------------------------------------------------------------------
# Not feeds, broken feeds


@pytest.mark.parametrize("body", [b"", b"   \n\t ", b"\xef\xbb\xbf  "])
def test_empty_body(body: bytes) -> None:
    with pytest.raises(FeedParseError, match=r"^empty body$"):
        parse(body)


@pytest.mark.parametrize(
    "body",
    [
        "<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><p>Subscribe!</p></body></html>",
        "<html lang='en'><body>Moved</body></html>",
        "<?xml version='1.0'?>\n<!-- portal -->\n<HTML><BODY>hi</BODY></HTML>",
    ],
)
def test_html_page(body: str) -> None:
    with pytest.raises(FeedParseError, match=r"^not a feed \(HTML page\)$"):
        parse(body)


def test_truncated_xml_is_an_error_with_a_line() -> None:
    cut = RSS[: RSS.index("Harbour reopens")]
    with pytest.raises(FeedParseError, match=r"^malformed XML: .+ at line \d+$") as err:
        parse(cut)
    assert "\n" not in str(err.value)


def test_not_xml_at_all() -> None:
    with pytest.raises(FeedParseError, match=r"^(malformed XML|not a feed)"):
        parse("Service temporarily unavailable, try later.")


def test_json_is_not_a_feed() -> None:
    with pytest.raises(FeedParseError):
        parse('{"items": [{"title": "x"}]}')


def test_unescaped_ampersand_is_recovered_with_a_warning() -> None:
    body = """<rss version="2.0"><channel><title>Loose</title>
      <item><title>Trade & talks</title><link>https://x.example/a?b=1&c=2</link></item>
    </channel></rss>"""
    feed = parse(body)
    assert [i.title for i in feed.items] == ["Trade & talks"]
    assert feed.items[0].url == canonical_url("https://x.example/a?b=1&c=2")
    assert feed.warning is not None and feed.warning.startswith("malformed XML")


def test_recovered_feed_may_end_with_a_comment() -> None:
    body = """<rss version="2.0"><channel><title>Loose</title>
      <item><title>Envoy & mediators meet</title><link>https://x.example/qa</link></item>
    </channel></rss>
    <!-- generated in 12 ms -->
    """
    assert [i.title for i in parse(body).items] == ["Envoy & mediators meet"]


def test_rss091_doctype_without_entities_is_fine() -> None:
    body = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old school</title><link>https://old.example/</link>
<item><title>Still here</title><link>https://old.example/1</link></item></channel></rss>"""
    feed = parse(body)
    assert feed.title == "Old school" and [i.title for i in feed.items] == ["Still here"]


# --------------------------------------------------------------------------------------------------------------
# Hostile documents

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>Laughs</title>
<item><title>&lol9;</title><link>https://x.example/1</link></item></channel></rss>"""


def xxe(target: str) -> str:
    return f"""<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY secret SYSTEM "{target}"> ]>
<rss version="2.0"><channel><title>Leak &secret;</title>
<item><title>Leak &secret;</title><link>https://x.example/1</link><description>&secret;</description></item>
</channel></rss>"""


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-TOKEN-4711")
    return path


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(FeedParseError, match=r"^entity declarations are not allowed$"):
        parse(BILLION_LAUGHS)


def test_xxe_is_refused(secret_file: Path) -> None:
    for target in (secret_file.as_uri(), "file:///etc/passwd"):
        with pytest.raises(FeedParseError, match=r"^entity declarations are not allowed$"):
            parse(xxe(target))


def test_xxe_hidden_behind_comments_and_utf16_is_refused(secret_file: Path) -> None:
    sneaky = xxe(secret_file.as_uri()).replace("<!DOCTYPE", "<!-- a comment -->\n<?pi x?>\n<!DOCTYPE")
    with pytest.raises(FeedParseError, match="entity declarations"):
        parse(sneaky)
    with pytest.raises(FeedParseError, match="entity declarations"):
        parse(
            sneaky.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>').encode(
                "utf-16"
            )
        )


def test_parameter_entity_is_refused(secret_file: Path) -> None:
    body = f"""<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY % ext SYSTEM "{secret_file.as_uri()}"> %ext; ]>
<rss version="2.0"><channel><title>T</title></channel></rss>"""
    with pytest.raises(FeedParseError, match="entity declarations"):
        parse(body)


def test_external_dtd_is_not_loaded(secret_file: Path) -> None:
    # A DOCTYPE without entity declarations is allowed (RSS 0.91 has one) but its DTD is never fetched.
    dtd = secret_file.parent / "evil.dtd"
    dtd.write_text(f'<!ENTITY secret SYSTEM "{secret_file.as_uri()}">')
    body = f"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "{dtd.as_uri()}">
<rss version="2.0"><channel><title>T</title>
<item><title>Hello &secret;</title><link>https://x.example/1</link></item></channel></rss>"""
    try:
        feed = parse(body)
    except FeedParseError:
        return
    assert "TOP-SECRET" not in repr(feed)


def test_body_naming_a_local_file_is_not_opened(secret_file: Path) -> None:
    # feedparser.parse(bytes) opens a body that happens to be a path; parse_feed must not.
    with pytest.raises(FeedParseError) as err:
        parse(str(secret_file).encode())
    assert "TOP-SECRET" not in str(err.value)


def test_feedparser_default_behaviour_on_xxe(secret_file: Path) -> None:
    """The reference: what feedparser itself does with these documents (why we refuse before it runs)."""
    for doc in (xxe(secret_file.as_uri()), BILLION_LAUGHS):
        d = feedparser.parse(io.BytesIO(doc.encode()))
        # feedparser strips entity declarations it deems unsafe, so no file content leaks …
        assert "TOP-SECRET" not in repr(d)
    # … but a bytes argument that names a file is read as that file.
    local = secret_file.parent / "local.xml"
    local.write_text('<rss version="2.0"><channel><title>LOCAL-FILE-FEED</title></channel></rss>')
    assert feedparser.parse(str(local).encode()).feed.get("title") == "LOCAL-FILE-FEED"
    with pytest.raises(FeedParseError):
        parse(str(local).encode())
