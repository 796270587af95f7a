"""The CPU stage's bounds (issue 21 point 4): a page is extracted from its first ``MAX_EXTRACT_BYTES`` only, a
page past its CPU-time bound falls back to its teaser, and a task past its bound fails its feed; the worker goes
on with the next page or task.

The worker's own code runs here in the test's main thread (where the signal-based bound is enforced, as in a pool
process); the shortened bounds make it happen on small inputs.  The last test goes through a real process pool.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newswatch import constants as C
from newswatch.config import WatchConfig
from newswatch.cpu import Article, CpuStage, Worker
from newswatch.models import Item
from newswatch.shared.cpubound import CpuTimeExceeded, cpu_time_bound, owns
from newswatch.stories import StoryParams

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
WATCHES = [
    WatchConfig(name="Envoy", query="Boehler"),
    WatchConfig(name="Doha", query="Doha"),
    WatchConfig(name="Tail", query="Quillback"),  # only past the page's first MAX_EXTRACT_BYTES
]
ROW = "<tr><td>Hamas talks</td><td>12</td><td>US envoy Boehler</td></tr>"


def table_page(mb: float, tail: str = "") -> bytes:
    """An article page with a big table (the issue's 9.4 MB page), ``tail`` after it."""
    lead = "<p>" + "The US envoy Boehler met Hamas officials in Doha on Tuesday. " * 20 + "</p>"
    rows = ROW * int(mb * 1e6 / len(ROW))
    return f"<html><body><article>{lead}<table>{rows}</table><p>{tail}</p></article></body></html>".encode()


def teaser(n: int) -> Item:
    url = f"https://wire.example/{n}"
    return Item(title=f"Talks in Doha, part {n}", url=url, source="Wire", summary="Officials met in Doha.",
                published=NOW, feed_url="https://wire.example/feed", keys=(f"url:{n}",))  # fmt: skip


def watches_of(outcome_matches: tuple[object, ...]) -> set[str]:
    return {m.watch for m in outcome_matches}  # type: ignore[attr-defined]


def test_a_9_mb_page_is_extracted_from_its_first_bytes_only() -> None:
    worker = Worker({}, WATCHES, StoryParams())
    big = table_page(9.4, tail="Quillback")
    assert len(big) > 4 * C.MAX_EXTRACT_BYTES
    started = time.process_time()
    ((outcome, error),) = worker.articles([Article(teaser(1), big, "text/html; charset=utf-8")])
    cpu = time.process_time() - started
    assert error is None
    assert watches_of(outcome.matches) == {"Envoy", "Doha"}  # the article's text, but not past the cut
    assert outcome.length < C.MAX_EXTRACT_BYTES
    # The whole page took 15-30 s of CPU; its first 2 MB take a few (generous: a busy machine, a slow one).
    assert cpu < C.PAGE_CPU_S


def test_a_page_past_its_cpu_bound_falls_back_to_its_teaser_and_the_next_page_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(C, "PAGE_CPU_S", 0.05)
    worker = Worker({}, WATCHES, StoryParams())
    small = table_page(0.01)
    slow = table_page(1.5)
    got = worker.articles([Article(teaser(1), slow, "text/html"), Article(teaser(2), small, "text/html")])
    (first, why), (second, fine) = got
    assert why == "extraction failed: extracting the page took more than 0.05 s of CPU time"
    assert watches_of(first.matches) == {"Doha"}  # its teaser, not lost
    assert first.url == "https://wire.example/1"
    assert fine is None and watches_of(second.matches) == {"Envoy", "Doha"}


def test_a_feed_past_the_task_bound_fails_with_a_clear_error_and_the_next_task_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker = Worker({}, WATCHES, StoryParams())
    items = "".join(
        f"<item><title>Envoy Boehler in Doha {n}</title><link>https://wire.example/{n}</link>"
        f"<description>{'The US envoy Boehler met Hamas officials in Doha. ' * 40}</description></item>"
        for n in range(3000)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{items}</channel></rss>'
    monkeypatch.setattr(C, "TASK_CPU_S", 0.05)
    failed = worker.body(body.encode(), "https://wire.example/feed", None, NOW, "application/rss+xml")
    assert failed.error == "parsing and matching the feed took more than 0.05 s of CPU time"
    assert failed.items == []
    monkeypatch.setattr(C, "TASK_CPU_S", 120.0)
    small = body[: body.index("<item>", 200)] + "</channel></rss>"
    ok = worker.body(small.encode(), "https://wire.example/feed", None, NOW, "application/rss+xml")
    assert ok.error is None and [watches_of(o.matches) for o in ok.items] == [{"Envoy", "Doha"}]


def test_nested_bounds_name_the_one_that_ran_out() -> None:
    def spin(seconds: float) -> None:
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass

    with (
        pytest.raises(CpuTimeExceeded) as outer_exc,
        cpu_time_bound(0.1, "outer") as outer,
        cpu_time_bound(5.0, "inner") as inner,
    ):
        try:
            spin(10)
        except CpuTimeExceeded as exc:
            assert not owns(inner, exc)
            raise
    assert owns(outer, outer_exc.value)
    assert str(outer_exc.value) == "outer took more than 0.1 s of CPU time"
    # A bound that did not run out leaves nothing armed behind it.
    with cpu_time_bound(0.05, "short"):
        pass
    spin(0.2)


async def test_a_huge_page_through_the_process_pool_keeps_its_worker(tmp_path: Path) -> None:
    stage = CpuStage({}, WATCHES, StoryParams(), workers=1)
    try:
        await stage.start()
        got = await stage.articles([Article(teaser(1), table_page(9.4, tail="Quillback"), "text/html")])
        assert [watches_of(o.matches) for o, _ in got] == [{"Envoy", "Doha"}]
        again = await stage.articles([Article(teaser(2), table_page(0.01), "text/html")])
        assert [(watches_of(o.matches), e) for o, e in again] == [({"Envoy", "Doha"}, None)]
    finally:
        stage.close()


def test_a_bound_swallowed_by_a_catch_all_still_fails_the_work() -> None:
    """Library code that catches every exception (trafilatura logs a failed parse and goes on) cannot run past
    the bound: the interruption it swallowed is raised again when the bound's block ends."""

    def stubborn(seconds: float) -> str:
        end = time.process_time() + seconds
        while time.process_time() < end:
            try:
                while time.process_time() < end:
                    pass
            except Exception:  # the point: a catch-all that swallows the interruption
                continue
        return "finished anyway"

    with (
        pytest.raises(CpuTimeExceeded, match=r"stubborn work took more than 0\.05 s of CPU time"),
        cpu_time_bound(0.05, "stubborn work"),
    ):
        stubborn(0.3)
    # An outer bound swallowed inside an inner block that ends normally is raised at the inner block's end.
    with pytest.raises(CpuTimeExceeded, match=r"outer took more than 0\.05 s"), cpu_time_bound(0.05, "outer"):
        with cpu_time_bound(10.0, "inner"):
            stubborn(0.3)
        pytest.fail("the outer bound ran out inside the inner block")
    with cpu_time_bound(10.0, "quick"):  # and a bound that did not run out raises nothing
        stubborn(0.01)
