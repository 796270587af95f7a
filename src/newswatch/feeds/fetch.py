"""The fetch stage: one bounded download of a feed, over HTTP(S) or from a local file.

Owns the shared aiohttp session's settings and :func:`fetch`, which never raises for a feed problem: every
outcome is a :class:`FetchResult` whose ``error`` is one short line naming the cause.  Each download is bounded
in time (connect and total, across all redirects), in bytes on the wire, in bytes after decompression (gzip
bombs) and in redirects; conditional GET avoids downloading unchanged feeds.

Redirects are followed here rather than by aiohttp so that permanent ones (301/308) can be reported, loops
and non-http targets refused, and the time and byte budgets shared by the whole chain.  The session's
:class:`~newswatch.feeds.netguard.AddressGuard` refuses any address that is neither public nor listed in the config
(a redirect to 127.0.0.1:6379 or 169.254.169.254), on the resolved IP.  A permanent redirect is reported only
when the new address served a body: a 304 or an error there moves nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from newswatch import __version__
from newswatch.config import FetchConfig
from newswatch.feeds.inflate import BodyError, Inflater, human_size
from newswatch.feeds.netguard import AddressGuard, AddressRefused, GuardedResolver
from newswatch.shared.http import retry_after

__all__ = ["FetchResult", "Validators", "fetch", "make_session", "user_agent"]

Status = Literal["ok", "not_modified", "error"]

_CHUNK = 64 * 1024
_PERMANENT = frozenset({301, 308})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# What we can decompress with a bounded zlib stream; brotli/zstd are not advertised, so not expected.
_ACCEPT_ENCODING = "gzip, deflate"
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class Validators:
    """What to send back for a conditional GET (for local files: a synthetic etag of mtime and size)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    feed_url: str
    status: Status
    body: bytes | None  # decompressed; None unless status is "ok"
    validators: Validators  # to store and send next time
    final_url: str | None  # where the body came from after redirects
    permanent_redirect: str | None  # new address after 301/308 hops, when the fetch succeeded
    error: str | None  # one line: the cause
    retry_after: float | None  # seconds, from Retry-After on 429/503
    max_age: float | None  # seconds, from Cache-Control: max-age
    elapsed: float  # seconds
    content_type: str | None = None  # the response's Content-Type, for its charset
    links: tuple[str, ...] = ()  # the response's Link headers (WebSub hub discovery reads them first)


