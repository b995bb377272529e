"""What clear is asked to do, in its own words (the transport layer makes these of the wire
commands in contracts/commands.py, whose names they do not share).

The facts of an arrest, a seizure or a witness travel whole, as the domain's value; the
application stamps the events' meta from ``sender``. ``command_id`` makes a retry answer what
the first made instead of recording it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.clear.domain import ArrestFacts, SeizureFacts, StagedHousehold, WitnessFacts
from services.runtime.deciding import Sender


@dataclass(frozen=True)
class Plan:
    name: str
    district: str
    place: str
    target_group: str
    planned_start: datetime
    sender: Sender
    command_id: UUID | None = None


@dataclass(frozen=True)
class Launch:
    operation_id: UUID
    sender: Sender


@dataclass(frozen=True)
class Stage:
    """Support the planning cell expects a household to need, staged before launch."""

    operation_id: UUID
    household: StagedHousehold
    sender: Sender


@dataclass(frozen=True)
class Arrest:
    operation_id: UUID
    facts: ArrestFacts
    sender: Sender
    command_id: UUID | None = None


@dataclass(frozen=True)
class Seize:
    operation_id: UUID
    facts: SeizureFacts
    sender: Sender
    command_id: UUID | None = None


@dataclass(frozen=True)
class RegisterKeyWitness:
    operation_id: UUID
    facts: WitnessFacts
    sender: Sender
    command_id: UUID | None = None


@dataclass(frozen=True)
class Conclude:
    operation_id: UUID
    sender: Sender
