"""Slack text and layouts: escaping and cutting never break mrkdwn, and any record builds messages that the
stand-in's copy of Slack's limits (tests.slacklimits, written independently of newswatch's constants) takes."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from newswatch.delivery.notify.mrkdwn import ELLIPSIS, clip, link, link_url, units
from newswatch.delivery.notify.slackblocks import build_digest, build_message, build_update
from tests.slacklimits import check_message, mrkdwn_problems

ENTITY = re.compile(r"&(amp|lt|gt);")
# Text that stresses escaping and cutting: Slack's control characters, mentions, emoji (two UTF-16 units),
# combining marks, joiners, whitespace of every kind, and lone surrogates.
PIECES = ["&", "<", ">", "<!channel>", "<@U123>", "|", "*", "😀", "e\u0301", "👩\u200d💻", " ", "\n", "\t", "\ud800", "a", "word "]  # fmt: skip
hostile_text = st.builds(
    lambda parts, n: "".join(parts) * n,
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=12),
    st.integers(0, 800),
)


def unescape(text: str) -> str:
    return html.unescape(text)


@settings(max_examples=300, deadline=None)
@given(hostile_text, st.integers(0, 4000))
def test_clip_fits_and_never_cuts_an_entity_or_a_character(text: str, budget: int) -> None:
    out = clip(text, budget)
    assert units(out) <= budget
    assert out.count("&") == len(ENTITY.findall(out))  # every & starts a whole entity
    assert "<" not in out and ">" not in out
    out.encode("utf-8")  # no lone surrogate survives
    source = text.replace("\ud800", "\ufffd")
    if unescape(out) != source:  # cut: a prefix of the source, then "…" (or nothing at all below 1 unit)
        assert out.endswith(ELLIPSIS) or (out == "" and budget < 1)
        kept = unescape(out.removesuffix(ELLIPSIS))
        assert source.startswith(kept)
        after = source[len(kept) :]
        assert not after or unicodedata.combining(after[0]) == 0  # a mark stays with its letter
        assert not kept.endswith("\u200d")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab &<>😀", max_size=400), st.integers(0, 600), st.data())
def test_clip_with_bold_spans_keeps_every_span_closed(text: str, budget: int, data: st.DataObject) -> None:
    spans = data.draw(st.lists(st.tuples(st.integers(-5, 410), st.integers(-5, 410)), max_size=6))
    out = clip(text, budget, spans)
    assert units(out) <= budget
    assert out.count("*") % 2 == 0  # no bold left open by a cut
    assert not mrkdwn_problems(out)


def test_only_http_urls_become_links() -> None:
    for url in ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<b>x</b>", "/relative/path",
                "ftp://x.example/f", "https:/one-slash", "", "https://x.example/a b", "https://x.example/\x07"]:  # fmt: skip
        assert link_url(url) is None, url
    assert link_url("HTTPS://x.example/a?b=1&c=2|3") == "HTTPS://x.example/a?b=1&amp;c=2%7C3"
    assert link("https://x.example/" + "a" * 2982, "t", 3100, 300) is not None  # 3000 once escaped
    assert link("https://x.example/" + "a" * 2983, "t", 3100, 300) is None
    assert link("https://x.example/" + "&" * 600, "t", 3100, 300) is None  # 3018 once escaped


records = st.fixed_dictionaries(
    {"title": hostile_text, "url": st.one_of(hostile_text, st.just("https://x.example/" + "a" * 4000),
                                              hostile_text.map(lambda t: "https://x.example/" + t)),
     "source": hostile_text, "watch": hostile_text, "snippet": hostile_text,
     "_snippet_hits": st.lists(st.tuples(st.integers(-3, 9000), st.integers(-3, 9000)), max_size=5),
     "published": st.one_of(st.none(), st.just("2025-03-05T10:00:00+00:00"), st.just("0001-01-01T00:00:00+14:00"), hostile_text)},
)  # fmt: skip


def accepted(text: str, blocks: list[dict[str, Any]] | None = None) -> None:
    """Slack's documented limits, and the lower figures newswatch promises to stay under: 3,000 units of
    top-level text and 10,000 across a message's blocks."""
    body = {"text": text, **({"blocks": blocks} if blocks else {})}
    refusal = check_message(body, blocks_text_max=10_000)
    assert refusal is None, refusal
    assert units(text) <= 3000


@settings(max_examples=150, deadline=None)
@given(records)
def test_any_record_builds_an_alert_a_reply_and_fallbacks_slack_takes(record: dict[str, Any]) -> None:
    for message in (build_message(record), build_message(record, sources=12), build_update(record)):
        accepted(message.text, message.blocks)
        assert message.plain
        for text in message.plain:
            accepted(text)


@settings(max_examples=40, deadline=None)
@given(st.lists(records, min_size=1, max_size=45), hostile_text)
def test_any_digest_is_split_within_every_limit(batch: list[dict[str, Any]], reason: str) -> None:
    messages = build_digest(batch, reason)
    for message in messages:
        accepted(message.text, message.blocks)
        for text in message.plain:
            accepted(text)


def test_digest_lists_forty_and_counts_the_rest() -> None:
    batch = [
        {"title": f"Item {i}", "url": f"https://x.example/{i}", "source": "S", "watch": "w"}
        for i in range(95)
    ]
    (message,) = build_digest(batch, "flood")
    body = "\n".join(b["text"]["text"] for b in message.blocks)
    assert "*95 alerts* — flood" in body and "… and 55 more" in body
    assert [int(n) for n in re.findall(r"x\.example/(\d+)\|", body)] == list(range(40))


@settings(max_examples=150, deadline=None)
@given(hostile_text, hostile_text)
def test_a_possibly_related_alert_names_the_earlier_story_within_slacks_limits(title: str, url: str) -> None:
    record = {"title": "Regulator opens probe", "url": "https://b.example/probe", "source": "Wire", "watch": "air",
              "event": "alert", "related": {"story": "s-1", "title": title, "url": url}}  # fmt: skip
    msg = build_message(record)
    accepted(msg.text, msg.blocks)
    lines = [e["text"] for b in msg.blocks if b["type"] == "context" for e in b["elements"]]
    said = [t for t in lines if t.startswith("Possibly related to an earlier story: ")]
    assert len(said) == (1 if title or url else 0)  # nothing to name: no line
    assert all(not mrkdwn_problems(t) for t in said)


def test_a_possibly_related_alert_links_the_earlier_story_escaped() -> None:
    record = {"title": "Regulator opens probe", "url": "https://b.example/probe", "source": "Wire", "watch": "air",
              "event": "alert",
              "related": {"story": "s-1", "title": "Door <plug> & bolts", "url": "https://a.example/x?a=1&b=2"}}  # fmt: skip
    blocks = build_message(record).blocks
    texts = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert (
        "Possibly related to an earlier story: <https://a.example/x?a=1&amp;b=2|Door &lt;plug&gt; &amp; bolts>"
        in texts
    )
    without = {k: v for k, v in record.items() if k != "related"}
    assert not any("Possibly related" in t for b in build_message(without).blocks if b["type"] == "context"
                   for t in (e["text"] for e in b["elements"]))  # fmt: skip