class _FetchFailure(Exception):
    """Internal: a cause to report as an error result."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def user_agent(limits: FetchConfig | None = None) -> str:
    if limits is not None and limits.user_agent:
        return limits.user_agent
    return f"newswatch/{__version__} (+https://github.com/newswatch)"


def make_session(limits: FetchConfig, guard: AddressGuard | None = None) -> aiohttp.ClientSession:
    """The one session every fetch shares (create it inside a running event loop, close it on shutdown).

    Decompression is switched off in aiohttp so :func:`fetch` can stop inflating at the byte cap; the
    cookie jar is a dummy so one feed's cookies never reach another feed.  ``guard`` decides which
    addresses the session may connect to (default: public ones only); it sees every connection, through
    the resolver for names and a middleware for IP literals, whoever makes the request.
    """
    guard = guard if guard is not None else AddressGuard()
    connector = aiohttp.TCPConnector(
        limit=limits.concurrency,
        limit_per_host=limits.per_host,
        ttl_dns_cache=300,
        enable_cleanup_closed=True,
        resolver=GuardedResolver(guard),
    )
    return aiohttp.ClientSession(
        connector=connector,
        middlewares=(guard.middleware,),
        headers={"User-Agent": user_agent(limits), "Accept": _ACCEPT, "Accept-Encoding": _ACCEPT_ENCODING},
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, connect=limits.connect_timeout),
        raise_for_status=False,
    )


async def fetch(
    session: aiohttp.ClientSession,
    feed_url: str,
    limits: FetchConfig,
    validators: Validators = Validators(),  # frozen, so one shared default is safe
    *,
    accept: str | None = None,
) -> FetchResult:
    """Download one feed; every failure comes back as ``status="error"`` with a one-line cause.

    ``accept`` replaces the session's Accept header (a feed's) for this download: article pages ask for HTML.
    """
    start = time.monotonic()
    if feed_url.startswith(("http://", "https://")):
        return await _fetch_http(session, feed_url, limits, validators, start, accept)
    return await _fetch_file(feed_url, limits, validators, start)


# --------------------------------------------------------------------------------------------------------------
# HTTP


async def _fetch_http(
    session: aiohttp.ClientSession,
    feed_url: str,
    limits: FetchConfig,
    validators: Validators,
    start: float,
    accept: str | None = None,
) -> FetchResult:
    def error(message: str, retry_after: float | None = None, final_url: str | None = None) -> FetchResult:
        return FetchResult(
            feed_url, "error", None, validators, final_url, None, message, retry_after, None, _since(start)
        )

    try:
        # One deadline for the whole chain of requests and the body: a server trickling a byte a second,
        # or a redirect chain of slow hops, is cut off at limits.timeout all the same.
        async with asyncio.timeout(limits.timeout):
            return await _follow(session, feed_url, limits, validators, start, accept)
    except _FetchFailure as exc:
        return error(str(exc), exc.retry_after)
    except TimeoutError as exc:
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return error(f"connect timeout after {limits.connect_timeout:g}s")
        return error(f"timeout after {limits.timeout:g}s")
    except aiohttp.ClientError as exc:
        return error(_describe_client_error(exc))
    except (OSError, ValueError, UnicodeError) as exc:  # e.g. a malformed URL or header from a hostile server
        return error(_one_line(f"{type(exc).__name__}: {exc}"))


async def _follow(
    session: aiohttp.ClientSession,
    feed_url: str,
    limits: FetchConfig,
    validators: Validators,
    start: float,
    accept: str | None,
) -> FetchResult:
    headers: dict[str, str] = {"Accept": accept} if accept else {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified

    url = feed_url
    visited = {url}
    permanent: str | None = None
    still_permanent = True  # only an unbroken run of 301/308 from the configured URL moves the feed
    for hop in range(limits.max_redirects + 1):
        async with _guarded_get(session, url, headers, hop) as resp:
            if resp.status in _REDIRECTS:
                location = resp.headers.get("Location")
                if not location:
                    raise _FetchFailure(f"HTTP {resp.status} without a Location header")
                target = urljoin(str(resp.url), location.strip())
                if urlsplit(target).scheme not in ("http", "https"):
                    raise _FetchFailure(f"redirect to a non-http URL: {_one_line(target)[:200]}")
                if target in visited:
                    raise _FetchFailure("redirect loop")
                if hop == limits.max_redirects:
                    break
                visited.add(target)
                if still_permanent and resp.status in _PERMANENT:
                    permanent = target.partition("#")[0]
                else:
                    still_permanent = False
                url = target
                continue
            return await _finish(resp, feed_url, validators, limits, permanent, start)
    raise _FetchFailure(f"too many redirects (more than {limits.max_redirects})")


@contextlib.asynccontextmanager
async def _guarded_get(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], hop: int
) -> AsyncIterator[aiohttp.ClientResponse]:
    """One request of the chain; an address the session's guard refused becomes a one-line failure."""
    try:
        async with session.get(url, headers=headers, allow_redirects=False) as resp:
            yield resp
    except AddressRefused as exc:
        raise _FetchFailure(f"redirect to {exc}" if hop else str(exc)) from None


async def _finish(
    resp: aiohttp.ClientResponse,
    feed_url: str,
    validators: Validators,
    limits: FetchConfig,
    permanent: str | None,
    start: float,
) -> FetchResult:
    final_url = str(resp.url)
    max_age = _max_age(resp.headers)
    if resp.status == 304:
        new = _validators(resp.headers)
        # A 304 may omit the validators; the ones we sent are still the right ones then.
        kept = Validators(new.etag or validators.etag, new.last_modified or validators.last_modified)
        # No body, so no proof the new address serves the feed: the move is reported with the next 200.
        return FetchResult(
            feed_url, "not_modified", None, kept, final_url, None, None, None, max_age, _since(start)
        )
    if resp.status in (429, 503):
        raise _FetchFailure(f"HTTP {resp.status}", retry_after(resp.headers.get("Retry-After")))
    if not 200 <= resp.status < 300:
        raise _FetchFailure(f"HTTP {resp.status}")
    body = await _read_body(resp, limits.max_bytes)
    return FetchResult(
        feed_url,
        "ok",
        body,
        _validators(resp.headers),
        final_url,
        permanent,
        None,
        None,
        max_age,
        _since(start),
        resp.headers.get("Content-Type"),
        tuple(resp.headers.getall("Link", ())),
    )


