"""Reloading hostile config files (SIGHUP): the running config stays in force and one error line says why,
health keeps answering, every alert is delivered once, SIGTERM is honoured, and a valid file is taken.  The
files themselves are those of test_config.py."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from newswatch.app import open_app
from newswatch.config import load_config
from newswatch.service.reload import ReloadOnSignal, reload_config
from newswatch.service.scheduler import Scheduler
from tests.conftest import free_port
from tests.feedserver import FeedServer
from tests.hostile.test_config import CHILD_DATA_LIMIT, GOOD, PEAK_MB, SRC, blowing_alias, bomb, write
from tests.service.test_resilience import feed_xml, wait_for


async def test_reload_takes_a_valid_file_and_keeps_the_running_one_otherwise(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    feed = write(tmp_path, feed_xml(0, 1), "feed.xml")
    good = GOOD.format(store=store_url, feed=feed, jsonl=tmp_path / "a.jsonl", extra="")
    cfg = write(tmp_path, good, "newswatch.yaml")
    caplog.set_level(logging.INFO, logger="newswatch")
    async with open_app(load_config(cfg)) as app:
        scheduler = Scheduler(app.pipeline, app.tasks)
        cfg.write_text(good + bomb(), encoding="utf-8")
        assert await reload_config(cfg, app, scheduler) is False
        assert [w.name for w in app.loaded.config.watches] == ["all"]
        assert [w.name for w in app.pipeline.config.watches] == ["all"]
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "\n" not in errors[0].error, errors  # type: ignore[attr-defined]
        assert errors[0].getMessage() == "config reload rejected, still running the previous config"
        assert "alias bomb" in errors[0].error  # type: ignore[attr-defined]

        # Two signals while a reload is reading the file: one more reload after it, not two.
        two = good.replace("watches:\n", "watches:\n  - {name: second, query: '*'}\n")
        cfg.write_text(two, encoding="utf-8")
        handler = ReloadOnSignal(cfg, app, scheduler)
        handler()
        await asyncio.sleep(0)  # the reload starts: its thread reads the file
        handler()
        handler()
        assert handler.task is not None
        await handler.task
        assert [w.name for w in app.pipeline.config.watches] == ["second", "all"]
        reloaded = [r for r in caplog.records if r.getMessage() == "config reloaded"]
        assert [(r.feeds, r.watches) for r in reloaded] == [(1, 2), (1, 2)]  # type: ignore[attr-defined]
        sample = app.metrics.registry.get_sample_value
        assert sample("newswatch_config_reloads_total", {"result": "ok"}) == 2
        assert sample("newswatch_config_reloads_total", {"result": "rejected"}) == 1


async def start_service(cfg: Path, stats: Path) -> asyncio.subprocess.Process:
    """`newswatch run` in a child with a capped data segment that writes its own peak RSS (MB) when it exits."""
    wrapper = (
        "import atexit, resource, runpy, sys\n"
        f"resource.setrlimit(resource.RLIMIT_DATA, ({CHILD_DATA_LIMIT}, {CHILD_DATA_LIMIT}))\n"
        f"atexit.register(lambda: open({str(stats)!r}, 'w').write(str({PEAK_MB}())))\n"
        f"sys.argv = ['newswatch', 'run', '-c', {str(cfg)!r}]\n"
        "runpy.run_module('newswatch.cli', run_name='__main__')\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONUNBUFFERED": "1"}
    with (cfg.parent / "newswatch.log").open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-c", wrapper, stdout=asyncio.subprocess.DEVNULL, stderr=log, env=env
        )


def service_log(cfg: Path) -> str:
    return (cfg.parent / "newswatch.log").read_text(encoding="utf-8", errors="replace")


def records(jsonl: Path) -> Counter[tuple[str, str]]:
    if not jsonl.exists():
        return Counter()
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    return Counter(
        (r["watch"], r["url"]) for r in map(json.loads, lines) if r["event"] in ("alert", "update")
    )


def item_url(i: int) -> str:
    return f"https://local.example/n/{i}"


def bad_reloads(good: str) -> dict[str, tuple[str, str]]:
    """What SIGHUP meets, and a fragment of the one line that must say why."""
    level, _, _ = blowing_alias()
    return {
        "alias bomb": (good + bomb(), f"alias *l{level - 1} copies"),
        "deep nesting": (good + "x: " + "[" * 100_000 + "]" * 100_000 + "\n", "levels deep"),
        "duplicate notify": (good + "notify: {jsonl: '-'}\n", "notify: defined on line 7 and again on line"),
        "python tag": (good + "x: !!python/object/apply:os.system ['true']\n", "unknown tag !!python/object"),
        "invalid YAML": (good + "feeds: [\n", "invalid YAML"),
        "bad watch": (good.replace("query: '*'", "query: '(talks'"), "watch 'all'"),
        "unknown key": (good + "feeds_interval: 5m\n", "unknown key 'feeds_interval'"),
    }


async def test_running_service_keeps_its_config_through_bad_reloads(tmp_path: Path, store_url: str) -> None:
    port = free_port()
    jsonl, stats = tmp_path / "alerts.jsonl", tmp_path / "peak-rss-mb"
    timeout = aiohttp.ClientTimeout(total=1)  # /healthz must answer within 1 s, reload or not
    async with FeedServer() as server, aiohttp.ClientSession(timeout=timeout) as http:
        server.add("/f.xml", feed_xml(0, 1))
        good = GOOD.format(
            store=store_url,
            feed=server.url("/f.xml"),
            jsonl=jsonl,
            extra=f'http: {{listen: "127.0.0.1:{port}"}}\n',
        )
        cfg = write(tmp_path, good, "newswatch.yaml")
        proc = await start_service(cfg, stats)
        try:
            await wait_for(lambda: records(jsonl)[("all", item_url(0))] == 1, 30, "the first alert", cfg)
            published = 1
            for case, (text, why) in bad_reloads(good).items():
                rejected = service_log(cfg).count("config reload rejected")
                cfg.write_text(text, encoding="utf-8")
                proc.send_signal(signal.SIGHUP)
                for _ in range(5):  # healthy while the reload runs and after it
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        assert resp.status == 200, (case, await resp.text())
                    await asyncio.sleep(0.05)
                await wait_for(
                    lambda n=rejected: service_log(cfg).count("config reload rejected") > n, 10, case, cfg
                )
                line = service_log(cfg).split("config reload rejected")[-1].split("\n")[0]
                assert why in line, (case, line)
                # The old config still runs: a new item is alerted, once.
                published += 1
                server.add("/f.xml", feed_xml(0, published))
                await wait_for(
                    lambda i=published - 1: records(jsonl)[("all", item_url(i))] == 1,
                    30,
                    f"alert after {case}",
                    cfg,
                )
            # A valid file is taken: a second watch starts alerting on new items.
            cfg.write_text(good.replace("watches:\n", "watches:\n  - {name: second, query: '*'}\n"), "utf-8")
            proc.send_signal(signal.SIGHUP)
            await wait_for(lambda: "config reloaded feeds=1 watches=2" in service_log(cfg), 10, "reload", cfg)
            published += 1
            server.add("/f.xml", feed_xml(0, published))
            await wait_for(
                lambda: records(jsonl)[("second", item_url(published - 1))] == 1, 30, "the second watch", cfg
            )
            proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            await asyncio.wait_for(proc.wait(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = service_log(cfg)
    assert proc.returncode == 0, log
    assert time.monotonic() - started < 30
    got = records(jsonl)
    expected = Counter({("all", item_url(i)): 1 for i in range(published)})
    assert {k: v for k, v in got.items() if k[0] == "all"} == expected, log  # none lost, none twice
    assert got[("second", item_url(published - 1))] == 1
    assert "Traceback" not in log
    assert log.count("config reload rejected") == len(bad_reloads(good)), log
    peak_mb = float(stats.read_text())
    assert peak_mb < 250, f"peak RSS {peak_mb:.0f} MB"  # the bomb alone used to take gigabytes
