"""The address guard reads every spelling of an IPv4 address that ``inet_aton`` accepts (issue 21 point 11).

aiohttp versions that ``aiohttp>=3.9`` still allows hand a host such as ``2130706433``, ``0177.0.0.1`` or
``127.1`` straight to the connect call, which reads it as 127.0.0.1, without asking the resolver.  The guard's
middleware must read it the same way and refuse it, whatever aiohttp itself does (3.14 refuses such URLs too,
which is why the middleware is called directly here: through a 3.14 session the test could not fail).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import pytest
from yarl import URL

from newswatch.feeds.netguard import AddressGuard, AddressRefused, literal_ip

SPELLINGS = {
    "2130706433": "127.0.0.1",  # one 32-bit number
    "0177.0.0.1": "127.0.0.1",  # octal
    "127.1": "127.0.0.1",  # a.b: b fills the last 24 bits
    "127.0.1": "127.0.0.1",  # a.b.c
    "0x7f.1": "127.0.0.1",  # hex
    "0X7F.0.0.1": "127.0.0.1",
    "0x7f000001": "127.0.0.1",
    "017700000001": "127.0.0.1",
    "0": "0.0.0.0",
    "10.1": "10.0.0.1",
    "0xa9.0xfe.0xa9.0xfe": "169.254.169.254",  # the cloud metadata service
    "127.1.": "127.0.0.1",  # with the root's trailing dot
}


@pytest.mark.parametrize(("host", "ip"), SPELLINGS.items())
def test_every_inet_aton_spelling_is_read_as_its_address(host: str, ip: str) -> None:
    assert literal_ip(host) == ip


@pytest.mark.parametrize("host", ["example.com", "cafe.be", "beef", "0x", "1.2.3.4.5", "news.example."])
def test_names_stay_names(host: str) -> None:
    assert literal_ip(host) is None


@dataclass
class Request:
    """What the middleware reads of an aiohttp request: its URL."""

    url: URL


@pytest.mark.parametrize("host", list(SPELLINGS))
async def test_the_middleware_refuses_each_spelling_before_any_connection(host: str) -> None:
    guard = AddressGuard(["https://news.example/feed.xml"])
    connected: list[URL] = []

    async def handler(req: aiohttp.ClientRequest) -> aiohttp.ClientResponse:
        connected.append(req.url)
        raise AssertionError("the request went on")

    url = URL(f"http://{host}:6379/")
    with pytest.raises(AddressRefused) as refused:
        await guard.middleware(Request(url), handler)  # type: ignore[arg-type]
    assert f"({SPELLINGS[host]}) refused:" in str(refused.value)
    assert "neither public nor listed in the config" in str(refused.value)
    assert connected == []


async def test_a_public_address_in_any_spelling_goes_on() -> None:
    guard = AddressGuard()
    seen: list[URL] = []

    async def handler(req: aiohttp.ClientRequest) -> aiohttp.ClientResponse:
        seen.append(req.url)
        return None  # type: ignore[return-value]

    for host in ("1572395042", "0x5d.0xb8.0xd7.0x0e", "93.184.215.14"):
        await guard.middleware(Request(URL(f"http://{host}/")), handler)  # type: ignore[arg-type]
    assert len(seen) == 3
