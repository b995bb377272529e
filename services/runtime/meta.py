"""What every domain event records about itself, beside its own facts.

The relay turns this into the integration event envelope: when it happened, which operation it
belongs to (correlation), which event caused it (causation), who did it and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.persistence import Transcoding

from contracts.agencies import SYSTEM_AGENCY
from contracts.registry import PRODUCERS
from services.runtime.tracing import current_traceparent

NAMESPACE = uuid5(NAMESPACE_URL, "https://chb.example.nz/ids")


def derived_id(*parts: object) -> UUID:
    """A stable id from other ids, so that processing the same input twice lands on the same
    aggregate instead of creating a second one."""
    return uuid5(NAMESPACE, ":".join(str(p) for p in parts))


@dataclass(frozen=True)
class Actor:
    id: str
    agency: str
    role: str


# The services act as the system itself: its reserved code, no agency of the register.
SERVICE_ACTORS = {
    name: Actor(id=f"{name}-service", agency=SYSTEM_AGENCY, role="service") for name in PRODUCERS
}


@dataclass(frozen=True)
class Meta:
    occurred_at: datetime
    operation_id: UUID
    actor: Actor
    causation_id: UUID | None = None
    reason: str | None = None
    # The span current when the event was decided (W3C traceparent), so that the relay, which
    # may publish it much later or after a restart, can carry the trace on: stored with the
    # event, in its transaction, the only place that outlives the process that recorded it.
    # Taken from the ambient context so that no command or policy has to pass it along; None
    # (and not stored at all) when nothing is being traced. Ids only: it names no one.
    traceparent: str | None = field(default_factory=current_traceparent, compare=False)


class MetaAsDict(Transcoding):
    type = Meta
    name = "chb_meta"

    def encode(self, obj: Meta) -> dict[str, Any]:
        # By hand, in the fields' order (what ``dataclasses.asdict`` gave, at a fraction of
        # its cost: it copies every value deeply, for every event stored).
        actor = obj.actor
        data: dict[str, Any] = {
            "occurred_at": obj.occurred_at,
            "operation_id": obj.operation_id,
            "actor": {"id": actor.id, "agency": actor.agency, "role": actor.role},
            "causation_id": obj.causation_id,
            "reason": obj.reason,
        }
        if obj.traceparent is not None:
            # Untraced events are stored exactly as before the field existed.
            data["traceparent"] = obj.traceparent
        return data

    def decode(self, data: dict[str, Any]) -> Meta:
        return Meta(
            occurred_at=data["occurred_at"],
            operation_id=data["operation_id"],
            actor=Actor(**data["actor"]),
            causation_id=data["causation_id"],
            reason=data["reason"],
            traceparent=data.get("traceparent"),
        )
