"""The address guard's rule: which resolved addresses a feed-chosen request may reach, and what is listed."""

from __future__ import annotations

import pytest

from newswatch.feeds.netguard import AddressGuard, AddressRefused, refusal


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("93.184.215.14", None),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fd00::1", "unique-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "private"),  # reserved (class E); Python files it under private too
        ("100.64.0.1", "non-public"),  # shared address space (carrier-grade NAT)
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 around 169.254.169.254
        ("not an ip", "unreadable"),
    ],
)
def test_refusal(ip: str, reason: str | None) -> None:
    assert refusal(ip) == reason


def test_listed_host_and_port_are_trusted_as_written() -> None:
    guard = AddressGuard(["http://localhost:8080/feed.xml", "https://Intranet.Example./rss", "/srv/feed.xml"])
    guard.check("localhost", 8080, ["127.0.0.1"])
    guard.check("intranet.example", 443, ["10.0.0.5"])  # default port of the scheme; case and dot ignored
    guard.check("news.example", 443, ["93.184.215.14"])  # public: always
    with pytest.raises(AddressRefused, match=r"^localhost:6379 \(127\.0\.0\.1\) refused: loopback address"):
        guard.check("localhost", 6379, ["127.0.0.1"])  # same host, another port
    with pytest.raises(AddressRefused, match=r"^127\.0\.0\.1:8080 refused"):
        guard.check("127.0.0.1", 8080, ["127.0.0.1"])  # same address, but not as the config wrote it
    with pytest.raises(AddressRefused, match=r"rebind\.example:80 \(10\.0\.0\.1\) refused: private"):
        guard.check("rebind.example", 80, ["93.184.215.14", "10.0.0.1"])  # one private address is enough


def test_guard_follows_the_running_config() -> None:
    from newswatch.config import Config

    def config(*urls: str) -> Config:
        return Config.model_validate({"feeds": [{"url": u} for u in urls], "watches": []})

    current = config("http://127.0.0.1:9001/a.xml")
    guard = AddressGuard()
    guard.follow(lambda: current)
    assert guard.trusted("127.0.0.1", 9001) and not guard.trusted("127.0.0.1", 9002)
    current = config("http://127.0.0.1:9002/b.xml")  # a reload
    assert guard.trusted("127.0.0.1", 9002) and not guard.trusted("127.0.0.1", 9001)
