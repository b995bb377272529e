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
    PersonalDetailsRead,
    PlaybookAdopted,
    SupportTaskChanged,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
)
from services.hold.domain import (
    STEPS,
    Agency,
    HouseholdCases,
    HouseholdErasure,
    PlaybookAdoption,
    SupportTask,
    WhanauCase,
)
from services.runtime.sealing import is_sealed
from services.runtime.translation import Rule, Translation, envelope


def coded_reason(e: Any) -> dict[str, Any]:
    """A decline's or a close's reason as it travels: the code, and free text only sealed (a
    reason typed in the clear before reasons were sealed stays in this store, unpublished)."""
    return {
        "reason_code": e.reason_code or "unspecified",
        "reason": e.reason if is_sealed(e.reason) else None,
    }


def _task_change(e: Any) -> SupportTaskChanged:
    """A step in a task's life as the integration event other services see: its name and the
    status it leaves (``STEPS``, beside the task's state machine), what it says, and the agency
    it concerns where the event says."""
    change, status = STEPS[type(e)]
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


translate = Translation("hold")
by_name = translate.by_name
rules: dict[type, Rule] = {
    Agency.Registered: by_name(AgencyRegistered),
    Agency.Changed: by_name(AgencyChanged),
    WhanauCase.Opened: by_name(WhanauCaseOpened, id_as="case_id"),
    WhanauCase.ArrestLinked: by_name(ArrestLinkedToCase, id_as="case_id"),
    WhanauCase.TasksAttached: by_name(CaseTasksAttached, id_as="case_id"),
    WhanauCase.PersonalDetailsRead: by_name(PersonalDetailsRead, id_as="case_id"),
    HouseholdCases.Started: by_name(HouseholdCaseJoined),
    HouseholdCases.CaseJoined: by_name(HouseholdCaseJoined),
    HouseholdErasure.Erased: by_name(HouseholdErased),
    SupportTask.Opened: by_name(
        SupportTaskOpened,
        id_as="task_id",
        reminders_before_seconds=lambda e: tuple(e.reminders_before),
        escalations_after_seconds=lambda e: tuple(e.escalations_after),
    ),
    SupportTask.Rescheduled: by_name(SupportTaskRescheduled, id_as="task_id"),
    PlaybookAdoption.Adopted: by_name(
        PlaybookAdopted, rules=lambda e: len(e.document.get("rules", []))
    ),
}
rules.update(dict.fromkeys(STEPS, _task_change))
translate.rules |= rules
