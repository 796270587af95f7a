"""Apprise targets (``notify.apprise``): Teams, Discord, Telegram, email, Mattermost, JSON… through the Apprise
library, one outbox queue per URL (``apprise:NAME``).

Owns turning alert records into Apprise's title and body, and running Apprise's calls safely.  Apprise's
clients block (``requests``), so every call runs in this notifier's own small thread pool, never on the event
loop, and is bounded twice: the plugin's socket timeouts (connect and read) end the thread, and the await gives
up after :data:`~newswatch.constants.APPRISE_TIMEOUT_S` with a retryable error (the outbox's send timeout bounds
it too).  Apprise answers only "sent" or "not sent"; why is in the warnings it logs, which are read here per
thread (:class:`_Failures`) and kept out of our log, since its debug lines carry payloads and URLs.  A refusal
(HTTP 4xx but 408/429) is permanent and parks the record; anything else is retried with back-off and parked,
with the reason, after :data:`~newswatch.constants.APPRISE_ATTEMPTS` attempts.  URLs are secrets: messages name
a target by its key and Apprise's privacy label (scheme and masked host), and every part of the URL is
scrubbed from a reason before it is stored or logged.

No threads in these services as Slack has them: a story's later report goes out as its own message that names
the alert (the alert's title is what the notifier remembers for the story).  Text from feeds is sent as plain
text (Apprise escapes it for services that read Markdown or HTML), with ``@`` defused so a title cannot ping
``@everyone``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from newswatch import constants as C
from newswatch.config import AppriseTarget
from newswatch.delivery.notify.base import NotifyError, Record
from newswatch.shared.appriseurl import instantiate, label

__all__ = ["AppriseNotifier"]

_STATUS_RE = re.compile(r"error=(\d{3})\b")
_DIGEST_LINES = 40


class AppriseNotifier:
    name = "apprise"
    threads = True  # the alert's title is kept per story, so a follow-up can name it
    pace = 1.0  # chat services allow about one message a second per channel or webhook

    def __init__(self, targets: Sequence[AppriseTarget], *, timeout: float = C.APPRISE_TIMEOUT_S) -> None:
        self._targets = {t.key: t.url for t in targets}
        self._timeout = timeout
        self._clients: dict[str, Any] = {}
        self._labels: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(max_workers=C.APPRISE_THREADS, thread_name_prefix="newswatch-apprise")

    def __repr__(self) -> str:  # the URLs are secrets
        return f"AppriseNotifier(targets={sorted(self._targets)!r})"

    async def start(self) -> None:
        if len(self._clients) == len(self._targets):
            return
        try:
            built = await asyncio.get_running_loop().run_in_executor(self._pool, self._build)
        except ValueError as exc:
            raise NotifyError(f"notify.apprise: {exc}", permanent=True) from None
        self._clients, self._labels = built

    def _build(self) -> tuple[dict[str, Any], dict[str, str]]:
        clients, labels = {}, {}
        for key, url in self._targets.items():
            plugin = instantiate(url)
            # Apprise's defaults wait long; these bound the blocking call in its thread.
            plugin.socket_connect_timeout = min(
                float(plugin.socket_connect_timeout or 5), C.APPRISE_CONNECT_S
            )
            plugin.socket_read_timeout = min(float(plugin.socket_read_timeout or 15), C.APPRISE_READ_S)
            # The plugin itself, not an Apprise() around it: that may send from threads of its own, where the
            # warnings saying why a message failed would not be this thread's to read.
            clients[key], labels[key] = plugin, label(plugin)
        _Failures.install()
        return clients, labels

    async def send(self, target: str, record: Record, thread: str | None) -> str | None:
        if record.get("event") == "update":
            title, body = _update(record, _alert_of(thread))
            await self._notify(target, title, body)
            return None
        title, body = _alert(record)
        await self._notify(target, title, body)
        # What a follow-up names: the alert's own title and link.
        return json.dumps({"title": str(record.get("title") or ""), "url": str(record.get("url") or "")})

    async def send_digest(self, target: str, records: Sequence[Record], reason: str) -> None:
        lines = [f"• {_text(r.get('title'))} ({_text(r.get('source'))}) {r.get('url') or ''}".rstrip()
                 for r in records[:_DIGEST_LINES]]  # fmt: skip
        if len(records) > _DIGEST_LINES:
            lines.append(f"… and {len(records) - _DIGEST_LINES} more")
        watches = sorted({str(r.get("watch")) for r in records})
        title = f"{len(records)} alerts ({reason}): {_text(', '.join(watches))}"
        await self._notify(target, title, "\n".join(lines))

    async def _notify(self, target: str, title: str, body: str) -> None:
        await self.start()
        key = target.partition(":")[2]
        client = self._clients.get(key)
        if client is None:
            raise NotifyError(f"no Apprise URL is named {key!r} in notify.apprise", permanent=True)
        where = f"Apprise {key} {self._labels[key]}"
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._pool, _send, client, title, body)
        try:
            ok, failures = await asyncio.wait_for(call, self._timeout)
        except TimeoutError:
            raise NotifyError(f"{where}: no answer within {self._timeout:g}s",
                              give_up_after=C.APPRISE_ATTEMPTS) from None  # fmt: skip
        except Exception as exc:  # a plugin bug must fail this record, not the delivery loop
            raise NotifyError(f"{where}: {type(exc).__name__}", give_up_after=C.APPRISE_ATTEMPTS) from None
        if ok:
            return
        said = _scrub("; ".join(failures), self._targets[key])[:300] or "not sent (no reason given)"
        status = next((int(m) for m in _STATUS_RE.findall(said)), None)
        refused = status is not None and 400 <= status < 500 and status not in (408, 429)
        raise NotifyError(f"{where}: {said}", permanent=refused, give_up_after=C.APPRISE_ATTEMPTS)

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _send(client: Any, title: str, body: str) -> tuple[bool, list[str]]:
    """One blocking Apprise call (in a pool thread): whether it was sent, and the warnings it logged."""
    import apprise

    with _Failures.collect() as failures:
        ok = bool(client.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT))
    return ok, failures


class _Failures(logging.Handler):
    """Apprise's warnings and errors, collected per thread: two sends in two threads never mix their reasons."""

    _local = threading.local()
    _installed = False
    _lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        sink = getattr(self._local, "sink", None)
        if sink is not None and len(sink) < 5:
            sink.append(" ".join(record.getMessage().split())[:200])

    @classmethod
    def install(cls) -> None:
        with cls._lock:
            if not cls._installed:
                logging.getLogger("apprise").addHandler(cls(logging.WARNING))
                cls._installed = True

    @classmethod
    def collect(cls) -> _Collect:
        return _Collect(cls._local)


