"""Service mode under the catch-all load: does ``/healthz`` keep answering while every item takes the story path?

    python benchmarks/bench_service.py [--feeds 500] [--items 20] [--store sqlite|redis]
    python benchmarks/bench_service.py --synth --store redis     # issue 23: synth_stories.py's burst

Starts the generated feeds of ``bench_poll.py`` on a local server, then ``newswatch run`` (the service, not
``--once``) with ``http.listen`` and one catch-all watch ``'*'``, and asks ``/healthz`` every 100 ms until every
item of the first cycle is in the JSONL file.  Prints the latency of every answer (median, 95th percentile,
max) and how long the first cycle took, the time from start to the first record out, and when the JSONL file
last grew (a stall in delivery shows as the longest gap between two records).  Target (issue 12): every
answer within 1 s.  The baseline is the same service with nothing to do (the feeds answer 304): the latency
the machine gives an idle service.

``--synth [SCRIPT]`` serves ``../shared/bench/synth_stories.py``'s workload (as ``bench_poll.py --synth``) and
prints issue 23's targets: first alert out within 5 s of start, all records delivered within 20 s, every
``/healthz`` answer under 1 s, every report recorded once.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

_HERE = Path(__file__).parent


def _bench_poll() -> Any:
    spec = importlib.util.spec_from_file_location("bench_poll", _HERE / "bench_poll.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _watch(port: int, done: Any, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while not done() and time.monotonic() < deadline:
            began = time.monotonic()
            try:
                async with http.get(
                    f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=10)
                ) as r:
                    await r.read()
                latencies.append(time.monotonic() - began)
            except aiohttp.ClientConnectorError:
                pass  # not listening yet
            await asyncio.sleep(0.1)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    parser.add_argument("--synth", nargs="?", const="", default=None, metavar="SCRIPT",
                        help="serve synth_stories.py's workload (default ../shared/bench/synth_stories.py)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=900, help="give up on the first cycle after this")
    args = parser.parse_args()
    bp = _bench_poll()
    with tempfile.TemporaryDirectory() as workload:
        synth_dir = None
        if args.synth is not None:
            synth_dir = Path(workload)
            bp.generate_synth(bp.synth_script(args.synth or None), synth_dir, args.feeds, args.items)
        measure(args, bp, synth_dir)


def measure(args: argparse.Namespace, bp: Any, synth_dir: Path | None) -> None:
    server, port, _ = bp.start_server(args.feeds, args.items, synth_dir)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            redis = bp.RedisServer(tmp) if args.store == "redis" else None
            try:
                store = redis.url if redis else f"sqlite:///{tmp}/state.db"
                cfg = Path(tmp) / "bench.yaml"
                http_port = _free_port()
                bp.write_config(cfg, port, args.feeds, "all", store, "null" if synth_dir else "3d",
                                f"http: {{listen: '127.0.0.1:{http_port}'}}\n")  # fmt: skip
                out = Path(tmp) / "alerts.jsonl"
                n = args.feeds * args.items
                env = {**os.environ, "PYTHONUNBUFFERED": "1"}
                log = (Path(tmp) / "service.log").open("w")
                started = time.monotonic()
                proc = subprocess.Popen([sys.executable, "-m", "newswatch.cli", "run", "-c", str(cfg)],
                                        stdout=subprocess.DEVNULL, stderr=log, env=env)  # fmt: skip
                # When the file first had a line, and the longest time it did not grow (a stall), sampled at
                # every /healthz probe (100 ms).
                seen = {"lines": 0, "first": None, "last": None, "gap": 0.0, "grew": started}

                def lines() -> int:
                    got = out.read_text(encoding="utf-8").count("\n") if out.exists() else 0
                    now = time.monotonic()
                    if got > seen["lines"]:
                        if seen["first"] is None:
                            seen["first"] = now - started
                        else:
                            seen["gap"] = max(seen["gap"], now - seen["grew"])
                        seen["grew"] = now
                        seen["lines"] = got
                        seen["last"] = now - started
                    return got

                busy = asyncio.run(_watch(http_port, lambda: lines() >= n, args.timeout))
                cycle = time.monotonic() - started
                idle = asyncio.run(_watch(http_port, lambda: False, 5))  # the feeds now answer 304
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
                log.close()
                got = lines()
                check = bp.count_records(out, n)
            finally:
                if redis:
                    redis.stop()
        what = "synth_stories.py" if synth_dir else "bench_poll.py's feeds"
        print(
            f"{args.feeds} feeds × {args.items} items ({what}), catch-all watch, {args.store}; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
        )
        print(
            f"first cycle: {got} of {n} items recorded and delivered in {cycle:.1f} s (service start included)"
        )
        first = seen["first"]
        print(
            f"first record out after {first if first is not None else float('nan'):.1f} s; "
            f"last after {seen['last'] if seen['last'] is not None else float('nan'):.1f} s; "
            f"longest time without a new record once they flowed: {seen['gap']:.1f} s"
        )
        print(
            f"records: {check['events']}; {check['distinct_urls']} distinct urls of {n}, "
            f"{check['urls_twice']} recorded twice"
        )
        for label, lat in (("during the first cycle", busy), ("idle afterwards (baseline)", idle)):
            if lat:
                q95 = statistics.quantiles(lat, n=20)[-1] if len(lat) >= 20 else max(lat)
                print(f"/healthz {label:28} {len(lat):5} answers: median {statistics.median(lat) * 1000:7.1f} ms, "
                      f"p95 {q95 * 1000:7.1f} ms, max {max(lat) * 1000:7.1f} ms")  # fmt: skip
        if busy and idle:
            print(f"max during ÷ max idle: {max(busy) / max(idle):.1f}×; target: every answer within 1 s "
                  f"({'met' if max(busy) < 1.0 else 'MISSED'})")  # fmt: skip
        if synth_dir:

            def verdict(ok: bool) -> str:
                return "met" if ok else "MISSED"

            all_in = seen["last"] if got >= n else None
            print(
                f"targets: first alert ≤ 5 s: {verdict(first is not None and first <= 5)}; "
                f"all {n} delivered ≤ 20 s: "
                f"{verdict(all_in is not None and all_in <= 20)}"
                f" ({f'{all_in:.1f} s' if all_in is not None else 'not all delivered'}); "
                f"/healthz < 1 s: {verdict(bool(busy) and max(busy) < 1.0)}; "
                f"every report once: {verdict(check['once'])}"
            )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
