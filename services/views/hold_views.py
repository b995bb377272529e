"""How hold's integration events change the views: cases, tasks and each task's history,
playbooks, reads of personal details, erasures and dead letters. Each function is one entry of
``dispatch.py``'s table.

A task's status is the one hold's event gives; the views never work it out again from the
change (hold's task is the only state machine)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from contracts import (
    ArrestLinkedToCase,
    DeadLetterRecorded,
    HouseholdErased,
    IntegrationEvent,
    PersonalDetailsRead,
    PlaybookAdopted,
    SupportTaskChanged,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
)
from contracts.place import place_key
from services.views.fields import trace as _trace
from services.views.rows import (
    CaseRow,
    DeadLetterRow,
    ErasureRow,
    Holding,
    PersonalReadRow,
    PlaybookRow,
    TaskRow,
    TaskStep,
)

if TYPE_CHECKING:
    from services.views.read_model import ReadModel


def _step(event: IntegrationEvent, change: str, detail: dict[str, Any]) -> TaskStep:
    """One line of a task's history: what, when, who (person, agency, role), why."""
    return TaskStep(
        change=change,
        at=event.occurred_at.isoformat(),
        actor=event.actor.model_dump(),
        reason=event.reason,
        detail={k: v for k, v in detail.items() if v is not None},
        **_trace(event),
    )


def whanau_case_opened(model: ReadModel, e: WhanauCaseOpened) -> None:
    model.cases[e.case_id] = CaseRow(
        case_id=str(e.case_id),
        operation_id=str(e.operation_id),
        household_ref=e.household_ref,
        place=e.place,
        opened_at=e.occurred_at.isoformat(),
        **_trace(e),
    )


def arrest_linked_to_case(model: ReadModel, e: ArrestLinkedToCase) -> None:
    if case := model.cases.get(e.case_id):
        case.arrest_ids.append(str(e.arrest_id))
        case.children = e.children_total


def support_task_opened(model: ReadModel, e: SupportTaskOpened) -> None:
    case = model.cases.get(e.case_id)
    if e.task_id in model.tasks:  # opened again (a replay without dedupe): read again
        for n in range(len(model.accept_waits.pop(str(e.task_id), None) or ())):
            model.accept_rows.pop(f"{e.task_id}/{n}")
    model.tasks[e.task_id] = TaskRow(
        task_id=str(e.task_id),
        case_id=str(e.case_id),
        operation_id=str(e.operation_id),
        kind=e.kind,
        lead_agency=e.lead_agency,
        agency=e.lead_agency,
        fallback_agencies=list(e.fallback_agencies),
        due_at=e.due_at.isoformat(),
        playbook=e.playbook,
        rule_id=e.rule_id,
        place=case.place if case else None,
        opened_at=e.occurred_at.isoformat(),
        **_trace(e),
    )
    model.offered_at[e.task_id] = e.occurred_at.isoformat()
    model.task_history[e.task_id] = [_step(e, "opened", {"agency": e.lead_agency})]
    model.case_tasks.setdefault(str(e.case_id), []).append(e.task_id)


def support_task_changed(model: ReadModel, e: SupportTaskChanged) -> None:
    task = model.tasks.get(e.task_id)
    if task is None:
        return
    if e.status is not None:
        task.status = e.status
    if e.change in ("accepted", "offered"):
        task.agency = e.agency
    elif e.change in ("declined", "unplaced"):
        task.agency = None
    if e.change == "offered":
        model.offered_at[e.task_id] = e.occurred_at.isoformat()
    elif e.change == "accepted" and e.agency is not None:
        _accepted(model, task, e.agency, e.occurred_at)
    if e.worker_ref is not None or e.change == "offered":
        task.worker_ref = e.worker_ref
    if e.change == "escalated":
        task.escalation_level = e.detail.get("level")
    if e.change == "completed":
        task.completed_at = e.occurred_at.isoformat()
    held = model.held.setdefault(e.task_id, [])
    if e.change in ("completed", "closed", "offered") and held and held[-1].until is None:
        held[-1].until = e.occurred_at  # finished, or moved to another agency
    if e.change == "accepted" and e.agency is not None:
        held.append(Holding(e.agency, e.occurred_at))
    model.task_history[e.task_id].append(
        _step(e, e.change, {"agency": e.agency, "worker_ref": e.worker_ref, **e.detail})
    )


def _accepted(model: ReadModel, task: TaskRow, agency: str, at: datetime) -> None:
    """For the board: how many hours the agency took from the task's last offer."""
    if (since := model.offered_at.get(UUID(task.task_id))) is not None:
        waited = at - datetime.fromisoformat(since)
        waits = model.accept_waits.setdefault(task.task_id, [])
        model.accept_rows[f"{task.task_id}/{len(waits)}"] = {
            "task_id": task.task_id,
            "agency": agency,
            "place_key": place_key(task.place or ""),
            "operation_id": task.operation_id,
            "took_us": waited // timedelta(microseconds=1),
        }
        waits.append([agency, waited.total_seconds() / 3600])


def personal_details_read(model: ReadModel, e: PersonalDetailsRead) -> None:
    model.personal_reads.setdefault(str(e.case_id), []).append(
        PersonalReadRow(
            at=e.occurred_at.isoformat(),
            actor=e.actor.model_dump(),
            reason=e.reason,
            fields=list(e.fields),
            **_trace(e),
        )
    )


def household_erased(model: ReadModel, e: HouseholdErased) -> None:
    model.erasures[e.household_ref] = ErasureRow(
        erased_at=e.occurred_at.isoformat(),
        actor=e.actor.model_dump(),
        reason=e.reason,
        event_id=str(e.event_id),
    )


def playbook_adopted(model: ReadModel, e: PlaybookAdopted) -> None:
    model.playbooks[e.scope] = PlaybookRow(
        scope=e.scope,
        playbook=f"{e.name}@v{e.version}",
        rules=e.rules,
        adopted_at=e.occurred_at.isoformat(),
        adopted_by=e.actor.model_dump(),
        **_trace(e),
    )


def support_task_rescheduled(model: ReadModel, e: SupportTaskRescheduled) -> None:
    if task := model.tasks.get(e.task_id):
        task.due_at = e.due_at.isoformat()
        model.task_history[e.task_id].append(
            _step(e, "rescheduled", {"due_at": e.due_at.isoformat()})
        )


def dead_letter_recorded(model: ReadModel, e: DeadLetterRecorded) -> None:
    model.dead_letters.append(
        DeadLetterRow(consumer=e.consumer, subject=e.subject, error=e.error, **_trace(e))
    )
