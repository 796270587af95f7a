"""Hostile and careless config files: alias bombs, nesting deep enough to crash a parser, duplicate keys,
unknown tags, URLs that are not URLs or carry credentials.  Each one: `newswatch check` names the file, the line
and why, exits 2, and stays fast and small.  What a running service does with them on SIGHUP is
test_config_reload.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from newswatch import constants as C
from newswatch.cli import EXIT_CONFIG, EXIT_OK, main
from newswatch.config import load_config
from newswatch.config.values import redact_url

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
    # libyaml 0.2.6 (PyYAML 6.0.4's wheels) has a limit of its own that its scanner, looking ahead on this one
    # line, reaches before our composer sees level 65: the promise is the same refusal in our words, at the
    # line and key where the nesting starts, whichever limit answers (ours names the first element too).
    path = write(tmp_path, "feeds: []\nwatches: " + "[" * 100_000 + "]" * 100_000 + "\n")
    code, err, stats = check_in_child(path, tmp_path)
    assert code == EXIT_CONFIG, err
    where = re.search(rf"{re.escape(str(path))}:2: watches(\[0\])?: nested more than (\d+) levels deep", err)
    assert where and where.group(2) == str(C.MAX_CONFIG_DEPTH), err
    assert "invalid YAML" not in err, err
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
    "slack signing secret without http.listen": (
        "notify:\n  slack:\n    token: xoxb-1\n    signing_secret: hunter2hunter2\n",
        "cfg.yaml:4: notify.slack.signing_secret: needs http.listen: Slack posts actions to /slack/actions",
    ),
    "slack app token without a bot token": (
        "notify:\n  slack:\n    channel: '#news'\n    app_token: xapp-1-hunter2\n",
        "cfg.yaml:4: notify.slack.app_token: Slack actions need the bot token too",
    ),
    "slack app token that is a bot token": (
        "notify:\n  slack:\n    token: xoxb-1\n    app_token: xoxb-hunter2\n",
        "cfg.yaml:4: notify.slack.app_token: is not an app-level token (they start with xapp-",
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


def test_check_names_the_slack_actions_and_keeps_their_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "http: {listen: '127.0.0.1:0'}\nnotify:\n  slack:\n    token: xoxb-hunter2\n"
        "    signing_secret: hunter2secret\n    app_token: xapp-1-hunter2\n"
    )
    code, out, err = check(write(tmp_path, text), capsys)
    assert code == EXIT_OK, err
    assert "Slack actions (mute, snooze) through POST /slack/actions on http.listen and Socket Mode" in out
    cfg = load_config(write(tmp_path, text)).config
    assert "hunter2" not in out + err + repr(cfg) + str(cfg.notify)
    assert "signing_secret=***" in repr(cfg.notify.slack) and "app_token=***" in repr(cfg.notify.slack)


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


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/hunter2", "https://hooks.slack.com"),
        ("https://bob:hunter2@hooks.example.org:8443/in?key=hunter2", "https://hooks.example.org:8443"),
        ("http://[::1]:9000/hunter2", "http://[::1]:9000"),
        ("https://hooks.example.org:99999/hunter2", "(invalid URL)"),
    ],
)
def test_webhook_urls_are_shown_by_scheme_and_host(url: str, shown: str) -> None:
    assert redact_url(url) == shown


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
        "from newswatch.config.yamlfile import YamlProblem, _CheckedLoader, load_yaml\n"
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
