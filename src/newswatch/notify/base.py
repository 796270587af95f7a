"""The Notifier protocol: where alert records go (Slack, a JSONL file, the console)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from newswatch.models import Alert


class NotifyError(Exception):
    """A record could not be delivered.  ``permanent`` errors (bad token, unknown channel) will not heal by
    retrying; the others (timeouts, 5xx, rate limits) may."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@runtime_checkable
class Notifier(Protocol):
    name: str

    async def start(self) -> None:
        """Check credentials and open what is needed; raise a permanent NotifyError when it can never work."""
        ...

    async def send(self, alert: Alert) -> None:
        """Deliver one record or raise NotifyError."""
        ...

    async def close(self) -> None: ...
