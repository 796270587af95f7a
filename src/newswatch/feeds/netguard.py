"""The address guard: which hosts and ports the shared HTTP session may connect to.

Owns the rule for requests whose address a feed can choose (redirect targets, WebSub hubs, later the article
pages of a full-text fetch): they reach only **public** addresses, or an address — host and port — that the
config itself lists as a feed.  Listed feeds are trusted as written, so a feed on localhost or on an intranet
keeps working, and a redirect within its origin too; a redirect from anywhere to anywhere else private is
refused.  Refused: loopback, private, link-local (169.254.169.254, the cloud metadata service), unique-local,
unspecified, multicast, reserved and other non-global ranges, also when embedded in IPv6 (IPv4-mapped
``::ffff:127.0.0.1``, 6to4, NAT64).

The rule is applied to the resolved IP, where the connection is made: :class:`GuardedResolver` wraps the
session's DNS resolver, so the address checked is the address connected to (a name cannot resolve to a public
address for the check and a private one for the connection).  aiohttp does not call the resolver for IP
literals, so :meth:`AddressGuard.middleware` checks those before each request and each redirect hop, in every
spelling ``inet_aton`` accepts (:func:`literal_ip`).  A refusal
is an :class:`AddressRefused` (an ``aiohttp.ClientConnectionError``) whose message is one line naming the
address.  Build a session with both through :func:`newswatch.feeds.fetch.make_session`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

if TYPE_CHECKING:
    from newswatch.config import Config

__all__ = ["AddressGuard", "AddressRefused", "GuardedResolver", "literal_ip", "refusal"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Origin = tuple[str, int]  # (host as aiohttp passes it to the resolver, port)

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


class AddressRefused(aiohttp.ClientConnectionError):
    """A connection the guard refused; ``str()`` names the address and why, on one line."""

    def __init__(self, host: str, port: int | None, ip: str, reason: str) -> None:
        where = _join(host, port)
        shown = where if host == ip else f"{where} ({ip})"
        super().__init__(f"{shown} refused: {reason} address, neither public nor listed in the config")
        self.host, self.port, self.ip, self.reason = host, port, ip, reason


def refusal(ip: str) -> str | None:
    """Why ``ip`` is not a public address ("loopback", "private" …), or None when it is one."""
    try:
        addr: IPAddress = ipaddress.ip_address(ip.partition("%")[0])  # without an IPv6 zone ("%eth0")
    except ValueError:
        return "unreadable"
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = addr.ipv4_mapped or addr.sixtofour
        if embedded is None and addr in _NAT64:
            embedded = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        if embedded is not None and (reason := refusal(str(embedded))):
            return reason
    if addr.is_unspecified:
        return "unspecified"
    if addr.is_loopback:
        return "loopback"
    if addr.is_link_local:
        return "link-local"
    if addr.is_multicast:
        return "multicast"
    if isinstance(addr, ipaddress.IPv6Address) and addr in _UNIQUE_LOCAL:
        return "unique-local"
    if addr.is_private:
        return "private"
    if addr.is_reserved:
        return "reserved"
    if not addr.is_global:  # shared address space (100.64/10) and other special-purpose ranges
        return "non-public"
    return None


class AddressGuard:
    """The rule, with the origins the config lists.

    ``listed`` are URLs trusted as written (their host and port, default port by scheme); :meth:`follow`
    makes the guard read them from the running config instead, so a reloaded config's feeds are trusted
    (and removed ones no longer are) without a new session.
    """

    def __init__(self, listed: Iterable[str] = ()) -> None:
        self._static = _origins(listed)
        self._config: Callable[[], Config] | None = None
        self._seen: Config | None = None  # the config object the cached origins were read from
        self._cached: frozenset[Origin] = frozenset()

    def follow(self, config: Callable[[], Config]) -> None:
        """Trust what ``config()`` lists as feeds from now on (called for each check; cheap while unchanged)."""
        self._config = config

    def trusted(self, host: str, port: int | None) -> bool:
        return (_host_key(host), port or 0) in self._listed()

    def check(self, host: str, port: int | None, ips: Iterable[str]) -> None:
        """Raise :class:`AddressRefused` unless (host, port) is listed or every IP it resolved to is public."""
        if self.trusted(host, port):
            return
        for ip in ips:
            reason = refusal(ip)
            if reason is not None:
                raise AddressRefused(host, port, ip, reason)

    async def middleware(
        self, req: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        """aiohttp client middleware: IP literals, which never reach the resolver, checked before each hop."""
        host = req.url.raw_host or ""
        ip = literal_ip(host)
        if ip is not None:
            self.check(host, req.url.port, [ip])
        return await handler(req)

    def _listed(self) -> frozenset[Origin]:
        if self._config is None:
            return self._static
        cfg = self._config()
        if cfg is not self._seen:  # identity: a reload builds a new config object
            self._seen = cfg
            self._cached = self._static | _origins(f.url for f in cfg.feeds)
        return self._cached


class GuardedResolver(AbstractResolver):
    """A DNS resolver that refuses names resolving to a non-public address, unless the guard trusts them.

    Wraps aiohttp's default resolver (or ``inner``); every address of a name is checked, so a name with one
    public and one private address is refused as a whole.
    """

    def __init__(self, guard: AddressGuard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._inner = inner if inner is not None else aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        self._guard.check(host, port, [r["host"] for r in results])
        return results

    async def close(self) -> None:
        await self._inner.close()


# --------------------------------------------------------------------------------------------------------------
# Helpers


def _origins(urls: Iterable[str]) -> frozenset[Origin]:
    out: set[Origin] = set()
    for url in urls:
        if not url.startswith(("http://", "https://")):
            continue  # local files need no network
        try:
            parsed = URL(url)
        except (ValueError, TypeError):
            continue
        if parsed.raw_host:
            out.add((_host_key(parsed.raw_host), parsed.port or 0))
    return frozenset(out)


def _host_key(host: str) -> str:
    # aiohttp hands the resolver the URL's host with at most one trailing dot; "Example.COM." is example.com.
    return host.lower().rstrip(".")


_INET_ATON_CHARS = frozenset("0123456789abcdefxABCDEFX.")


def literal_ip(host: str) -> str | None:
    """The address a host names without DNS, in its standard spelling; None for a name.

    Beside the standard spellings, every one that C's ``inet_aton`` accepts, as the connect call (getaddrinfo)
    does: ``2130706433``, ``0177.0.0.1`` (octal), ``127.1``, ``0x7f.1`` (hex) are all 127.0.0.1.  Some aiohttp
    versions the package allows pass such a host straight to the connect call, without the resolver, so the
    guard must read it the same way (issue 21 point 11).
    """
    bare = host.partition("%")[0]  # without an IPv6 zone ("%eth0")
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    bare = bare.removesuffix(".")
    # Only digits, hex letters, "x" and dots: inet_aton also accepts trailing text after a space, which no
    # URL host holds.  It reads numbers only, so a name such as "cafe.be" is never taken for an address.
    if not bare or not _INET_ATON_CHARS.issuperset(bare):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(bare))
    except OSError:
        return None


def _join(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}" if port else shown
