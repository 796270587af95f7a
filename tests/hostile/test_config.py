"""Hostile and careless config files: alias bombs, nesting deep enough to crash a parser, duplicate keys,
unknown tags, URLs that are not URLs or carry credentials.  Each one: `newswatch check` names the file, the line
and why, and exits 2; sent to a running service by SIGHUP, it leaves the running config in force (health
answering, every alert delivered once), and a valid file after it is taken."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from newswatch import constants as C
from newswatch.app import open_app
from newswatch.cli import EXIT_CONFIG, EXIT_OK, main
from newswatch.config import load_config
from newswatch.reload import ReloadOnSignal, reload_config
from newswatch.scheduler import Scheduler
from tests.conftest import free_port
from tests.feedserver import FeedServer
from tests.test_resilience import feed_xml, wait_for

SRC = str(Path(__file__).resolve().parents[2] / "src")  # children import the code under test
# Children run with their data segment capped, so a regression fails the test instead of eating the machine.
CHILD_DATA_LIMIT = 1 << 30
# A child's own peak RSS, measured inside it.  Not getrusage(RUSAGE_SELF).ru_maxrss: Linux carries the parent's
# high-water mark across fork and exec into it (a child of a 300 MB process reports >= 300 MB), so it would
# measure pytest.  VmHWM is the high-water mark of the child's own address space.
PEAK_MB = (
    "(lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1]) / 1024)"
)

GOOD = """\
store: {store}
max_item_age: null
feeds:
  - {{url: "{feed}", name: Local, interval: 1s}}
watches:
  - {{name: all, query: '*'}}