class _Collect:
    def __init__(self, local: threading.local) -> None:
        self._local = local

    def __enter__(self) -> list[str]:
        self._local.sink = []
        sink: list[str] = self._local.sink
        return sink

    def __exit__(self, *exc: object) -> None:
        self._local.sink = None


def _alert(record: Record) -> tuple[str, str]:
    title = f"{_text(record.get('watch'))}: {_text(record.get('title'))}"
    lines = [
        f"{_text(record.get('source'))} · {_when(record.get('published'))}",
        str(record.get("url") or ""),
    ]
    if record.get("matched"):
        lines.append("matched: " + ", ".join(_text(t) for t in record["matched"]))
    if record.get("snippet"):
        lines.append(f"“{_text(record['snippet'])}”")
    related = record.get("related")
    if isinstance(related, dict) and related.get("title"):
        lines.append(f"possibly related to: {_text(related['title'])} {related.get('url') or ''}".rstrip())
    return title, "\n".join(line for line in lines if line)


def _update(record: Record, alert: dict[str, str] | None) -> tuple[str, str]:
    named = f"“{_text(alert['title'])}”" if alert and alert.get("title") else f"story {record.get('story')}"
    title = f"{_text(record.get('watch'))}: update to {named}"
    lines = [
        f"Also reported by {_text(record.get('source'))}: {_text(record.get('title'))}",
        f"{_when(record.get('published'))} · {record.get('url') or ''}",
    ]
    if alert and alert.get("url"):
        lines.append(f"first report: {alert['url']}")
    if record.get("reason"):
        lines.append(_text(record["reason"]))
    return title, "\n".join(lines)


def _alert_of(thread: str | None) -> dict[str, str] | None:
    try:
        data = json.loads(thread) if thread else None
    except ValueError:
        return None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None


def _text(value: Any) -> str:
    """Feed text on one line, with ``@`` defused (no ``@everyone``/``@here`` pings on Discord or Mattermost)."""
    return " ".join(("" if value is None else str(value)).split()).replace("@", "@\u200b")[:500]


def _when(published: Any) -> str:
    try:
        return datetime.fromisoformat(str(published)).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return "no date"


def _scrub(text: str, url: str) -> str:
    """``text`` without any part of ``url`` that could be a secret (user, password, path segments, query
    values, and the host when it is no host name)."""
    try:
        parts = urlsplit(url)
        secrets = [parts.username or "", parts.password or "", *parts.path.split("/")]
        secrets += [v for _, v in parse_qsl(parts.query)]
        host = parts.hostname or ""
        if "." not in host and host != "localhost":
            secrets.append(host)
    except ValueError:
        return "(reason withheld)"
    for s in sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True):
        text = text.replace(s, "***")
    return text
