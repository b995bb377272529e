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


def command_of(wire: BaseModel, cls: type[Facts], **given: object) -> Facts:
    """A service's own command (a dataclass) of a wire command: every field they share copied
    by name, as the wire holds it, and ``given`` (who sent it, the meta the application
    stamped, anything shaped differently): a field added to both needs no edit here."""
    names = {f.name for f in fields(cls)} - set(given)  # type: ignore[arg-type]
    return cls(**wire.model_dump(include=names), **given)


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


Rule = Callable[[Any], IntegrationEvent]
# A contract field computed from the stored event.
Compute = Callable[[Any], object]
# Filled from the envelope (``envelope``), never copied from the event's own attributes.
ENVELOPE_FIELDS = frozenset(IntegrationEvent.model_fields)


class Translation:
    """A service's stored events as integration events: a table from each stored event's type
    to its rule, most of them ``by_name``; a dead letter translates the same in every service.
    Anything else (a planning record, a receipt) is not published."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.rules: dict[type, Rule] = {DeadLetter.Recorded: self.by_name(DeadLetterRecorded)}

    def by_name(
        self, contract: type[IntegrationEvent], id_as: str | None = None, **given: Compute
    ) -> Rule:
        """The envelope, then every field of ``contract`` the stored event has under the same
        name, the aggregate's id as ``id_as``, and the fields ``given`` computes: a field added
        to both the event and its contract needs no edit here."""
        names = tuple(set(contract.model_fields) - ENVELOPE_FIELDS - set(given) - {id_as})

        def rule(e: Any) -> IntegrationEvent:
            fields = {n: getattr(e, n) for n in names if hasattr(e, n)}
            if id_as is not None:
                fields[id_as] = e.originator_id
            fields.update((name, compute(e)) for name, compute in given.items())
            return contract(**envelope(self.service, e), **fields)

        return rule

    def __call__(self, domain_event: Any) -> IntegrationEvent | None:
        rule = self.rules.get(type(domain_event))
        return None if rule is None else rule(domain_event)
