"""Full text on request (issue 15): what article extraction costs a CPU worker, and what it keeps of a page.

1. **Worker memory.** One CPU worker (forkserver, as ``run`` starts them): its resident size when started, after
   matching a feed (what every worker pays), and after extracting article pages with trafilatura (what a worker
   pays once a full-text feed hands it a page: trafilatura is imported at the first page).  Also whether the
   recording process imported trafilatura (it must not).
2. **Extraction against the baseline.** Real articles (``ecbplus-dev.jsonl``, given as an argument) are put in a
   news-site page template written for this script (navigation, a newsletter box, related links, a comment,
   a footer).  For each page, the baseline is what a page gave before (``html_to_text`` of the whole page, as
   ``newswatch match`` read HTML) and ours is :func:`newswatch.feeds.extract.article_text`.  Printed: the share
   of the article's words each keeps (recall), the share of their words that come from the template
   (boilerplate), and the CPU time per page, with the ratio.  Same process, interleaved.

    PYTHONPATH=src python benchmarks/bench_fulltext.py ../shared/data/ecbplus-dev.jsonl [--pages 400]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from newswatch.config import EntityConfig, WatchConfig
from newswatch.cpu import Article, CpuStage
from newswatch.feeds.extract import article_text
from newswatch.feeds.text import html_to_text
from newswatch.stories import StoryParams

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Daily Meridian</title>
<script>window.dataLayer = [{{"section": "world"}}];</script><style>body {{ font-family: serif; }}</style></head>
<body>
<header><a href="/">Daily Meridian</a>
<nav><ul><li><a href="/world">World</a></li><li><a href="/business">Business</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/culture">Culture</a></li><li><a href="/opinion">Opinion</a></li><li><a href="/podcasts">Podcasts</a></li></ul></nav>
<div class="promo">Subscribe today: unlimited access for one dollar a week, cancel anytime.</div></header>
<main><article>
<h1>{title}</h1>
<p class="byline">By a staff correspondent · Updated yesterday</p>
{paragraphs}
<aside class="newsletter"><h3>Morning briefing</h3><p>Sign up for our newsletter and get the day's top stories
in your inbox before breakfast.</p><form><input type="email"><button>Sign up</button></form></aside>
</article>
<section class="related"><h2>More from World</h2><ul>
<li><a href="/world/1">Floods leave thousands stranded in river delta towns</a></li>
<li><a href="/world/2">Parliament debates pension reform as unions plan strikes</a></li>
<li><a href="/world/3">Wildlife rangers track rare leopard across mountain park</a></li></ul></section>
<section class="comments"><h2>Comments</h2><div class="comment"><p>Great reporting, thanks. Keep it up!</p></div></section>
</main>
<footer><p>About us · Careers · Advertise · Cookie settings · Privacy policy · Terms of use</p>
<p>© Daily Meridian Media Group. All rights reserved.</p></footer>
</body></html>
"""
TEMPLATE_WORDS = set(re.findall(r"\w+", html_to_text(TEMPLATE.format(title="", paragraphs="")).lower()))
WORD = re.compile(r"\w+")


def pages(path: Path, limit: int) -> list[tuple[bytes, set[str]]]:
    """(page, the article's words, title included) for the first ``limit`` articles."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            lines = [ln.strip() for ln in doc["content"].splitlines() if ln.strip()]
            if len(lines) < 3:
                continue
            paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in lines[1:])
            page = TEMPLATE.format(title=html.escape(lines[0]), paragraphs=paragraphs).encode("utf-8")
            words = set(WORD.findall(" ".join(lines).lower()))
            out.append((page, words))
            if len(out) == limit:
                break
    return out


def score(text: str, article: set[str]) -> tuple[float, float]:
    """(share of the article's own words found, of the template's words that the article does not use)."""
    found = set(WORD.findall(text.lower()))
    own, template = article - TEMPLATE_WORDS, TEMPLATE_WORDS - article
    recall = len(own & found) / len(own) if own else 1.0
    return recall, len(template & found) / len(template)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def worker_memory(sample: list[tuple[bytes, set[str]]]) -> None:
    entities = {"hamas": EntityConfig(aliases=["Hamas"])}
    watches = [WatchConfig(name="talks", query="@hamas AND talks"), WatchConfig(name="all", query="*")]
    stage = CpuStage(entities, watches, StoryParams(), workers=1)
    try:
        await stage.start()
        (pid,) = list(stage._executor._processes)  # type: ignore[attr-defined]  # the one worker
        started = rss_kb(pid)
        items = "".join(
            f"<item><title>Hamas talks {n}</title><link>https://example.org/{n}</link>"
            f"<description>Hamas and mediators held talks. Read more.</description></item>"
            for n in range(50)
        )
        feed = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
        parsed = await stage.full_text_body(feed, "https://example.org/feed", None, datetime.now(UTC), None)
        after_feed = rss_kb(pid)
        teasers = [item for _, item in parsed.teasers]
        after: list[int] = []
        half = len(sample) // 2
        for part in (sample[:half], sample[half:]):  # a second half shows whether it keeps growing
            for start in range(0, len(part), 8):
                chunk = part[start : start + 8]
                await stage.articles(
                    [
                        Article(teasers[i % len(teasers)], page, "text/html; charset=utf-8")
                        for i, (page, _) in enumerate(chunk)
                    ]
                )
            after.append(rss_kb(pid))
    finally:
        stage.close()
    print("1. One CPU worker's resident memory (VmRSS)")
    print(f"   started {started / 1024:.1f} MB; after a 50-item feed {after_feed / 1024:.1f} MB; "
          f"after extracting {half} pages {after[0] / 1024:.1f} MB (+{(after[0] - after_feed) / 1024:.1f} MB), "
          f"{len(sample)} pages {after[1] / 1024:.1f} MB")  # fmt: skip
    print(f"   trafilatura imported by the recording process: {'trafilatura' in sys.modules}")


def extraction(sample: list[tuple[bytes, set[str]]], rounds: int) -> None:
    base_t = ours_t = 0.0
    base_scores: list[tuple[float, float]] = []
    ours_scores: list[tuple[float, float]] = []
    article_text(sample[0][0], "text/html")  # import trafilatura before timing
    for r in range(rounds):
        for page, words in sample:
            t = time.process_time()
            base = html_to_text(page.decode("utf-8"))
            base_t += time.process_time() - t
            t = time.process_time()
            ours = article_text(page, "text/html; charset=utf-8")
            ours_t += time.process_time() - t
            if r == 0:
                base_scores.append(score(base, words))
                ours_scores.append(score(ours, words))
    n = len(sample) * rounds

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    print(f"2. {len(sample)} real articles in a news-site page template, {rounds} rounds")
    for name, scores, cpu in (
        ("baseline html_to_text", base_scores, base_t),
        ("ours article_text", ours_scores, ours_t),
    ):
        recall, boiler = mean([s[0] for s in scores]), mean([s[1] for s in scores])
        print(f"   {name:22s} article's words kept {recall:6.1%}  template's words kept {boiler:6.1%}  "
              f"{cpu / n * 1000:6.2f} ms CPU per page")  # fmt: skip
    print(f"   ours / baseline CPU per page: {ours_t / base_t:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="ecbplus-dev.jsonl")
    ap.add_argument("--pages", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    sample = pages(args.data, args.pages)
    asyncio.run(worker_memory(sample))
    extraction(sample, args.rounds)


if __name__ == "__main__":
    main()
