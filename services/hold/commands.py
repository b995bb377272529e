"""What hold is asked to do, in its own words (the transport layer builds these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from contracts.agencies import AgencyDetails
from services.runtime.authorization import Caller
from services.runtime.meta import Meta


@dataclass(frozen=True)
class OpenedAges:
    """An arrest's, a seizure's or a witness's ages, opened from its sealed text in memory for
    the playbook's rules: never stored, never logged. ``person_age`` is an arrest's only."""

    person_age: int | None
    children: dict[str, int]  # child_ref -> age


@dataclass(frozen=True)
class SupportArrestedPersonsHousehold:
    """Open (or join) the household's case and its tasks after an arrest.

    ``ages`` is the arrest's sealed ages, stored as they came; ``opened`` is what they open to,
    None when they could not be opened (the household's key is gone): then every child counts
    as young and the arrested person as a young person, the protective reading.
    """

    arrest_id: UUID
    household_ref: str
    place: str
    arrested_at: datetime
    children: list[dict[str, Any]]  # references only: {"child_ref": ...}
    only_carer_present: bool
    meta: Meta
    ages: str | None = None
    opened: OpenedAges | None = None


@dataclass(frozen=True)
class PutPlaybookInForce:
    """Put a validated playbook in force for a scope (see ``domain.playbook_scope``)."""

    scope: str
    document: dict[str, Any]
    meta: Meta
    caller: Caller | None = None
    place: str | None = None  # the scope's place, if it is one


@dataclass(frozen=True)
class TakeTaskStep:
    """One step in a task's life, asked for by someone at an agency.

    ``action`` is one of accept, decline, offer, assign, start, consent, complete, close, note;
    the fields each needs are checked by the task itself.
    """

    task_id: UUID
    action: str
    agency: str
    meta: Meta
    reason_code: str | None = None
    reason: str | None = None  # free text, sealed with the household's key
    worker_ref: str | None = None
    outcome: str | None = None
    referral_agency: str | None = None
    consent: str | None = None
    override_role: str | None = None
    text: str | None = None
    to_agency: str | None = None
    # Who asked, with their token's scope (None: the actor in ``meta``, limited to nothing).
    caller: Caller | None = None


@dataclass(frozen=True)
class LogPersonalRead:
    """Someone is about to read a household's personal details: record it first."""

    case_id: UUID
    fields: list[str]
    meta: Meta
    caller: Caller | None = None


@dataclass(frozen=True)
class ForgetHousehold:
    """Record that a household's key is destroyed (once: a second request changes nothing)."""

    household_ref: str
    meta: Meta
    caller: Caller | None = None


@dataclass(frozen=True)
class FireDeadlines:
    """Fire whatever reminders and escalations of a task have fallen due by ``now``."""

    task_id: UUID
    now: datetime


@dataclass(frozen=True)
class ReleaseStagedSupport:
    """The operation launched: open the cases and tasks its planning cell staged."""

    place: str
    launched_at: datetime
    households: list[dict[str, Any]]
    meta: Meta


@dataclass(frozen=True)
class SupportHousehold:
    """Something other than an arrest calls for support for a household: a seizure in its home,
    or a key witness living there. ``event`` is the playbook's name for it."""

    event: str  # seizure | witness_registered
    household_ref: str
    place: str
    at: datetime
    children: list[dict[str, Any]]  # references only: {"child_ref": ...}
    meta: Meta
    seizure_kind: str | None = None
    # The children's ages sealed, and what they open to, as for an arrest
    # (SupportArrestedPersonsHousehold): None opened from sealed ages is the protective reading.
    ages: str | None = None
    opened: OpenedAges | None = None


@dataclass(frozen=True)
class AddAgency:
    """Add an agency to the register; ``caller`` is who asked, as the token allowed them."""

    caller: Caller
    details: AgencyDetails
    meta: Meta


@dataclass(frozen=True)
class AmendAgency:
    """Change an agency's name, kind or places (None: left as it is)."""

    caller: Caller
    code: str
    meta: Meta
    name: str | None = None
    kind: str | None = None
    places: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SeedAgencies:
    """Record those of ``agencies`` the store does not hold yet (hold, at start-up)."""

    agencies: tuple[AgencyDetails, ...]
    meta: Meta
