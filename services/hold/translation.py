"""Hold's stored events as the integration events other services see (the relay publishes
what ``translate`` gives)."""

from __future__ import annotations

from typing import Any

from contracts import (
    AgencyChanged,
    AgencyRegistered,
    ArrestLinkedToCase,
    CaseTasksAttached,
    HouseholdCaseJoined,
    HouseholdErased,
    IntegrationEvent,
    PersonalDetailsRead,
    PlaybookAdopted,
    SupportTaskChanged,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
)
from services.hold.agencies import Agency
from services.hold.domain import HouseholdCases, HouseholdErasure, PlaybookAdoption, WhanauCase
from services.hold.task import STEPS, SupportTask
from services.runtime.sealing import is_sealed
from services.runtime.translation import envelope, translate_dead_letter


def translate_agency(e: Any) -> IntegrationEvent | None:
    if isinstance(e, Agency.Registered):
        return AgencyRegistered(
            **envelope("hold", e), code=e.code, name=e.name, kind=e.kind, places=tuple(e.places)
        )
    if isinstance(e, Agency.Changed):
        return AgencyChanged(
            **envelope("hold", e),
            code=e.code,
            name=e.name,
            kind=e.kind,
            places=tuple(e.places),
            changed=tuple(e.changed),
        )
    return None


def coded_reason(e: Any) -> dict[str, Any]:
    """A decline's or a close's reason as it travels: the code, and free text only sealed (a
    reason typed in the clear before reasons were sealed stays in this store, unpublished)."""
    return {
        "reason_code": e.reason_code or "unspecified",
        "reason": e.reason if is_sealed(e.reason) else None,
    }


def _task_change(e: Any) -> SupportTaskChanged | None:
    """A step in a task's life as the integration event other services see: its name and the
    status it leaves (``STEPS``, beside the task's state machine), what it says, and the agency
    it concerns where the event says."""
    step = STEPS.get(type(e))
    if step is None:
        return None
    change, status = step
    return SupportTaskChanged(
        **envelope("hold", e),
        task_id=e.originator_id,
        change=change,
        status=e.status if isinstance(e, SupportTask.Assigned) else status,
        agency=getattr(e, "agency", None),
        worker_ref=getattr(e, "worker_ref", None),
        detail=_step_detail(e),
    )


def _step_detail(e: Any) -> dict[str, Any]:
    T = SupportTask
    match e:
        case T.Declined() | T.Closed():
            return coded_reason(e)
        case T.ConsentRecorded():
            return {
                "referral_agency": e.referral_agency,
                "consent": e.consent,
                "override_role": e.override_role,
                "override_reason": e.override_reason,
            }
        case T.Completed():
            return {"outcome": e.outcome, "referral_agency": e.referral_agency}
        case T.NoteAdded():
            return {"text": e.text}
        case T.Reminded():
            return {"step": e.step, "due_at": e.due_at.isoformat()}
        case T.Escalated():
            return {"step": e.step, "level": e.level, "due_at": e.due_at.isoformat()}
    return {}


def translate(domain_event: Any) -> IntegrationEvent | None:
    e = domain_event
    agency = translate_agency(e)
    if agency is not None:
        return agency
    if isinstance(e, WhanauCase.Opened):
        return WhanauCaseOpened(
            **envelope("hold", e),
            case_id=e.originator_id,
            household_ref=e.household_ref,
            place=e.place,
        )
    if isinstance(e, WhanauCase.ArrestLinked):
        return ArrestLinkedToCase(
            **envelope("hold", e),
            case_id=e.originator_id,
            arrest_id=e.arrest_id,
            children_total=e.children_total,
            only_carer_present=e.only_carer_present,
        )
    if isinstance(e, WhanauCase.TasksAttached):
        return CaseTasksAttached(
            **envelope("hold", e), case_id=e.originator_id, task_ids=tuple(e.task_ids)
        )
    if isinstance(e, HouseholdCases.Started | HouseholdCases.CaseJoined):
        return HouseholdCaseJoined(
            **envelope("hold", e), household_ref=e.household_ref, case_id=e.case_id, place=e.place
        )
    if isinstance(e, WhanauCase.PersonalDetailsRead):
        return PersonalDetailsRead(
            **envelope("hold", e),
            case_id=e.originator_id,
            household_ref=e.household_ref,
            fields=tuple(e.fields),
        )
    if isinstance(e, HouseholdErasure.Erased):
        return HouseholdErased(**envelope("hold", e), household_ref=e.household_ref)
    if isinstance(e, SupportTask.Opened):
        return SupportTaskOpened(
            **envelope("hold", e),
            task_id=e.originator_id,
            case_id=e.case_id,
            kind=e.kind,
            lead_agency=e.lead_agency,
            fallback_agencies=tuple(e.fallback_agencies),
            due_at=e.due_at,
            reminders_before_seconds=tuple(e.reminders_before),
            escalations_after_seconds=tuple(e.escalations_after),
            playbook=e.playbook,
            rule_id=e.rule_id,
        )
    if isinstance(e, PlaybookAdoption.Adopted):
        return PlaybookAdopted(
            **envelope("hold", e),
            scope=e.scope,
            name=e.name,
            version=e.version,
            rules=len(e.document.get("rules", [])),
        )
    change = _task_change(e)
    if change is not None:
        return change
    if isinstance(e, SupportTask.Rescheduled):
        return SupportTaskRescheduled(
            **envelope("hold", e),
            task_id=e.originator_id,
            case_id=e.case_id,
            due_at=e.due_at,
        )
    return translate_dead_letter("hold", e)
