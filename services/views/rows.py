"""The views' rows: one typed class per kind of item the front door lists and the audit tools
rebuild. ``as_json`` is the item as the API serves it.

Each row ends with its trace: the event that made it (``event_id``), the event that caused
that (``causation_id``) and the operation it belongs to (``correlation_id``), so anyone can see
why it exists. What a row holds of a step's detail (a task's history, a programme's votes, a
gate's sign-offs) stays as the JSON the event gave, since it is shown as given."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar

JSON = dict[str, Any]


# Each row class's field names, asked of ``dataclasses.fields`` once: an inbox shows thousands
# of rows, and asking it per row was most of the time spent turning them into JSON.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


class Row:
    """What every row can do: be shown, and say where it lies (for a token's scope)."""

    __slots__ = ()
    # Fields an item has only once an event has set them: absent before (as the API has
    # always answered), not null.
    ONCE_SET: ClassVar[frozenset[str]] = frozenset()

    def as_json(self) -> JSON:
        names = _FIELD_NAMES.get(type(self))
        if names is None:
            names = _FIELD_NAMES[type(self)] = tuple(f.name for f in fields(self))  # type: ignore[arg-type]
        shown = {name: getattr(self, name) for name in names}
        for name in self.ONCE_SET:
            if shown[name] is None:
                del shown[name]
        return shown

    def where(self) -> tuple[str | None, str | None]:
        """(place, operation id) of the item, for the places and operations a token covers."""
        return getattr(self, "place", None), getattr(self, "operation_id", None)


@dataclass(slots=True, kw_only=True)
class OperationRow(Row):
    ONCE_SET: ClassVar[frozenset[str]] = frozenset({"launched_at", "concluded_at"})
    operation_id: str
    name: str
    district: str
    place: str
    target_group: str
    planned_start: str
    status: str = "planned"
    arrests: int = 0
    seizures: int = 0
    event_id: str
    causation_id: str | None
    correlation_id: str
    launched_at: str | None = None
    concluded_at: str | None = None


@dataclass(slots=True, kw_only=True)
class CaseRow(Row):
    case_id: str
    operation_id: str
    household_ref: str
    place: str
    arrest_ids: list[str] = field(default_factory=list)
    children: int = 0
    opened_at: str
    event_id: str
    causation_id: str | None
    correlation_id: str


@dataclass(slots=True, kw_only=True)
class TaskRow(Row):
    task_id: str
    case_id: str
    operation_id: str
    kind: str
    lead_agency: str
    # The agency the task is offered to or held by now (None between a decline and the next
    # offer, and while unplaced).
    agency: str | None
    fallback_agencies: list[str]
    due_at: str
    status: str = "offered"
    worker_ref: str | None = None
    playbook: str
    rule_id: str
    escalation_level: str | None = None
    place: str | None
    completed_at: str | None = None
    opened_at: str
    event_id: str
    causation_id: str | None
    correlation_id: str


@dataclass(slots=True, kw_only=True)
class MilestoneRow(Row):
    ONCE_SET: ClassVar[frozenset[str]] = frozenset({"escalation_level", "history"})
    milestone_id: str
    plan_id: str
    operation_id: str
    place: str
    label: str
    days_after_conclusion: int
    owner_agency: str
    due_at: str
    status: str
    event_id: str
    causation_id: str | None
    correlation_id: str
    escalation_level: str | None = None
    history: list[JSON] | None = None


@dataclass(slots=True, kw_only=True)
class PlanRow(Row):
    plan_id: str
    place: str
    phase: str = "hold"
    gate: JSON | None = None
    # Each leadership-group member's own sign-off of the move to Build, in order.
    sign_offs: list[JSON] = field(default_factory=list)
    opened_at: str
    event_id: str
    causation_id: str | None
    correlation_id: str


@dataclass(slots=True, kw_only=True)
class ProgrammeRow(Row):
    programme_id: str
    name: str
    provider: str
    place: str
    focus_area: str
    funding_source: str
    agreement_kind: str
    # Money as exact decimal text.
    committed: str = "0.00"
    spent: str = "0.00"
    people_engaged: int = 0
    reported_cost: str = "0.00"
    reported_value: str = "0.00"
    social_return: str | None = None
    # The panel members' own votes since the last decision (one per person).
    votes: list[JSON] = field(default_factory=list)
    history: list[JSON] = field(default_factory=list)
    event_id: str
    causation_id: str | None
    correlation_id: str


@dataclass(slots=True, kw_only=True)
class PlaybookRow(Row):
    """A playbook in force for a scope: one adopted, or the national default until one is."""

    scope: str
    playbook: str
    rules: int
    adopted_at: str | None
    adopted_by: JSON | None
    default: bool = False
    event_id: str | None
    causation_id: str | None
    correlation_id: str | None


@dataclass(slots=True, kw_only=True)
class TaskStep(Row):
    """One line of a task's history: what, when, who (person, agency, role), why."""

    change: str
    at: str
    actor: JSON
    reason: str | None
    # The step's facts (agency, worker, codes; words typed on it, sealed).
    detail: JSON
    event_id: str
    causation_id: str | None
    correlation_id: str


@dataclass(slots=True)
class Holding:
    """An agency's time holding a task: from its acceptance until it finished the task or the
    task moved on (None: holds it still). For the need-to-know window on a household."""

    agency: str
    since: datetime
    until: datetime | None = None


@dataclass(slots=True, kw_only=True)
class ArrestRecord(Row):
    """An arrest as the household's record keeps it: its ages and personal details sealed."""

    arrest_id: str
    person_ref: str
    children: list[str]
    only_carer_present: bool
    recorded_at: str
    ages: str | None
    personal: str | None


@dataclass(slots=True, kw_only=True)
class SeizureRecord(Row):
    """A seizure made in the household's home: its children's ages sealed."""

    seizure_id: str
    kind: str
    children: list[str]
    recorded_at: str
    ages: str | None


@dataclass(slots=True, kw_only=True)
class WitnessRecord(Row):
    """A key witness living in the household: the children's ages sealed."""

    witness_id: str
    witness_ref: str
    children: list[str]
    recorded_at: str
    ages: str | None


@dataclass(slots=True, kw_only=True)
class PersonalReadRow(Row):
    """Someone read a household's personal details: who, when, why, which fields."""

    at: str
    actor: JSON
    reason: str | None
    fields: list[str]
    event_id: str
    causation_id: str | None
    correlation_id: str


@dataclass(slots=True, kw_only=True)
class ErasureRow(Row):
    erased_at: str
    actor: JSON
    reason: str | None
    event_id: str


@dataclass(slots=True, kw_only=True)
class DeadLetterRow(Row):
    consumer: str
    subject: str
    error: str
    event_id: str
    causation_id: str | None
    correlation_id: str


@dataclass(slots=True, kw_only=True)
class ImportFacts:
    """An indicator import, committed or not: who started it and the places its rows name so
    far (a token sees, adds to and commits only an import whose places it covers)."""

    import_id: str
    starter_agency: str | None = None
    places: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class ImportRow(Row):
    """A committed indicator import."""

    import_id: str
    file_name: str
    rows: int
    places: list[str]
    starter_agency: str | None
    committed_at: str
    event_id: str
    causation_id: str | None
    correlation_id: str


@dataclass(slots=True, kw_only=True)
class AgencyRow(Row):
    """An agency in the register: seeded (registered by no one) or recorded by hold."""

    code: str
    name: str
    kind: str
    places: list[str]
    registered_at: str | None = None
    registered_by: JSON | None = None


@dataclass(slots=True, kw_only=True)
class AgencyStep(Row):
    """An agency's registration or a change to it: the fields as they were set."""

    change: str
    at: str
    actor: JSON
    reason: str | None
    fields: JSON
    event_id: str


def shown(rows: Iterable[Row]) -> list[JSON]:
    """Rows as the API serves them, in order."""
    return [row.as_json() for row in rows]
