"""Idle and slow connections, and bursts of pushes, against the service's listeners (issue 21 points 12, 13).

* Idle sockets past the connection bound are closed as soon as they are accepted; those within it are closed
  once they have sent no request head for the header timeout, also when they trickle bytes (slowloris); then
  ``/healthz`` answers again.  Nothing the listener does writes to stderr.
* The event loop's own errors (asyncio's failed ``accept()`` once file descriptors run out, reported on every
  retry) become one log line per kind per 10 s, not a traceback each on stderr.
* 20 signed WebSub pushes of 1 MB at once: at most ``PUSH_BODIES_AT_ONCE`` bodies are held at a time, those that
  wait too long are answered 503 for the hub to retry, and every accepted push is handed on exactly once.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from newswatch.feeds import push as push_module
from newswatch.feeds.push import WebSubSettings, WebSubSubscriber
from newswatch.service.http import OpsServer
from newswatch.service.metrics import Metrics
from newswatch.shared.listener import ListenerLimits, quiet_loop_errors
from tests.conftest import free_port
from tests.feeds.test_push import TOPIC, LocalHub

LIMITS = ListenerLimits(max_connections=16, header_timeout=1.0, request_timeout=5.0)


class Healthy:
    async def check(self) -> str | None:
        return None


@pytest.fixture
async def ops() -> AsyncIterator[OpsServer]:
    server = OpsServer("127.0.0.1:0", Metrics(process=False), Healthy(), limits=LIMITS)
    await server.start()
    yield server
    await server.stop()


async def open_idle(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """Whether the server closes the connection within ``seconds`` (EOF or a reset)."""
    try:
        async with asyncio.timeout(seconds):
            return await reader.read(1024) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def healthz(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url + "/healthz") as resp:
        return resp.status


async def test_idle_connections_past_the_bound_are_closed_at_once_and_the_rest_time_out(
    ops: OpsServer, capfd: pytest.CaptureFixture[str]
) -> None:
    conns = [await open_idle(ops.port) for _ in range(40)]
    await asyncio.sleep(0.3)
    # Past the bound: closed as soon as accepted (well before the header timeout).
    early = await asyncio.gather(*(closed_within(r, 0.5) for r, _ in conns))
    assert sum(early) >= 40 - LIMITS.max_connections
    # The rest: closed once they sent no request head for the header timeout (generous: busy cores).
    late = await asyncio.gather(*(closed_within(r, 10) for r, _ in conns))
    assert all(late)
    for _, w in conns:
        w.close()
    assert await healthz(ops.url) == 200
    assert capfd.readouterr().err == ""


async def test_a_slowloris_head_is_cut_off_at_the_header_timeout(ops: OpsServer) -> None:
    reader, writer = await open_idle(ops.port)
    loop = asyncio.get_running_loop()
    started = loop.time()
    writer.write(b"GET /healthz HTTP/1.1\r\n")
    closed = False
    for n in range(40):  # a header line every 0.25 s, never the blank line that ends the head
        try:
            writer.write(f"X-Drip-{n}: a\r\n".encode())
            await writer.drain()
        except ConnectionError:
            closed = True
            break
        if await closed_within(reader, 0.25):
            closed = True
            break
    writer.close()
    assert closed
    assert loop.time() - started < 8  # the header timeout is 1 s; 10 s of drip would have kept it open


async def test_loop_errors_are_one_line_per_kind_not_a_traceback_each(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.ERROR, logger="newswatch")
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    quiet_loop_errors(loop)
    try:
        listening = socket.socket()
        for _ in range(10_000):  # what asyncio reports on each accept() retry with no descriptors left
            loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                         "exception": OSError(errno.EMFILE, "Too many open files"),
                                         "socket": listening})  # fmt: skip
        listening.close()
    finally:
        loop.set_exception_handler(previous)
    lines = [r for r in caplog.records if r.getMessage() == "event loop error"]
    assert len(lines) == 1
    assert "socket.accept() out of system resource" in lines[0].error  # type: ignore[attr-defined]
    assert capfd.readouterr().err == ""


async def test_a_burst_of_big_pushes_holds_at_most_a_few_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(push_module, "PUSH_WAIT_S", 1.0)
    held, most, handed = 0, 0, []
    release = asyncio.Event()

    async def on_content(topic: str, body: bytes, content_type: str | None) -> None:
        nonlocal held, most
        held += 1
        most = max(most, held)
        try:
            await release.wait()
            handed.append(body[:12])
        finally:
            held -= 1

    port = free_port()
    settings = WebSubSettings(f"http://127.0.0.1:{port}/websub", "s3cret-for-tests-only", f"127.0.0.1:{port}")
    subscriber = WebSubSubscriber(settings, on_content)
    hub = LocalHub()
    await hub.start()
    await subscriber.start()
    try:
        async with aiohttp.ClientSession() as session:
            await subscriber.subscribe(session, hub.url, TOPIC)
        async with asyncio.timeout(5):
            while TOPIC not in hub.subscribers:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        bodies = [f"push-{n:06d}".encode() + b"x" * 1_000_000 for n in range(20)]
        statuses = await asyncio.gather(*(hub.publish(TOPIC, b) for b in bodies))
        release.set()
        async with asyncio.timeout(10):
            while held:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        await subscriber.close()
        await hub.close()
    assert most <= push_module.PUSH_BODIES_AT_ONCE
    assert statuses.count(202) == push_module.PUSH_BODIES_AT_ONCE  # the first few; the rest waited too long
    assert statuses.count(503) == len(bodies) - push_module.PUSH_BODIES_AT_ONCE
    accepted = sorted(b[:12] for b, s in zip(bodies, statuses, strict=True) if s == 202)
    assert sorted(handed) == accepted  # each accepted push handed on once
    assert subscriber.stats.busy == statuses.count(503)
