"""One poll cycle over N generated feeds × M news-length items, served locally: the floor vs newswatch.

    python benchmarks/bench_poll.py [--feeds 2000] [--items 25] [--quick] [--no-run]
    python benchmarks/bench_poll.py --feeds 500 --items 20 --watch all --store sqlite redis   # every item a story
    python benchmarks/bench_poll.py --synth --feeds 500 --items 20 --store sqlite redis         # issue 23's burst

``--synth [SCRIPT]`` serves the workload of ``../shared/bench/synth_stories.py`` (generated into a temporary
directory: events reported by several outlets, full-length bodies) instead of the feeds generated here, with
the catch-all watch and ``max_item_age`` off (its reports are dated 2025); it also checks that every report was
recorded once (alerts + updates in the JSONL file = distinct urls = feeds × items) and prints Redis ÷ SQLite.

``--watch rare`` (default) runs one watch that about one item in 40 matches (flood reports of feeds numbered
17…); ``--watch all`` one catch-all watch ``*``, so
every item takes the story path; ``--store`` picks the stores the real ``run --once`` rows use (a throwaway
redis-server on a free port for ``redis``).

A feed server (aiohttp, in its own process, ETag + 304 support) serves the feeds from 16 loopback addresses
(127.0.0.1–16), like feeds spread over many hosts, so per-host connection limits behave as in real use.
Each measurement runs in a fresh interpreter so its peak RSS is its own:

* floor: one aiohttp session fetches every feed and feedparser (defaults) parses it in a
  ProcessPoolExecutor(2), i.e. on both cores; the worker returns only the entry count.
* ours: newswatch.feeds.fetch.fetch (bounded, conditional GET) + newswatch.feeds.parse.parse_feed in a
  ProcessPoolExecutor(2), returning the parsed items; a first cycle, then an unchanged second cycle that sends
  the validators back and gets 304s.
* run --once: the real pipeline (newswatch.cli.run with its process pool, JSONL sink) over a generated
  config, first cycle then an unchanged second cycle on the same store.  Peak RSS is sampled from /proc for the
  measured process and every process under it (the pool's workers are children of the forkserver), so the
  figures are the largest single process and the largest sum at any moment.  On Redis the server's
  ``INFO commandstats`` before and after give the commands and script calls per item and per feed batch.

Targets (issue 12): rare watch, first cycle ≤ 0.5× the floor and an unchanged second cycle ≥ 5× cheaper;
catch-all watch ≤ 3× the floor on SQLite and on Redis; peak RSS ≤ 250 MB.  The server shares the machine's
cores with whatever is measured, equally for every row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from proctree import TreeSampler

HOSTS = 16
_TOPICS = [
    "The city council approved a new budget for road repairs after a long debate on Tuesday evening.",
    "Shares in the carmaker fell sharply after it cut its forecast for the rest of the year.",
    "Heavy rain flooded several villages in the valley, and rescue teams evacuated hundreds of residents.",
    "The national team won the qualifier with a late goal, keeping its hopes for the tournament alive.",
    "A new study suggests that regular walking lowers the risk of heart disease in older adults.",
    "The central bank left interest rates unchanged but signalled that cuts could come later this year.",
    "Museum curators unveiled a restored painting that had been hidden in storage for decades.",
    "Farmers protested outside parliament against proposed changes to subsidies and import rules.",
    "The White House confirmed that a US envoy held direct talks with Hamas about captives in Gaza.",
    "Engineers began testing a new high-speed rail line linking the two largest cities in the region.",
]
_FILLER = [
    "Officials said more details would be released in the coming days, and that consultations continue.",
    "Critics argued that the decision came too late and that the costs had been underestimated from the start.",
    "Residents interviewed on Wednesday said they had been waiting for months for a clear answer.",
    "Analysts noted that the move followed similar steps elsewhere, with mixed results so far.",
    "A spokesperson declined to comment on the timing, saying only that all options remained open.",
    "The opposition called for an inquiry, while supporters said the plan was the best available.",
]


# --------------------------------------------------------------------------------------------------------------
# Generated feeds


def make_feed(feed: int, n_items: int, now: datetime) -> bytes:
    """An RSS 2.0 feed shaped like a news site's: HTML summary, full content, tracking links, dates."""
    items = []
    for i in range(n_items):
        k = feed * n_items + i
        lead = _TOPICS[k % len(_TOPICS)]
        paras = [lead, *(_FILLER[(k + j) % len(_FILLER)] for j in range(5))]
        content = "".join(f"<p>{p} (Report {feed}-{i}, paragraph {j}.)</p>" for j, p in enumerate(paras))
        published = format_datetime(now - timedelta(minutes=7 * i + feed % 60))
        items.append(
            f"""  <item>
    <title>{lead.split(",")[0].rstrip(".")} – report {feed}-{i}</title>
    <link>https://site{feed % 97}.example/news/{feed}/{i}/story?utm_source=rss&amp;utm_medium=feed</link>
    <guid isPermaLink="false">site-{feed}-item-{i}</guid>
    <pubDate>{published}</pubDate>
    <dc:creator>Staff reporter</dc:creator>
    <category>News</category>
    <description><![CDATA[<p>{lead}</p><p>{paras[1]}</p>]]></description>
    <content:encoded><![CDATA[{content}]]></content:encoded>
  </item>"""
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"<channel>\n  <title>Site {feed}</title>\n  <link>https://site{feed}.example/</link>\n"
        f"  <description>News from site {feed}</description>\n" + "\n".join(items) + "\n</channel>\n</rss>\n"
    ).encode()


