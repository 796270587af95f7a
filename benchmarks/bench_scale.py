"""Scaling out: 1, 2 and 4 `newswatch run` workers sharing one Redis over a local feed server.

For each worker count the script flushes a throwaway redis-server, starts the workers (same config) for a
fixed time, then reads every worker's /metrics and JSONL file and prints: feeds polled per second (all
workers, counted after a warm-up so start-up is not measured), each worker's share, records delivered,
duplicates (must be 0), alerts decided but never delivered (lost, must be 0), and the most polls any one feed
got (a feed is polled once per interval, not once per worker).  Feeds are due every second, more than the
workers can poll, so the figure is capacity, not demand.  The 1-worker run is the baseline.

    python benchmarks/bench_scale.py                 # 5,000 feeds, 20 s per run, 1/2/4 workers
    python benchmarks/bench_scale.py --quick         # 500 feeds, 8 s per run

Runs only on loopback; needs redis-server on PATH.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
ITEMS = 2
INTERVAL_S = 1
WARMUP_S = 6.0
# A vocabulary about as varied as news text, so stories share words the way real ones do.
VOCAB = [a + b + c for a in ("har", "cou", "bud", "riv", "bri", "sch", "fes", "rai", "cor", "lib", "mus", "cli",
                             "por", "dam", "vot", "tax", "pol", "fir", "gal", "mon") for b in "aeiouy"
         for c in ("bour", "ncil", "get", "er", "dge", "ool", "tival", "lway", "t", "rary", "eum", "nic", "ma",
                   "lo", "ven", "sa", "dor", "nex", "tum", "rik", "pel", "zan", "quo", "vim", "lex", "bru")]  # fmt: skip


# 40 watches on words of the vocabulary: together they match about one item in six, as monitoring does (a
# catch-all watch would measure story locking of one watch, not scaling).
WATCHES = "\n".join(
    f"  - {{name: w{k}, query: '{VOCAB[k * 37]} AND {VOCAB[k * 37 + 1]}'}}" for k in range(40)
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def feed_body(i: int) -> bytes:
    import random

    rng = random.Random(i)

    def words(n: int) -> str:  # distinct texts, so most items are stories of their own, as in real news
        return " ".join(rng.choice(VOCAB) for _ in range(n))

    items = "".join(
        f"<item><title>{words(8)}</title><link>https://bench.example/f{i}/{j}</link><guid>f{i}-{j}</guid>"
        f"<description>{words(60)}</description></item>"
        for j in range(ITEMS)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>F{i}</title>{items}</channel></rss>'.encode()


def serve(port: int, feeds: int, hits: multiprocessing.Array) -> None:  # type: ignore[type-arg]
    from aiohttp import web

    bodies = [feed_body(i) for i in range(feeds)]

    async def handler(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        hits[i] += 1
        etag = f'"v{i}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=bodies[i], content_type="application/rss+xml", headers={"ETag": etag})

    app = web.Application()
    app.router.add_get("/f{i}.xml", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def metric(text: str, name: str) -> float:
    return sum(float(m) for m in re.findall(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M))


def scrape(ports: list[int]) -> list[float]:
    out = []
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
                out.append(metric(resp.read().decode(), "newswatch_feeds_polled_total"))
        except OSError:
            out.append(0.0)
    return out


def run_workers(
    n: int, feeds: int, seconds: float, server_port: int, redis_port: int, tmp: Path
) -> dict[str, float]:
    subprocess.run(["redis-cli", "-p", str(redis_port), "flushall"], check=True, capture_output=True)
    feed_lines = "\n".join(
        f'  - {{url: "http://127.0.0.1:{server_port}/f{i}.xml", interval: {INTERVAL_S}s}}'
        for i in range(feeds)
    )
    procs, ports, outs = [], [], []
    for k in range(n):
        port = free_port()
        out = tmp / f"alerts-{n}-{k}.jsonl"
        cfg = tmp / f"cfg-{n}-{k}.yaml"
        cfg.write_text(
            f"store: redis://127.0.0.1:{redis_port}/0\nmax_item_age: null\n"
            f"fetch: {{timeout: 10s, concurrency: 64, per_host: 64}}\n"
            f"feeds:\n{feed_lines}\nwatches:\n{WATCHES}\n"
            f'notify: {{jsonl: "{out}"}}\nhttp: {{listen: "127.0.0.1:{port}"}}\n',
            encoding="utf-8",
        )
        env = {**os.environ, "PYTHONPATH": SRC}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "newswatch.cli", "run", "-c", str(cfg), "-q"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp / f"log-{n}-{k}.txt", "w"),  # noqa: SIM115 - closed when the child ends
            )
        )
        ports.append(port)
        outs.append(out)
    time.sleep(WARMUP_S)
    before = scrape(ports)
    time.sleep(seconds)
    polls = [b - a for a, b in zip(before, scrape(ports), strict=True)]
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(60)
    records = [json.loads(line) for out in outs if out.exists() for line in out.read_text().splitlines()]
    sent = Counter((r["watch"], r["url"]) for r in records)
    # Every (watch, item) the workers decided to report holds a key in Redis: one not in any JSONL is lost.
    scan = subprocess.run(
        ["redis-cli", "-p", str(redis_port), "--scan", "--pattern", "nw:alerted:*"],
        capture_output=True,
        text=True,
    )
    claimed = len(scan.stdout.split())
    total = sum(polls)
    return {
        "polls_per_s": total / seconds,
        "shares": [p / total if total else 0.0 for p in polls],  # type: ignore[dict-item]
        "records": len(records),
        "duplicates": sum(c - 1 for c in sent.values()),
        "lost": claimed - len(sent),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--quick", action="store_true", help="500 feeds, 8 s per run")
    args = ap.parse_args()
    if args.quick:
        args.feeds, args.seconds = 500, 8.0
    if shutil.which("redis-server") is None:
        print("redis-server is not installed (apt-get install -y redis-server)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    redis_port, server_port = free_port(), free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    hits = multiprocessing.Array("i", args.feeds)
    server = multiprocessing.Process(target=serve, args=(server_port, args.feeds, hits), daemon=True)
    server.start()
    time.sleep(2)
    print(
        f"{args.feeds} feeds × {ITEMS} items, interval {INTERVAL_S}s, {args.seconds:.0f}s measured after {WARMUP_S:.0f}s warm-up, {os.cpu_count()} CPUs"
    )
    print(f"{'workers':>7}  {'polls/s':>8}  {'× 1 worker':>10}  {'records':>7}  {'dupes':>5}  {'lost':>4}  "
          f"{'max polls/feed':>14}  shares")  # fmt: skip
    base = None
    try:
        for n in (int(w) for w in args.workers.split(",")):
            for i in range(args.feeds):
                hits[i] = 0
            r = run_workers(n, args.feeds, args.seconds, server_port, redis_port, tmp)
            base = base or r["polls_per_s"]
            most = max(hits[:])
            allowed = int((args.seconds + WARMUP_S + 5) / (INTERVAL_S * 0.9)) + 1
            shares = " ".join(f"{s:.0%}" for s in r["shares"])  # type: ignore[attr-defined]
            print(f"{n:>7}  {r['polls_per_s']:>8.1f}  {r['polls_per_s'] / base:>9.2f}×  {r['records']:>7.0f}  "
                  f"{r['duplicates']:>5.0f}  {r['lost']:>4.0f}  {most:>6} (≤ {allowed:>2})  {shares}")  # fmt: skip
    finally:
        server.terminate()
        redis.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
