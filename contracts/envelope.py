"""The envelope every integration event carries (DESIGN.md, "Every event carries")."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Contract(BaseModel):
    """Base for every model that crosses the wire: frozen and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# A code for an agency, a role or a kind of task: lower case, never free text or a name.
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
# An opaque reference to a person, household, child or worker: never a name.
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
Ref = Annotated[str, Field(min_length=1, max_length=128, pattern=REF_PATTERN)]


class Actor(Contract):
    """Who did it. ``id`` is an opaque reference, never a person's name."""

    id: str = Field(min_length=1, max_length=128)
    agency: str = Field(min_length=1, max_length=64)
    role: str = Field(min_length=1, max_length=64)


class Requester(Actor):
    """Who sends a command, with what their token allows beyond role and agency: the places
    and operations it is limited to (empty: not limited). The owning service decides the
    command from this as the front door did (services/runtime/authorization.py), so a command
    that reaches it by another path is refused too. Only ``Actor``'s fields are recorded."""

    places: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] = Field(
        default=(), max_length=100
    )
    operations: tuple[UUID, ...] = Field(default=(), max_length=100)


class IntegrationEvent(Contract):
    """Common envelope.

    ``operation_id`` is the correlation id: every event that follows from an operation carries
    it, so one operation can be followed across services. ``causation_id`` is the ``event_id``
    of the event that caused this one (``None`` for an event caused by a person's command).
    """

    # Set on each concrete class; used for the subject and the registry.
    source: ClassVar[str]
    event_type: str
    schema_version: int
    event_id: UUID
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    operation_id: UUID
    causation_id: UUID | None = None
    actor: Actor
    reason: str | None = None
