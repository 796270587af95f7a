"""Service mode under the catch-all load: does ``/healthz`` keep answering while every item takes the story path?

    python benchmarks/bench_service.py [--feeds 500] [--items 20] [--store sqlite|redis]

Starts the generated feeds of ``bench_poll.py`` on a local server, then ``newswatch run`` (the service, not
``--once``) with ``http.listen`` and one catch-all watch ``'*'``, and asks ``/healthz`` every 100 ms until every
item of the first cycle is in the JSONL file.  Prints the latency of every answer (median, 95th percentile,
max) and how long the first cycle took.  Target (issue 12): every answer within 1 s.  The baseline is the same
service with nothing to do (the feeds answer 304): the latency the machine gives an idle service.
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
    args = parser.parse_args()
    bp = _bench_poll()
    server = subprocess.Popen(
        [sys.executable, str(_HERE / "bench_poll.py"), "--serve", "--feeds", str(args.feeds), "--items", str(args.items)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        with tempfile.TemporaryDirectory() as tmp:
            redis = bp.RedisServer(tmp) if args.store == "redis" else None
            try:
                store = redis.url if redis else f"sqlite:///{tmp}/state.db"
                cfg = Path(tmp) / "bench.yaml"
                bp.write_config(cfg, port, args.feeds, "all", store)
                http_port = _free_port()
                text = cfg.read_text(encoding="utf-8").replace(
                    "max_item_age: 3d\n", f"max_item_age: 3d\nhttp: {{listen: '127.0.0.1:{http_port}'}}\n"
                )
                cfg.write_text(text, encoding="utf-8")
                out = Path(tmp) / "alerts.jsonl"
                n = args.feeds * args.items
                env = {**os.environ, "PYTHONUNBUFFERED": "1"}
                log = (Path(tmp) / "service.log").open("w")
                started = time.monotonic()
                proc = subprocess.Popen([sys.executable, "-m", "newswatch.cli", "run", "-c", str(cfg)],
                                        stdout=subprocess.DEVNULL, stderr=log, env=env)  # fmt: skip

                def lines() -> int:
                    return out.read_text(encoding="utf-8").count("\n") if out.exists() else 0

                busy = asyncio.run(_watch(http_port, lambda: lines() >= n, 900))
                cycle = time.monotonic() - started
                idle = asyncio.run(_watch(http_port, lambda: False, 5))  # the feeds now answer 304
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
                log.close()
                got = lines()
            finally:
                if redis:
                    redis.stop()
        print(
            f"{args.feeds} feeds × {args.items} items, catch-all watch, {args.store}; {os.cpu_count()} CPUs"
        )
        print(
            f"first cycle: {got} of {n} items recorded and delivered in {cycle:.1f} s (service start included)"
        )
        for label, lat in (("during the first cycle", busy), ("idle afterwards (baseline)", idle)):
            if lat:
                q95 = statistics.quantiles(lat, n=20)[-1] if len(lat) >= 20 else max(lat)
                print(f"/healthz {label:28} {len(lat):5} answers: median {statistics.median(lat) * 1000:7.1f} ms, "
                      f"p95 {q95 * 1000:7.1f} ms, max {max(lat) * 1000:7.1f} ms")  # fmt: skip
        if busy and idle:
            print(f"max during ÷ max idle: {max(busy) / max(idle):.1f}×; target: every answer within 1 s "
                  f"({'met' if max(busy) < 1.0 else 'MISSED'})")  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
