"""The envelope every integration event carries (DESIGN.md, "Every event carries")."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field


class Contract(BaseModel):
    """Base for every model that crosses the wire: frozen and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _no_bool(value: Any) -> Any:
    """A number is written as one: pydantic would read ``true`` as 1, which the schema (and
    the caller) does not mean."""
    if isinstance(value, bool):
        raise ValueError("a number, not true or false")
    return value


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _time_as_text(value: Any) -> Any:
    """A time is written as RFC 3339 text, as the schema says: pydantic would read a number
    (``0``, or ``0.5`` in a query) as seconds since 1970, a time nobody meant."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("a date and time with its offset, e.g. 2026-11-29T13:00:00+13:00")
    return value


# What the API's bodies and queries take exactly as their schemas say.
NoBool = BeforeValidator(_no_bool)
TimeAsText = BeforeValidator(_time_as_text)
Instant = Annotated[AwareDatetime, TimeAsText]

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

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # Every event type registers itself as it is defined: the one list of events
        # (contracts/registry.py's ALL_EVENTS) is never kept by hand.
        super().__pydantic_init_subclass__(**kwargs)
        EVENT_TYPES.append(cls)


# Every integration event class, in the order defined (see IntegrationEvent).
EVENT_TYPES: list[type[IntegrationEvent]] = []