notify:
  jsonl: {jsonl}
{extra}"""


def bomb(levels: int = 9, width: int = 9, *, block: bool = False) -> str:
    """The YAML 'billion laughs': each level an anchored list of ``width`` aliases of the level before."""
    out = []
    for level in range(levels):
        items = ['"lol"'] * width if level == 0 else [f"*l{level - 1}"] * width
        if block:
            out.append(f"l{level}: &l{level}\n" + "".join(f"  - {i}\n" for i in items))
        else:
            out.append(f"l{level}: &l{level} [{', '.join(items)}]\n")
    return "".join(out)


def blowing_alias(levels: int = 9, width: int = 9) -> tuple[int, int, int]:
    """(level, position, nodes it copies) of the first alias whose copies pass the budget, counted the slow
    way: the expanded size of each level, and the copies the aliases before it made."""
    size, copied = 1 + width, 0
    for level in range(1, levels):
        for position in range(width):
            copied += size
            if copied > C.MAX_CONFIG_ALIAS_NODES:
                return level, position, size
        size = 1 + width * size
    raise AssertionError("the bomb is too small to pass the budget")


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check", "-c", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_in_child(path: Path, tmp_path: Path) -> tuple[int, str, dict[str, float]]:
    """`newswatch check` in a child that measures itself: CPU and wall seconds of the check (imports
    excluded) and its own peak RSS."""
    stats = tmp_path / "stats.json"
    code = (
        "import json, resource, sys, time\n"
        f"resource.setrlimit(resource.RLIMIT_DATA, ({CHILD_DATA_LIMIT}, {CHILD_DATA_LIMIT}))\n"
        "from newswatch.cli import main\n"
        "cpu, wall = time.process_time(), time.perf_counter()\n"
        f"rc = main(['check', '-c', {str(path)!r}])\n"
        "cpu, wall = time.process_time() - cpu, time.perf_counter() - wall\n"
        f"peak_mb = {PEAK_MB}()\n"
        f"open({str(stats)!r}, 'w').write(json.dumps({{'cpu': cpu, 'wall': wall, 'peak_mb': peak_mb}}))\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode >= 0, f"the child died of signal {-proc.returncode}: {proc.stderr[-2000:]}"
    return proc.returncode, proc.stderr, json.loads(stats.read_text())


# ------------------------------------------------------------------------------------------------ check


@pytest.mark.parametrize("block", [False, True], ids=["flow", "block"])
def test_alias_bomb_is_refused_fast_and_small(tmp_path: Path, block: bool) -> None:
    text = bomb(block=block)
    path = write(tmp_path, "feeds: []\n" + text)
    code, err, stats = check_in_child(path, tmp_path)
    assert code == EXIT_CONFIG, err
    level, position, size = blowing_alias()
    # The line of the alias itself: on its level's line (flow) or on its own line (block).
    line = 2 + (level * 10 + 1 + position if block else level)
    assert f"{path}:{line}: l{level}[{position}]: alias *l{level - 1} copies {size:,} nodes" in err, err
    assert "alias bomb" in err and "Traceback" not in err
    assert stats["cpu"] < 2.0 and stats["wall"] < 2.0, stats
    assert stats["peak_mb"] < 100, stats


def test_nesting_that_crashes_libyaml_is_refused(tmp_path: Path) -> None:
    # PyYAML's C composer (CSafeLoader) dies of a segmentation fault on this; ours stops at the depth limit.
    path = write(tmp_path, "feeds: []\nwatches: " + "[" * 100_000 + "]" * 100_000 + "\n")
    code, err, stats = check_in_child(path, tmp_path)
    assert code == EXIT_CONFIG, err
    assert f"{path}:2: watches[0]: nested more than {C.MAX_CONFIG_DEPTH} levels deep" in err, err
    assert stats["cpu"] < 2.0 and stats["peak_mb"] < 100, stats


CHECK_CASES = {
    "duplicate top-level key": (
        "notify:\n  jsonl: a.jsonl\nstore: sqlite:///x.db\nfeeds: []\nwatches:\n"
        + "".join(f"  - {{name: w{i}, query: 'w{i}'}}\n" for i in range(11))
        + "notify:\n  jsonl: b.jsonl\n",
        "cfg.yaml:17: notify: defined on line 1 and again on line 17",
    ),
    "duplicate key inside a watch": (
        "watches:\n  - name: talks\n    query: 'Hamas AND talks'\n    channel: '#a'\n    query: '*'\n",
        "cfg.yaml:5: watches[0].query: defined on line 3 and again on line 5",
    ),
    "duplicate key in a flow mapping": (
        "entities:\n  us: {aliases: [US], aliases: [USA]}\n",
        "cfg.yaml:2: entities.us.aliases: defined on line 2 and again on line 2",
    ),
    "python tag": (
        "store: !!python/object/apply:os.system ['touch {tmp}/pwned']\n",
        "cfg.yaml:1: store: unknown tag !!python/object/apply:os.system",
    ),
    "python name tag on a key's value": (
        "watches:\n  - name: x\n    query: !!python/name:os.system\n",
        "cfg.yaml:3: watches[0].query: unknown tag !!python/name:os.system",
    ),
    "local tag": (
        "feeds:\n  - url: !foo https://example.org/rss\n",
        "cfg.yaml:2: feeds[0].url: unknown tag !foo",
    ),
    "alias loop": (
        "feeds: &a [*a]\n",
        "cfg.yaml:1: feeds[0]: alias *a refers to a collection that contains it",
    ),
    "invalid YAML": ("feeds: [\n", "cfg.yaml:2:1: invalid YAML: while parsing a flow node"),
    "control character": (
        'feeds: []\nstore: "a\x00b"\n',
        "cfg.yaml:2: invalid YAML: control characters are not",
    ),
    "undefined alias": (
        "feeds: []\nwatches: *nope\n",
        "cfg.yaml:2:10: invalid YAML: found undefined alias 'nope'",
    ),
    "two documents": (
        "feeds: []\n---\nfeeds: []\n",
        "cfg.yaml:2:1: invalid YAML: expected a single document",
    ),
    "number too long to convert": ("seen_ttl: " + "9" * 5000 + "\n", "cfg.yaml:1: invalid value: Exceeds"),
    "date that does not exist": ("max_item_age: 2025-13-45\n", "cfg.yaml:1: invalid value: month must be"),
    "infinite duration": ("seen_ttl: .inf\n", "cfg.yaml:1: seen_ttl: a duration must be a finite number"),
    "store URL with a typo and a password": (
        "store: redi://:hunter2@localhost:6379/0\n",
        "cfg.yaml:1: store: is not a store URL; use redis://",
    ),
    "base_url with user:pass@": (
        "notify:\n  slack:\n    token: xoxb-1\n    base_url: https://bob:hunter2@slack.example/api/\n",
        "cfg.yaml:4: notify.slack.base_url: must not contain a user name or password",
    ),
    "base_url with a user only": (
        "notify:\n  slack:\n    token: xoxb-1\n    base_url: https://bob@slack.example/api/\n",
        "notify.slack.base_url: must not contain a user name or password",
    ),
    "base_url not http": (
        "notify:\n  slack: {token: xoxb-1, base_url: 'file:///etc/passwd'}\n",
        "cfg.yaml:2: notify.slack.base_url: must be an http(s) URL",
    ),
    "slack_webhook not a URL": (
        "notify:\n  slack_webhook: hooks.slack.com/services/T0/B0/hunter2\n",
        "cfg.yaml:2: notify.slack_webhook: must be an http(s) URL",
    ),
    "webhook url not http": (
        "notify:\n  webhook: {url: 'ftp://example.org/hunter2'}\n",
        "cfg.yaml:2: notify.webhook.url: must be an http(s) URL",
    ),
    "webhook url with a bad port": (
        "notify:\n  webhook: {url: 'https://example.org:99999/hunter2'}\n",
        "cfg.yaml:2: notify.webhook.url: is not a valid URL",
    ),
}


@pytest.mark.parametrize("case", list(CHECK_CASES))
def test_check_names_file_line_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    text, expected = CHECK_CASES[case]
    path = write(tmp_path, text.replace("{tmp}", str(tmp_path)))
    code, out, err = check(path, capsys)
    assert code == EXIT_CONFIG
    assert err.startswith("newswatch: config error:\n"), err
    assert expected.replace("cfg.yaml", str(path)) in err, err
    assert "Traceback" not in err and "hunter2" not in err + out  # no stack, and no secret repeated
    assert not (tmp_path / "pwned").exists()


def test_base_url_with_credentials_no_longer_ends_run_in_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It used to pass `check` and then fail at Slack's auth.test inside aiohttp ("Cannot combine AUTHORIZATION
    # header with AUTH argument or credentials encoded in URL"), a traceback from `run`.
    text = GOOD.format(
        store=f"sqlite:///{tmp_path}/state.db",
        feed=tmp_path / "none.xml",
        jsonl=tmp_path / "a.jsonl",
        extra="",
    )
    text += "  slack: {token: xoxb-1, channel: '#x', base_url: 'http://u:p@127.0.0.1:9/api/'}\n"
    path = write(tmp_path, text)
    assert main(["run", "-c", str(path), "--once"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "notify.slack.base_url: must not contain a user name or password" in err
    assert "Traceback" not in err and not (tmp_path / "a.jsonl").exists()


def test_check_lists_the_slack_webhook_without_its_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "notify:\n  slack_webhook: https://hooks.slack.com/services/T0/B0/hunter2\n"
        "  webhook: {url: 'https://bob:pw@hooks.example.org/in/hunter2', secret: hunter2}\n"
    )
    code, out, err = check(write(tmp_path, text), capsys)
    assert code == EXIT_OK, err
    notify = next(line for line in out.splitlines() if line.startswith("notify:"))
    assert notify == (
        "notify: Slack incoming webhook (https://hooks.slack.com), JSON webhook (https://hooks.example.org, signed)"
    )
    assert "hunter2" not in out + err and "bob" not in out
    cfg = load_config(write(tmp_path, text)).config
    assert "hunter2" not in repr(cfg) and "hunter2" not in str(cfg.notify)


def test_empty_slack_webhook_means_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # README's `slack_webhook: ${SLACK_WEBHOOK_URL:-}` with the variable unset: no webhook, alerts to the console.
    code, out, err = check(write(tmp_path, "notify:\n  slack_webhook: ${SLACK_WEBHOOK_URL:-}\n"), capsys)
    assert code == EXIT_OK, err
    assert "notify: console\n" in out


def test_real_anchors_and_merge_keys_still_load(tmp_path: Path) -> None:
    # Aliases used the way configs use them (a feed template merged into 50 feeds, one alias list shared by 200
    # entities) stay far below the budget; a key written beside a merge key overrides it without being a duplicate.
    path = write(
        tmp_path,
        "feeds:\n  - &feed {url: 'https://n0.example/rss', interval: 10m, name: Wire}\n"
        + "".join(f"  - {{<<: *feed, url: 'https://n{i}.example/rss'}}\n" for i in range(1, 50))
        + "  - {<<: *feed, url: 'https://other.example/rss', name: Other}\n"
        "entities:\n"
        "  us: {aliases: &us [US, U.S., United States, Washington, White House]}\n"
        + "".join(f"  us{i}: {{aliases: *us}}\n" for i in range(200)),
    )
    cfg = load_config(path).config
    assert len(cfg.feeds) == 51 and {f.interval for f in cfg.feeds} == {600.0}
    assert len({f.url for f in cfg.feeds}) == 51
    assert [f.name for f in cfg.feeds[-2:]] == ["Wire", "Other"]
    assert len(cfg.entities) == 201 and all(len(e.aliases) == 5 for e in cfg.entities.values())


def test_without_libyaml_the_same_checks_hold(tmp_path: Path) -> None:
    # PyYAML built without libyaml has no CSafeLoader: the pure-Python parser is used, with the same checks.
    big = "".join(f"  e{i}: {{aliases: [Name{i}, N{i}]}}\n" for i in range(300))
    good = write(tmp_path, "feeds: []\nentities:\n" + big, "good.yaml")
    code = (
        "import yaml\n"
        "del yaml.CSafeLoader\n"
        "from newswatch.configyaml import YamlProblem, _CheckedLoader, load_yaml\n"
        "assert yaml.SafeLoader in _CheckedLoader.__mro__\n"
        f"print(len(load_yaml(open({str(good)!r}).read()).data['entities']))\n"
        "for text in ("
        + repr(bomb())
        + ", 'a: 1\\na: 2\\n', 'a: !!python/name:os.system\\n', 'a: ' + '[' * 100000):\n"
        "    try:\n"
        "        load_yaml(text)\n"
        "    except YamlProblem as exc:\n"
        "        print(exc.line, exc.message.split(';')[0])\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    level, _, size = blowing_alias()
    budget = C.MAX_CONFIG_ALIAS_NODES
    assert proc.stdout.splitlines() == [
        "300",
        f"{level + 1} alias *l{level - 1} copies {size:,} nodes and brings what aliases copy past {budget:,} nodes",
        "2 defined on line 1 and again on line 2",
        "1 unknown tag !!python/name:os.system: a config holds plain values (text, numbers, true/false, null, lists and mappings)",
        f"1 nested more than {C.MAX_CONFIG_DEPTH} levels deep",
    ]


# ------------------------------------------------------------------------------------------------ reload


async def test_reload_takes_a_valid_file_and_keeps_the_running_one_otherwise(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    feed = write(tmp_path, feed_xml(0, 1), "feed.xml")
    good = GOOD.format(store=store_url, feed=feed, jsonl=tmp_path / "a.jsonl", extra="")
    cfg = write(tmp_path, good, "newswatch.yaml")
    caplog.set_level(logging.INFO, logger="newswatch")
    async with open_app(load_config(cfg)) as app:
        scheduler = Scheduler(app.pipeline)
        cfg.write_text(good + bomb(), encoding="utf-8")
        assert await reload_config(cfg, app, scheduler) is False
        assert [w.name for w in app.loaded.config.watches] == ["all"]
        assert [w.name for w in app.pipeline.config.watches] == ["all"]
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "\n" not in errors[0], errors
        assert errors[0].startswith("config reload rejected, still running the previous config: ")
        assert "alias bomb" in errors[0]

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
        assert [r.getMessage() for r in caplog.records].count("config reloaded: 1 feeds, 2 watches") == 2
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
            await wait_for(
                lambda: "config reloaded: 1 feeds, 2 watches" in service_log(cfg), 10, "reload", cfg
            )
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