async def _read_body(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body, decompressed, refusing more than ``max_bytes`` on the wire or after decompression.

    The same cap applies to both: a feed that inflates past it is not one we want to parse either.
    """
    length = resp.content_length
    if length is not None and length > max_bytes:
        resp.close()  # do not drain a 200 MB body just to reuse the connection
        raise _FetchFailure(f"body larger than {human_size(max_bytes)}")
    try:
        inflater = Inflater(resp.headers.get("Content-Encoding", ""), max_bytes)
        received = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            received += len(chunk)
            if received > max_bytes:
                resp.close()
                raise _FetchFailure(f"body larger than {human_size(max_bytes)}")
            inflater.feed(chunk)
        return inflater.finish()
    except BodyError as exc:
        raise _FetchFailure(str(exc)) from None


def _validators(headers: CIMultiDictProxy[str]) -> Validators:
    return Validators(headers.get("ETag") or None, headers.get("Last-Modified") or None)


def _max_age(headers: CIMultiDictProxy[str]) -> float | None:
    for directive in headers.get("Cache-Control", "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age":
            try:
                return max(0.0, float(value.strip().strip('"')))
            except ValueError:
                return None
    return None


def _describe_client_error(exc: aiohttp.ClientError) -> str:
    # Order matters: the certificate and SSL errors are subclasses of the connector errors.
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return _one_line(f"TLS error: certificate: {exc.certificate_error}")
    if isinstance(exc, aiohttp.ClientSSLError):
        return _one_line(f"TLS error: {getattr(exc, 'os_error', exc)}")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"DNS lookup failed for {exc.host}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return _one_line(f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc.os_error}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return _one_line(f"broken body: {exc}")
    if isinstance(exc, aiohttp.InvalidURL):
        return _one_line(f"invalid URL: {exc}")
    if isinstance(exc, aiohttp.ClientResponseError):
        return _one_line(f"bad response: {exc.message or exc}")
    return _one_line(f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------------------------------------------
# Local files


async def _fetch_file(
    feed_url: str, limits: FetchConfig, validators: Validators, start: float
) -> FetchResult:
    path = feed_url.removeprefix("file://") if feed_url.startswith("file:///") else feed_url

    def result(
        status: Status, body: bytes | None = None, v: Validators = validators, err: str | None = None
    ) -> FetchResult:
        return FetchResult(feed_url, status, body, v, path if status != "error" else None, None, err, None, None,
                           _since(start))  # fmt: skip

    if not os.path.isabs(path):
        return result("error", err=f"not an http(s) URL or absolute path: {_one_line(path)[:200]}")
    try:
        body, tag = await asyncio.to_thread(_read_file, Path(path), limits.max_bytes, validators.etag)
    except _FetchFailure as exc:
        return result("error", err=str(exc))
    if body is None:
        return result("not_modified", v=Validators(etag=tag))
    return result("ok", body, Validators(etag=tag))


def _read_file(path: Path, max_bytes: int, etag: str | None) -> tuple[bytes | None, str]:
    """(body, synthetic etag) of a local feed file, or (None, etag) when it is unchanged since ``etag``."""
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise _FetchFailure(f"not a regular file: {path}")
            tag = f'"file-{st.st_mtime_ns}-{st.st_size}"'
            if etag == tag:
                return None, tag
            if st.st_size > max_bytes:
                raise _FetchFailure(f"body larger than {human_size(max_bytes)}")
            body = f.read(max_bytes + 1)  # the file may grow while we read it
    except FileNotFoundError:
        raise _FetchFailure(f"not found: {path}") from None
    except PermissionError:
        raise _FetchFailure(f"permission denied: {path}") from None
    except IsADirectoryError:
        raise _FetchFailure(f"not a regular file: {path}") from None
    except OSError as exc:
        raise _FetchFailure(_one_line(f"cannot read {path}: {exc.strerror or exc}")) from None
    if len(body) > max_bytes:
        raise _FetchFailure(f"body larger than {human_size(max_bytes)}")
    return body, tag


# --------------------------------------------------------------------------------------------------------------
# Small helpers


def _since(start: float) -> float:
    return time.monotonic() - start


def _one_line(text: str) -> str:
    return " ".join(text.split())
