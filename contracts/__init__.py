"""Integration events exchanged by the clear, hold and build services.

These pydantic models are the only thing that crosses the wire. They are frozen, refuse unknown
fields, and carry a ``schema_version`` so that a consumer can refuse (dead-letter) a version it
does not understand instead of misreading it.
"""

from contracts.build import (
    MilestoneChanged,
    MilestoneScheduled,
    PlanGateDecided,
    PlanGateSignedOff,
    ProgrammeChanged,
    ProgrammeRegistered,
    ResiliencePlanOpened,
)
from contracts.clear import (
    AffectedChild,
    ArrestAges,
    ArrestRecorded,
    Child,
    ChildrenAges,
    OperationConcluded,
    OperationLaunched,
    OperationPlanned,
    SeizureRecorded,
    WitnessRegistered,
)
from contracts.dead_letter import DeadLetterRecorded
from contracts.envelope import Actor, IntegrationEvent
from contracts.hold import (
    AgencyChanged,
    AgencyRegistered,
    ArrestLinkedToCase,
    CaseTasksAttached,
    HouseholdCaseJoined,
    HouseholdErased,
    PersonalDetailsRead,
    PlaybookAdopted,
    SupportTaskChanged,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
)
from contracts.indicators import (
    IndicatorImportCommitted,
    IndicatorImportStarted,
    IndicatorRowsAdded,
)
from contracts.notify import ContactPointChanged, NotificationChanged
from contracts.registry import (
    REGISTRY,
    ContractError,
    MalformedEvent,
    UnknownEventType,
    UnsupportedVersion,
    parse_event,
    subject_for,
)

__all__ = [
    "REGISTRY",
    "Actor",
    "AffectedChild",
    "AgencyChanged",
    "AgencyRegistered",
    "ArrestAges",
    "ArrestLinkedToCase",
    "ArrestRecorded",
    "CaseTasksAttached",
    "Child",
    "ChildrenAges",
    "ContactPointChanged",
    "ContractError",
    "DeadLetterRecorded",
    "HouseholdCaseJoined",
    "HouseholdErased",
    "IndicatorImportCommitted",
    "IndicatorImportStarted",
    "IndicatorRowsAdded",
    "IntegrationEvent",
    "MalformedEvent",
    "MilestoneChanged",
    "MilestoneScheduled",
    "NotificationChanged",
    "OperationConcluded",
    "OperationLaunched",
    "OperationPlanned",
    "PersonalDetailsRead",
    "PlanGateDecided",
    "PlanGateSignedOff",
    "PlaybookAdopted",
    "ProgrammeChanged",
    "ProgrammeRegistered",
    "ResiliencePlanOpened",
    "SeizureRecorded",
    "SupportTaskChanged",
    "SupportTaskOpened",
    "SupportTaskRescheduled",
    "UnknownEventType",
    "UnsupportedVersion",
    "WhanauCaseOpened",
    "WitnessRegistered",
    "parse_event",
    "subject_for",
]
