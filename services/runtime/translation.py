"""From stored domain events to integration events: the envelope part, shared by every service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

from pydantic import BaseModel

from contracts import Actor as ActorContract
from contracts import DeadLetterRecorded, IntegrationEvent
from contracts.commands import Command as WireCommand
from contracts.envelope import Requester
from services.runtime.authorization import Caller
from services.runtime.clock import Clock
from services.runtime.dead_letters import DeadLetter
from services.runtime.deciding import Sender
from services.runtime.meta import SERVICE_ACTORS, Actor, Meta, derived_id

Translator = Callable[[Any], IntegrationEvent | None]

Facts = TypeVar("Facts")


def facts_from(model: BaseModel, cls: type[Facts]) -> Facts:
    """A domain value (a dataclass) of the fields it shares with a wire command, copied by
    name, as plain values (lists, not tuples): a field added to both needs no edit here."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**model.model_dump(mode="json", include=names))


def actor_of(actor: ActorContract) -> Actor:
    """The person behind a command, from its contract to the domain's own record."""
    return Actor(id=actor.id, agency=actor.agency, role=actor.role)


def sender_of(command: WireCommand) -> Sender:
    """Who sent a wire command, and why, as the application stamps its events' meta."""
    return Sender(actor_of(command.actor), caller_of(command.actor), command.reason)


def caller_of(actor: Requester) -> Caller:
    """Who sent a command, as the authorization table asks about them."""
    return Caller(
        subject=actor.id,
        role=actor.role,
        agency=actor.agency,
        places=actor.places,
        operations=tuple(str(o) for o in actor.operations),
    )


def caused_by(event: IntegrationEvent, service: str, clock: Clock) -> Meta:
    """The meta of what ``service`` does now because of an upstream ``event``."""
    return Meta(
        occurred_at=clock.now(),
        operation_id=event.operation_id,
        actor=SERVICE_ACTORS[service],
        causation_id=event.event_id,
    )


def envelope(service: str, domain_event: Any) -> dict[str, Any]:
    """The envelope fields for a stored domain event that carries ``meta``.

    The event id is derived from the event's place in its aggregate, so re-publishing the same
    stored event always yields the same integration event id.
    """
    meta: Meta = domain_event.meta
    return {
        "event_id": derived_id(
            service, domain_event.originator_id, domain_event.originator_version
        ),
        "occurred_at": meta.occurred_at,
        "recorded_at": domain_event.timestamp,
        "operation_id": meta.operation_id,
        "causation_id": meta.causation_id,
        "actor": {"id": meta.actor.id, "agency": meta.actor.agency, "role": meta.actor.role},
        "reason": meta.reason,
    }


def translate_dead_letter(service: str, domain_event: Any) -> IntegrationEvent | None:
    e = domain_event
    if not isinstance(e, DeadLetter.Recorded):
        return None
    return DeadLetterRecorded(
        **envelope(service, e),
        consumer=e.consumer,
        subject=e.subject,
        stream_sequence=e.stream_sequence,
        notification_id=e.notification_id,
        error=e.error,
        body=e.body,
    )
