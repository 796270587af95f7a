"""A local feed server for tests: real HTTP on 127.0.0.1, well-behaved and hostile routes alike.

Usage::

    async with FeedServer() as srv:
        srv.add("/a.xml", body=RSS, etag='"v1"')
        srv.redirect("/old.xml", "/a.xml", status=301)
        srv.redirect("/away.xml", "http://169.254.169.254/latest/", status=302)  # a full URL works too
        srv.hang("/slow.xml")
        result = await fetch(session, srv.url("/a.xml"), limits)
        assert srv.hits["/a.xml"] == 1

Or take the ``feed_server`` fixture (import it into a test module or conftest:
``from tests.feedserver import feed_server  # noqa: F401``).

Static routes honour ``If-None-Match`` / ``If-Modified-Since`` with a 304.  Hostile routes (hang, trickle,
huge, gzip bomb) stream what they send, so a 1 GB body never exists in memory, and stop as soon as the client
goes away or the server closes.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import struct
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pytest_asyncio
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

RouteKind = Literal["static", "redirect", "hang", "trickle", "huge", "gzip_bomb", "handler"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Route:
    kind: RouteKind
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False  # serve ``body`` gzip-encoded
    location: str = ""  # redirect target
    size: int = 0  # huge / gzip_bomb: bytes to send (huge) or to inflate to (gzip_bomb)
    interval: float = 1.0  # trickle: seconds between bytes
    content_length: bool = True  # huge: announce the size (False: chunked, so only counting catches it)
    handler: Handler | None = None  # handler: any aiohttp handler (a hub beside the feed, …)


class FeedServer:
    """An aiohttp server on a free port serving registered routes; unknown paths are 404."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: dict[str, list[CIMultiDictProxy[str]]] = {}  # request headers per path, in order
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    # ----------------------------------------------------------------------------------------------------------
    # Registering routes

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        content_type: str = "application/rss+xml",
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
        gzip: bool = False,
    ) -> None:
        """A static response; with ``etag``/``last_modified`` a matching conditional request gets a 304."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(
            "static",
            data,
            status,
            content_type,
            dict(headers or {}),
            etag,
            last_modified,
            gzip,
        )

    def html(
        self, path: str, body: str = "<!DOCTYPE html><html><body><p>Not a feed</p></body></html>"
    ) -> None:
        self.add(path, body, content_type="text/html; charset=utf-8")

    def status(self, path: str, status: int, headers: Mapping[str, str] | None = None) -> None:
        """An error status with a short body, e.g. ``status("/x", 429, {"Retry-After": "120"})``."""
        self.add(path, f"status {status}", status=status, content_type="text/plain", headers=headers)

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        """Redirect to ``to`` (a path on this server or a full URL); chain or loop by registering more."""
        self.routes[path] = Route("redirect", status=status, location=to)

    def handle(self, path: str, handler: Handler) -> None:
        """Serve ``path`` with an aiohttp handler, for anything that must live on the feed's own origin."""
        self.routes[path] = Route("handler", handler=handler)

    def hang(self, path: str) -> None:
        """Accept the request and never answer."""
        self.routes[path] = Route("hang")

    def trickle(self, path: str, body: bytes | str = b"<rss>" + b" " * 1000, interval: float = 1.0) -> None:
        """Send headers at once, then one byte every ``interval`` seconds."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route("trickle", data, interval=interval)

    def huge(self, path: str, size: int, *, content_length: bool = True) -> None:
        """A body of ``size`` bytes, streamed; ``content_length=False`` sends it chunked with no length."""
        self.routes[path] = Route("huge", size=size, content_length=content_length)

    def gzip_bomb(self, path: str, size: int = 1 << 30) -> None:
        """A gzip body inflating to ``size`` zero bytes (rounded up to whole MB; ~1 MB on the wire per GB)."""
        self.routes[path] = Route("gzip_bomb", size=size)

    # ----------------------------------------------------------------------------------------------------------
    # Lifecycle

    async def __aenter__(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that gives up on a hanging route must end the handler too.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # ----------------------------------------------------------------------------------------------------------
    # Serving

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.requests.setdefault(path, []).append(request.headers)
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.kind == "static":
            return self._static(request, route)
        if route.kind == "redirect":
            return web.Response(status=route.status, headers={"Location": route.location})
        if route.kind == "handler":
            assert route.handler is not None
            return await route.handler(request)
        if route.kind == "hang":
            await self._closing.wait()
            return web.Response(status=504)
        return await self._stream(request, route)

    def _static(self, request: web.Request, route: Route) -> web.Response:
        headers = CIMultiDict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        inm = request.headers.get("If-None-Match")
        ims = request.headers.get("If-Modified-Since")
        if route.status == 200 and (
            (route.etag and inm and route.etag in [t.strip() for t in inm.split(",")])
            or (route.last_modified and ims == route.last_modified and not (route.etag and inm))
        ):
            return web.Response(status=304, headers=headers)
        body = route.body
        if route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        headers["Content-Type"] = route.content_type
        return web.Response(status=route.status, body=body, headers=headers)

    async def _stream(self, request: web.Request, route: Route) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/rss+xml"})
        if route.kind == "huge" and route.content_length:
            resp.content_length = route.size
        if route.kind == "gzip_bomb":
            resp.headers["Content-Encoding"] = "gzip"
        await resp.prepare(request)
        try:
            if route.kind == "trickle":
                for i in range(len(route.body)):
                    await resp.write(route.body[i : i + 1])
                    if await self._closed_within(route.interval):
                        break
            elif route.kind == "huge":
                chunk = b" " * 65536
                sent = 0
                while sent < route.size and not self._closing.is_set():
                    part = chunk[: route.size - sent]
                    await resp.write(part)
                    sent += len(part)
            elif route.kind == "gzip_bomb":
                head, block = _bomb_blocks()
                crc, produced = 0, 0
                while produced < route.size and not self._closing.is_set():
                    await resp.write(block if produced else head)
                    crc = zlib.crc32(_MB_OF_ZEROS, crc)
                    produced += len(_MB_OF_ZEROS)
                    await asyncio.sleep(0)  # server and client share a loop in tests: let the client read
                if not self._closing.is_set():
                    # An empty final deflate block, then the gzip trailer (CRC-32 and size mod 2**32).
                    await resp.write(b"\x03\x00" + struct.pack("<II", crc, produced & 0xFFFFFFFF))
            await resp.write_eof()
        except ConnectionError:
            pass  # the client stopped reading: the point of these routes
        return resp

    async def _closed_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            return False
        return True


_MB_OF_ZEROS = bytes(1 << 20)


@functools.cache
def _bomb_blocks() -> tuple[bytes, bytes]:
    """(gzip header + first MB, every further MB) of a gzip stream of zeros.

    A full flush resets the compressor, so every further megabyte compresses to the same ~1 KB: the bomb is
    streamed by repeating it, at no CPU cost however large it is.
    """
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = z.compress(_MB_OF_ZEROS) + z.flush(zlib.Z_FULL_FLUSH)
    block = z.compress(_MB_OF_ZEROS) + z.flush(zlib.Z_FULL_FLUSH)
    return head, block


@pytest_asyncio.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A running :class:`FeedServer`, stopped after the test."""
    async with FeedServer() as srv:
        yield srv
