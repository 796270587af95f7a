"""The hostile-feed suite: one `run --once` cycle over every kind of bad feed beside good ones, in a child
process so its time and memory can be measured.  Then `newswatch feeds` shows the damage and `import-opml`
turns a reader export into config."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from newswatch.cli import main
from tests.feedserver import FeedServer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"
SRC = str(Path(__file__).resolve().parents[2] / "src")  # the child imports the code under test


def rss(
    title: str, items: list[tuple[str, str]], decl: str = '<?xml version="1.0" encoding="utf-8"?>'
) -> str:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid></item>" for t, link in items
    )
    return f"{decl}<rss version='2.0'><channel><title>{title}</title>{body}</channel></rss>"


BAD = {
    "/404.xml": "HTTP 404",
    "/500.xml": "HTTP 500",
    "/hang.xml": "timeout",
    "/trickle.xml": "timeout",
    "/huge.xml": "larger than",
    "/bomb.xml": "larger than",
    "/loop.xml": "redirect",
    "/page.html": "not a feed",
    "/truncated.xml": "malformed XML",
    "/empty.xml": "empty",
    "/laughs.xml": "entit",
    "/xxe.xml": "entit",
}


async def test_one_cycle_over_hostile_feeds(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LOCAL-FILE", encoding="utf-8")
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        "<rss version='2.0'><channel><title>&lol3;</title><item><title>&lol3;</title></item></channel></rss>"
    )
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<rss version='2.0'><channel><title>x</title><item><title>Hamas &x;</title>"
        "<link>https://bad.example/x</link></item></channel></rss>"
    )
    good = rss("Good wire", [("Hamas and US envoy hold talks", "https://good.example/1")])
    async with FeedServer() as server:
        server.add("/good.xml", good)
        server.add("/latin1.xml", (FIXTURES / "latin1.xml").read_bytes())
        server.status("/404.xml", 404)
        server.status("/500.xml", 500)
        server.hang("/hang.xml")
        server.trickle("/trickle.xml", interval=0.5)
        server.huge("/huge.xml", 200 * 1024 * 1024, content_length=False)
        server.gzip_bomb("/bomb.xml", 1 << 30)
        server.redirect("/loop.xml", "/loop2.xml")
        server.redirect("/loop2.xml", "/loop.xml")
        server.html("/page.html", "<html><body><h1>Not a feed</h1></body></html>")
        server.add("/truncated.xml", good[: len(good) // 2])
        server.add("/empty.xml", b"")
        server.add("/laughs.xml", laughs)
        server.add("/xxe.xml", xxe)
        feeds = "\n".join(f"  - url: {server.url(p)}" for p in ["/good.xml", "/latin1.xml", *BAD])
        cfg = tmp_path / "cfg.yaml"
        out = tmp_path / "alerts.jsonl"
        cfg.write_text(
            f"""
store: sqlite:///{tmp_path}/state.db
max_item_age: null
fetch: {{timeout: 3s, max_bytes: 1048576}}
feeds:
{feeds}
watches:
  - {{name: talks, query: 'talks'}}
notify: {{jsonl: {out}}}
""",
            encoding="utf-8",
        )
        started = time.monotonic()
        env = {**os.environ, "PYTHONPATH": SRC}
        peak_file = tmp_path / "peak-rss-kb"
        # The child writes its own peak memory (and its parse workers') when it exits: the test process's
        # RUSAGE_CHILDREN would also count every other child this session ever had.  Its own peak is VmHWM, the
        # high-water mark of its address space since exec: RUSAGE_SELF's ru_maxrss keeps the pytest process's size
        # from before the exec (Linux carries it over), hundreds of MB late in the suite.
        wrapper = (
            "import atexit, resource, runpy, sys\n"
            "def hwm():\n    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
            f"def dump():\n    open({str(peak_file)!r}, 'w').write('%d %d' % ("
            "hwm(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
            "atexit.register(dump)\n"
            f"sys.argv = ['newswatch', 'run', '-c', {str(cfg)!r}, '--once']\n"
            "runpy.run_module('newswatch.cli', run_name='__main__')\n"
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            wrapper,
            stderr=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            env=env,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        took = time.monotonic() - started
    log = err.decode()
    assert proc.returncode == 0, log
    assert took < 3 * 2 + 10, (
        f"the cycle took {took:.1f}s"
    )  # bounded by the 3 s fetch timeout, not by servers
    main_kb, workers_kb = (int(v) for v in peak_file.read_text().split())
    peak_mb = max(main_kb, workers_kb) / 1024
    # Bounded: far below what buffering the 1 GB bomb or the 200 MB body would take (the child peaks at ~130 MB).
    assert peak_mb < 450, f"peak RSS {peak_mb:.0f} MB"
    failures = [line for line in log.splitlines() if "feed failed" in line]
    for path, cause in BAD.items():
        lines = [line for line in failures if server.url(path) in line]
        assert len(lines) == 1, f"{path}: {lines}"  # each bad feed named once
        assert cause in lines[0].lower() or cause in lines[0], f"{path}: {lines[0]}"
    records = out.read_text(encoding="utf-8")
    # Good feeds all alert, the Latin-1 one decoded right.
    assert sorted(json.loads(line)["url"] for line in records.splitlines()) == [
        "https://good.example/1",
        "https://www.abendbote.example/en/international/us-hamas-talks-analysis-ld.1884207",
    ]
    assert "Zürich" in records
    assert "TOP-SECRET" not in records and "TOP-SECRET" not in log
    assert "cycle done feeds=14 failed=12" in log

    # `newswatch feeds` shows which feeds fail and why.
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert await asyncio.to_thread(main, ["feeds", "-c", str(cfg), "--json"]) == 0
    rows = {r["url"]: r for r in json.loads(buf.getvalue())}
    assert rows[server.url("/good.xml")]["failures"] == 0
    assert rows[server.url("/404.xml")]["failures"] == 1
    assert "404" in rows[server.url("/404.xml")]["last_error"]


def test_import_opml(tmp_path: Path, capsys: object) -> None:
    opml = tmp_path / "reader.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="World">'
        '<outline text="Wire A" xmlUrl="https://wire.example/rss"/>'
        '<outline text="Gulf" xmlUrl="https://gulf.example/atom"/></outline></body></opml>',
        encoding="utf-8",
    )
    assert main(["import-opml", str(opml)]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "feeds:" in out and "https://wire.example/rss" in out and "Wire A" in out
    (tmp_path / "bad.opml").write_text("<opml><body>", encoding="utf-8")
    assert main(["import-opml", str(tmp_path / "bad.opml")]) == 2
