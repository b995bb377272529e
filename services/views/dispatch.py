"""The one table of how each integration event changes the views, and the list of those that
change none. Every event the contracts know is in exactly one of the two (a test says so), so
a new event cannot be forgotten: it is either given a function here or named as changing
nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from contracts import (
    AgencyChanged,
    AgencyRegistered,
    ArrestLinkedToCase,
    ArrestRecorded,
    CaseTasksAttached,
    ContactPointChanged,
    DeadLetterRecorded,
    HouseholdCaseJoined,
    HouseholdErased,
    IntegrationEvent,
    MilestoneChanged,
    MilestoneScheduled,
    NotificationChanged,
    OperationConcluded,
    OperationLaunched,
    OperationPlanned,
    PersonalDetailsRead,
    PlanGateDecided,
    PlanGateSignedOff,
    PlaybookAdopted,
    ProgrammeChanged,
    ProgrammeRegistered,
    ResiliencePlanOpened,
    SeizureRecorded,
    SupportTaskChanged,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
    WitnessRegistered,
)
from contracts.indicators import (
    IndicatorImportCommitted,
    IndicatorImportStarted,
    IndicatorRowsAdded,
)
from services.views import agency_views, build_views, clear_views, hold_views

if TYPE_CHECKING:
    from services.views.read_model import ReadModel

# Each function takes the event type its key names; the table cannot say so to the type
# checker, hence ``Any`` for the event.
ViewChange = Callable[["ReadModel", Any], None]

VIEW_CHANGES: dict[type[IntegrationEvent], ViewChange] = {
    # clear
    OperationPlanned: clear_views.operation_planned,
    OperationLaunched: clear_views.operation_launched,
    ArrestRecorded: clear_views.arrest_recorded,
    SeizureRecorded: clear_views.seizure_recorded,
    WitnessRegistered: clear_views.witness_registered,
    OperationConcluded: clear_views.operation_concluded,
    # hold
    WhanauCaseOpened: hold_views.whanau_case_opened,
    ArrestLinkedToCase: hold_views.arrest_linked_to_case,
    SupportTaskOpened: hold_views.support_task_opened,
    SupportTaskChanged: hold_views.support_task_changed,
    SupportTaskRescheduled: hold_views.support_task_rescheduled,
    PlaybookAdopted: hold_views.playbook_adopted,
    PersonalDetailsRead: hold_views.personal_details_read,
    HouseholdErased: hold_views.household_erased,
    DeadLetterRecorded: hold_views.dead_letter_recorded,
    AgencyRegistered: agency_views.agency_registered,
    AgencyChanged: agency_views.agency_changed,
    # build
    ResiliencePlanOpened: build_views.resilience_plan_opened,
    PlanGateSignedOff: build_views.plan_gate_signed_off,
    PlanGateDecided: build_views.plan_gate_decided,
    MilestoneScheduled: build_views.milestone_scheduled,
    MilestoneChanged: build_views.milestone_changed,
    ProgrammeRegistered: build_views.programme_registered,
    ProgrammeChanged: build_views.programme_changed,
    IndicatorImportStarted: build_views.indicator_import_started,
    IndicatorRowsAdded: build_views.indicator_rows_added,
    IndicatorImportCommitted: build_views.indicator_import_committed,
}

# Events no view shows: what they say is already in the views by another event.
CHANGE_NO_VIEW: frozenset[type[IntegrationEvent]] = frozenset(
    {
        # Hold's own record of where each household's cases are (for erasure): the views
        # know it from WhanauCaseOpened.
        HouseholdCaseJoined,
        # Hold's own record of a case's tasks (for need-to-know): each SupportTaskOpened
        # names its case.
        CaseTasksAttached,
        # Notify's record (services/notify): the front door asks notify for it over NATS
        # (GET /notifications, a task's page); no view keeps it yet.
        ContactPointChanged,
        NotificationChanged,
    }
)