def feed_urls(port: int, n_feeds: int) -> list[str]:
    return [f"http://127.0.0.{f % HOSTS + 1}:{port}/feed/{f}.xml" for f in range(n_feeds)]


# --------------------------------------------------------------------------------------------------------------
# The synthetic story workload (issue 23) and what every driver shares

_REPO = Path(__file__).resolve().parents[1]


def synth_script(given: str | None) -> Path:
    """``synth_stories.py``: the path given, else ``../shared/bench/`` beside the repository (or the cwd)."""
    candidates = (
        [Path(given)]
        if given
        else [
            _REPO.parent / "shared" / "bench" / "synth_stories.py",
            Path.cwd().parent / "shared" / "bench" / "synth_stories.py",
        ]
    )
    for c in candidates:
        if c.is_file():
            return c
    raise SystemExit(
        f"synth_stories.py not found (tried {', '.join(map(str, candidates))}); pass --synth PATH"
    )


def generate_synth(script: Path, out: Path, n_feeds: int, n_items: int) -> None:
    """The workload: out/feeds/f00000.xml … and out/gold.jsonl (fixed seed: the same reports every run)."""
    subprocess.run(
        [sys.executable, str(script), str(out), "--feeds", str(n_feeds), "--items", str(n_items)], check=True
    )


def start_server(n_feeds: int, n_items: int, synth_dir: Path | str | None = None) -> tuple[Any, int, int]:
    """The feed server in its own process: (process, port, bytes per full cycle)."""
    cmd = [sys.executable, __file__, "--serve", "--feeds", str(n_feeds), "--items", str(n_items)]
    if synth_dir:
        cmd += ["--synth-dir", str(synth_dir)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline().split()
    if not line:
        server.wait(10)
        raise RuntimeError("the feed server did not start")
    return server, int(line[1]), int(line[2])


def count_records(path: Path, expected: int | None = None) -> dict[str, Any]:
    """What the JSONL target received: records by event, distinct urls among alerts and updates, urls recorded
    more than once, and whether every one of ``expected`` reports was recorded exactly once."""
    events: dict[str, int] = {}
    urls: dict[str, int] = {}
    n = 0
    if path.exists():
        with path.open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                n += 1
                ev = str(r.get("event"))
                events[ev] = events.get(ev, 0) + 1
                if ev in ("alert", "update"):
                    url = str(r.get("url"))
                    urls[url] = urls.get(url, 0) + 1
    twice = sum(1 for c in urls.values() if c > 1)
    out: dict[str, Any] = {"records": n, "events": events, "distinct_urls": len(urls), "urls_twice": twice}
    if expected is not None:
        reports = events.get("alert", 0) + events.get("update", 0)
        out["once"] = reports == len(urls) == expected and twice == 0
    return out


# --------------------------------------------------------------------------------------------------------------
# The server (own process)


def serve(n_feeds: int, n_items: int, synth_dir: str | None = None) -> None:
    from aiohttp import web

    now = datetime.now(UTC)
    if synth_dir:
        bodies = [(Path(synth_dir) / "feeds" / f"f{f:05d}.xml").read_bytes() for f in range(n_feeds)]
    else:
        bodies = [make_feed(f, n_items, now) for f in range(n_feeds)]
    etags = [f'"f{f}-v1"' for f in range(n_feeds)]

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            f = int(request.match_info["n"])
            body = bodies[f]
        except (ValueError, IndexError):
            raise web.HTTPNotFound() from None
        if request.headers.get("If-None-Match") == etags[f]:
            return web.Response(status=304, headers={"ETag": etags[f]})
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etags[f]})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        first = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await first.start()
        port = runner.addresses[0][1]
        for h in range(2, HOSTS + 1):
            await web.TCPSite(runner, f"127.0.0.{h}", port, backlog=1024).start()
        total = sum(map(len, bodies))
        print(f"PORT {port} {total}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# --------------------------------------------------------------------------------------------------------------
# Measurements (each in a fresh interpreter)


def _floor_parse(body: bytes) -> int:
    import feedparser

    return len(feedparser.parse(io.BytesIO(body)).entries)


def _our_parse(body: bytes, url: str, now: datetime) -> Any:
    from newswatch.feeds.parse import parse_feed

    return parse_feed(body, url, None, now)


def _warm(pool: ProcessPoolExecutor) -> None:
    # Start both workers and import what they need before the clock starts.
    warmups = [
        pool.submit(_floor_parse, b"<rss/>"),
        pool.submit(_our_parse, b"<rss/>", "x", datetime.now(UTC)),
    ]
    for f in warmups:
        with contextlib.suppress(Exception):  # a warm-up parse of an empty feed may well fail
            f.result()


async def phase_floor(port: int, n_feeds: int) -> dict[str, Any]:
    import aiohttp

    urls = feed_urls(port, n_feeds)
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(2) as pool:
        _warm(pool)
        start = time.perf_counter()
        async with aiohttp.ClientSession() as session:

            async def one(url: str) -> int:
                async with session.get(url) as resp:
                    body = await resp.read()
                return await loop.run_in_executor(pool, _floor_parse, body)

            counts = await asyncio.gather(*(one(u) for u in urls))
        elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "items": sum(counts), "errors": 0}


