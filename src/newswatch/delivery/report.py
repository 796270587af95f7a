"""What a delivery run is told (:class:`DeliveryPolicy`) and what it tells back (:class:`DeliveryReport`).

Plain data shared by the outbox loop and its digest and mute paths (outbox.py, digests.py, effects.py), kept
apart so those modules import it rather than each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newswatch import constants as C


@dataclass(frozen=True)
class DeliveryPolicy:
    flood_max: int = 10  # top-level messages per target and window before the rest is rolled into a digest
    flood_window: float = 60.0
    backoff_base: float = C.DELIVERY_BACKOFF_BASE_S
    backoff_cap: float = C.DELIVERY_BACKOFF_CAP_S
    parked_ttl: float = C.DEFAULT_PARKED_TTL_S  # parked records are deleted this long after they were parked


@dataclass
class DeliveryReport:
    sent: int = 0
    digests: int = 0
    retried: int = 0
    parked: int = 0
    muted: int = 0  # records a mute set from Slack kept from their channel
    held: int = 0  # records of a snoozed watch moved to their channel's held queue
    errors: list[str] = field(default_factory=list)
    next_due: float | None = None  # earliest time a waiting entry may be retried

    def add(self, other: DeliveryReport) -> None:
        """Count ``other``'s deliveries in this report too."""
        self.sent += other.sent
        self.digests += other.digests
        self.retried += other.retried
        self.parked += other.parked
        self.muted += other.muted
        self.held += other.held
        self.errors += other.errors
        self.next_due = other.next_due
