"""The Notifier protocol: where alert records go (Slack, webhooks, Apprise URLs, a JSONL file, the console).

Notifiers receive records from the outbox (plain dicts in the JSONL contract: event, watch, story, title, url,
source, published, matched, at, …; keys starting with ``_`` are private rendering hints) and one target
string naming where in that notifier the record goes (``slack:#mideast``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


class NotifyError(Exception):
    """A record could not be delivered.  ``permanent`` errors (bad token, unknown channel) will not heal by
    retrying; the others (timeouts, 5xx, rate limits) may, after ``retry_after`` seconds when given.
    ``content`` marks a permanent refusal of what the message contained (Slack's ``invalid_blocks``…): the
    same records sent in other messages may still pass.  ``give_up_after`` bounds the attempts of a retryable
    failure: a notifier that cannot tell an outage from a target that will never take the record (Apprise)
    has it parked, with this reason, after that many attempts."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        content: bool = False,
        give_up_after: int | None = None,
    ):
        super().__init__(message)
        self.permanent = permanent or content
        self.retry_after = retry_after
        self.content = content
        self.give_up_after = give_up_after


Record = Mapping[str, Any]


@runtime_checkable
class Notifier(Protocol):
    name: str  # the target kind it serves: "slack", "jsonl", …
    threads: bool  # True when updates can be posted under their story's first message
    pace: float  # seconds between two messages to one target (0: no pacing)

    async def start(self) -> None:
        """Check credentials and open what is needed; raise a permanent NotifyError when it can never work."""
        ...

    async def send(self, target: str, record: Record, thread: str | None) -> str | None:
        """Deliver one record; raise NotifyError on failure.

        ``thread`` is the state this notifier returned for the story's alert (None for an alert, or when the
        alert left no state); the return value is the new state to remember for the story, if any.
        """
        ...

    async def send_digest(self, target: str, records: Sequence[Record], reason: str) -> None:
        """Deliver several alerts as one message (flood control and digest watches)."""
        ...

    async def close(self) -> None: ...


def public(record: Record) -> dict[str, Any]:
    """The record without private rendering hints (keys starting with ``_``)."""
    return {k: v for k, v in record.items() if not k.startswith("_")}