async def phase_ours(port: int, n_feeds: int) -> dict[str, Any]:
    from newswatch.config import FetchConfig
    from newswatch.feeds.fetch import Validators, fetch, make_session
    from newswatch.feeds.netguard import AddressGuard

    urls = feed_urls(port, n_feeds)
    limits = FetchConfig()
    loop = asyncio.get_running_loop()
    validators: dict[str, Validators] = {}
    out: dict[str, Any] = {}
    with ProcessPoolExecutor(2) as pool:
        _warm(pool)
        # The feeds are listed, as in a config: the address guard lets their loopback hosts through.
        async with make_session(limits, AddressGuard(urls)) as session:
            for cycle in ("first", "second"):
                now = datetime.now(UTC)
                start = time.perf_counter()
                statuses: dict[str, int] = {}

                async def one(url: str, now: datetime = now, statuses: dict[str, int] = statuses) -> int:
                    r = await fetch(session, url, limits, validators.get(url, Validators()))
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    validators[url] = r.validators
                    if r.status != "ok" or r.body is None:
                        return 0
                    parsed = await loop.run_in_executor(pool, _our_parse, r.body, url, now)
                    return len(parsed.items)

                counts = await asyncio.gather(*(one(u) for u in urls))
                out[cycle] = {
                    "seconds": time.perf_counter() - start,
                    "items": sum(counts),
                    "statuses": statuses,
                }
    return out


def phase_run(config: str) -> dict[str, Any]:
    import logging

    from newswatch.cli import run
    from newswatch.config import load_config

    logging.basicConfig(level=logging.WARNING)
    loaded = load_config(config)
    start = time.perf_counter()
    cpu0 = os.times()
    code = asyncio.run(run(loaded, once=True))
    elapsed = time.perf_counter() - start
    cpu1 = os.times()
    # This process only: the pool's workers (grandchildren, under the forkserver) are sampled by TreeSampler.
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {"seconds": elapsed, "exit": code, "cpu_seconds": cpu}


def write_config(
    path: Path, port: int, n_feeds: int, watch: str, store: str, max_item_age: str = "3d", extra: str = ""
) -> None:
    """A config over the served feeds; ``extra``: more top-level YAML lines (``http: …``)."""
    feeds = "\n".join(f"  - url: {u}" for u in feed_urls(port, n_feeds))
    watches = (
        """  - name: Everything
    query: '*'"""
        if watch == "all"
        else """  - name: Floods at sites numbered 17…
    query: 'flooded AND 17*'"""
    )
    path.write_text(
        f"""store: {store}
max_item_age: {max_item_age}
{extra}feeds:
{feeds}
entities:
  us: {{name: United States, aliases: ["United States", "US", "U.S.", "Washington", "White House"]}}
  hamas: {{aliases: ["Hamas"]}}
watches:
{watches}
notify:
  jsonl: {path.parent / "alerts.jsonl"}
""",
        encoding="utf-8",
    )


class RedisServer:
    """A throwaway redis-server on a free port, nothing on disk."""

    def __init__(self, workdir: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", workdir],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while self.command("PING").strip() != "+PONG":
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self, *words: str) -> str:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1) as sock:
            sock.sendall((f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)).encode())
            data = b""
            while not data.endswith(b"\r\n") or (data.startswith(b"$") and data.count(b"\r\n") < 2):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
            return data.decode()
        return ""

    def calls(self) -> dict[str, int]:
        """Calls per command since the server started (INFO commandstats)."""
        out = {}
        for line in self.command("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name, _, rest = line[8:].partition(":")
                out[name] = int(rest.split(",")[0].split("=")[1])
        return out

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def run_phase(args: argparse.Namespace) -> None:
    sampler = TreeSampler()
    if args.phase == "floor":
        result = asyncio.run(phase_floor(args.port, args.feeds))
    elif args.phase == "ours":
        result = asyncio.run(phase_ours(args.port, args.feeds))
    else:
        with open(os.devnull, "w") as devnull:  # the console notifier prints every alert
            saved, sys.stdout = sys.stdout, devnull
            try:
                result = phase_run(args.config)
            finally:
                sys.stdout = saved
    result.update(sampler.stop())
    result["cpu_seconds"] = result.get("cpu_seconds", 0.0) + result["descendants_cpu_s"]
    print("RESULT " + json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------------------------------
# The driver


def sub_phase(phase: str, port: int, n_feeds: int, config: str | None = None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--phase", phase, "--port", str(port), "--feeds", str(n_feeds)]
    if config:
        cmd += ["--config", config]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=3600)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            if proc.stderr.strip():
                result["stderr"] = proc.stderr.strip().splitlines()[-3:]
            return result
    raise RuntimeError(f"phase {phase} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="200 feeds")
    parser.add_argument("--items", type=int, default=25)
    parser.add_argument("--no-run", action="store_true", help="skip the real `run --once` rows")
    parser.add_argument("--watch", choices=["rare", "all"], default="rare", help="two rare watches, or '*'")
    parser.add_argument("--store", nargs="+", choices=["sqlite", "redis"], default=["sqlite"])
    parser.add_argument(
        "--synth", nargs="?", const="", default=None, metavar="SCRIPT",
        help="serve synth_stories.py's workload (default ../shared/bench/synth_stories.py); implies --watch all",
    )  # fmt: skip
    parser.add_argument(
        "--save-records", metavar="DIR", help="copy each store's JSONL file to DIR/STORE.jsonl"
    )
    parser.add_argument("--synth-dir", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=["floor", "ours", "run"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.feeds = 200
    if args.serve:
        serve(args.feeds, args.items, args.synth_dir)
        return
    if args.phase:
        run_phase(args)
        return

    with tempfile.TemporaryDirectory() as workload:
        synth_dir = None
        if args.synth is not None:
            args.watch = "all"
            script = synth_script(args.synth or None)
            synth_dir = Path(workload)
            generate_synth(script, synth_dir, args.feeds, args.items)
        drive(args, synth_dir)


def drive(args: argparse.Namespace, synth_dir: Path | None) -> None:
    server, port, total_bytes = start_server(args.feeds, args.items, synth_dir)
    max_age = "null" if synth_dir else "3d"
    n_items = args.feeds * args.items
    try:
        print(
            f"{args.feeds} feeds × {args.items} items = {n_items} items"
            f"{' (synth_stories.py, catch-all watch)' if synth_dir else ''}, "
            f"{total_bytes / 1e6:.1f} MB per full cycle, served from {HOSTS} loopback addresses; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n"
        )
        floor = sub_phase("floor", port, args.feeds)
        ours = sub_phase("ours", port, args.feeds)
        rows: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
            ("floor: aiohttp + feedparser (defaults), 2 processes", floor, floor),
            ("ours: fetch + parse_feed, 2 processes, cycle 1", ours["first"], ours),
            ("ours: unchanged cycle 2 (304s, no parsing)", ours["second"], None),
        ]
        run_rows: dict[str, list[dict[str, Any]]] = {}
        redis_calls: dict[str, int] = {}
        run_error = None
        if not args.no_run:
            # The pipeline is the code under the most change; a failing run is reported, not fatal, so the
            # floor and fetch/parse figures above still come out.
            for store in args.store:
                try:
                    with tempfile.TemporaryDirectory() as tmp:
                        redis = RedisServer(tmp) if store == "redis" else None
                        try:
                            url = redis.url if redis else f"sqlite:///{Path(tmp) / 'state.db'}"
                            cfg = Path(tmp) / "bench.yaml"
                            write_config(cfg, port, args.feeds, args.watch, url, max_age)
                            before = redis.calls() if redis else {}
                            first = sub_phase("run", port, args.feeds, str(cfg))
                            if redis:
                                after = redis.calls()
                                redis_calls = {k: v - before.get(k, 0) for k, v in after.items()}
                            second = sub_phase("run", port, args.feeds, str(cfg))
                        finally:
                            if redis:
                                redis.stop()
                        first["alerts"] = (Path(tmp) / "alerts.jsonl").read_text(encoding="utf-8").count("\n")
                        first["check"] = count_records(Path(tmp) / "alerts.jsonl", n_items)
                        if args.save_records:
                            Path(args.save_records).mkdir(parents=True, exist_ok=True)
                            shutil.copy(
                                Path(tmp) / "alerts.jsonl", Path(args.save_records) / f"{store}.jsonl"
                            )
                        run_rows[store] = [first, second]
                        rows += [
                            (f"run --once ({store}), cycle 1", first, first),
                            (f"run --once ({store}), unchanged cycle 2", second, second),
                        ]
                except (RuntimeError, OSError) as exc:
                    run_error = str(exc).strip().splitlines()[-1]
        base = floor["seconds"]
        print(f"{'':54} {'seconds':>8} {'items':>7} {'÷ floor':>8} {'peak RSS MB: process / sum':>27}")
        for label, r, mem in rows:
            items = r.get("items", "—")
            rss = f"{mem['rss_single_mb']:.0f} / {mem['rss_total_mb']:.0f}" if mem else ""
            print(f"{label:54} {r['seconds']:8.2f} {items!s:>7} {r['seconds'] / base:8.2f} {rss:>27}")
        print()
        print(f"ours cycle 1 statuses: {ours['first']['statuses']}; cycle 2: {ours['second']['statuses']}")
        print(
            f"ours: cycle 1 / cycle 2 = {ours['first']['seconds'] / ours['second']['seconds']:.1f}× (target ≥ 5×)"
        )
        for store, (first, second) in run_rows.items():
            print(f"run --once ({store}): cycle 1 ÷ floor = {first['seconds'] / base:.2f}; ", end="")
            print(f"cycle 1 / cycle 2 = {first['seconds'] / second['seconds']:.1f}×; ", end="")
            print(
                f"exit codes {first['exit']}, {second['exit']}; {first['alerts']} alerts in cycle 1; ", end=""
            )
            print(f"{first['cpu_seconds'] * 1000 / n_items:.2f} ms CPU per item (main process and workers)")
            for r in (first, second):
                if r.get("stderr"):
                    print("  run stderr (last lines):", *r["stderr"], sep="\n    ")
        for store, (first, _) in run_rows.items():
            c = first["check"]
            verdict = "every report recorded once" if c["once"] else "NOT every report recorded once"
            print(
                f"run --once ({store}) records: {c['events']}; {c['distinct_urls']} distinct urls of {n_items}, "
                f"{c['urls_twice']} recorded twice: {verdict}"
            )
        if len(run_rows) > 1 or synth_dir:
            print()
            for store, (first, _) in run_rows.items():
                ok = first["seconds"] / base <= 3.0
                mem_ok = first["rss_single_mb"] <= 250
                print(
                    f"target run --once ({store}) ≤ 3× the floor: {first['seconds'] / base:.2f}× "
                    f"({'met' if ok else 'MISSED'}); peak RSS ≤ 250 MB per process: "
                    f"{first['rss_single_mb']:.0f} MB ({'met' if mem_ok else 'MISSED'}); "
                    f"every report once: {'met' if first['check']['once'] else 'MISSED'}"
                )
            if "sqlite" in run_rows and "redis" in run_rows:
                q = run_rows["redis"][0]["seconds"] / run_rows["sqlite"][0]["seconds"]
                print(f"target Redis ≤ 1.3× SQLite: {q:.2f}× ({'met' if q <= 1.3 else 'MISSED'})")
        if redis_calls:
            total = sum(v for k, v in redis_calls.items() if k not in ("info", "ping"))
            scripts = redis_calls.get("evalsha", 0) + redis_calls.get("eval", 0)
            record_scripts = scripts  # read + commit per batch; ack, leases and pacing are scripts too
            print(
                f"Redis, cycle 1: {total} commands ({total / n_items:.2f} per item, {total / args.feeds:.1f} per "
                f"feed), of which {scripts} script calls ({record_scripts / args.feeds:.2f} per feed batch); "
                f"top: {sorted(redis_calls.items(), key=lambda kv: -kv[1])[:6]}"
            )
        if run_error:
            print(f"run --once failed: {run_error}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
