"""What the front door answers queries from: built from the integration events alone.

It never opens a service's store. Every item keeps the id of the event that created it
(``event_id``), the event that caused that (``causation_id``) and the operation it belongs to
(``correlation_id``), so anyone can see why a case, task or milestone exists.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from contracts import (
    ArrestLinkedToCase,
    ArrestRecorded,
    DeadLetterRecorded,
    HouseholdErased,
    IntegrationEvent,
    OperationConcluded,
    OperationLaunched,
    OperationPlanned,
    PersonalDetailsRead,
    PlaybookAdopted,
    SeizureRecorded,
    SupportTaskChanged,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
    WitnessRegistered,
)
from contracts.indicators import IndicatorRow
from services.api.agency_view import AgencyView
from services.api.build_views import BuildViews
from services.api.view_fields import match as _match
from services.api.view_fields import trace as _trace
from services.runtime.authorization import Engagement


def _step(event: IntegrationEvent, change: str, detail: dict[str, Any]) -> dict[str, Any]:
    """One line of a task's history: what, when, who (person, agency, role), why."""
    return {
        "change": change,
        "at": event.occurred_at.isoformat(),
        "actor": event.actor.model_dump(),
        "reason": event.reason,
        "detail": {k: v for k, v in detail.items() if v is not None},
        **_trace(event),
    }


@dataclass
class ReadModel(BuildViews, AgencyView):
    operations: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    cases: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    milestones: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    task_history: dict[UUID, list[dict[str, Any]]] = field(default_factory=dict)
    playbooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    programmes: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    indicators: list[IndicatorRow] = field(default_factory=list)
    pending_imports: dict[UUID, list[IndicatorRow]] = field(default_factory=dict)
    # Per import, committed or not: who started it and the places its rows name (BuildViews).
    import_facts: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    imports: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    # A household's record, per (operation, household): each arrest's facts, its ages and its
    # personal details as sealed text. Shown only through the need-to-know route, never in a list.
    household_arrests: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    # Likewise each seizure made in the household's home and each key witness living there:
    # the children's references and their ages as sealed text, only through that route.
    household_seizures: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    household_witnesses: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    # The planning cell's staged note per (operation, household), sealed; released at launch.
    staged_notes: dict[tuple[str, str], str] = field(default_factory=dict)
    case_tasks: dict[str, list[UUID]] = field(default_factory=dict)
    # Each agency's time holding each task: [agency, accepted at, ended at or None], for the
    # need-to-know window on a household's personal details.
    held: dict[UUID, list[list[Any]]] = field(default_factory=dict)
    personal_reads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    erasures: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: set[UUID] = field(default_factory=set)
    # A replay of a history whose events are unique by construction (the audit index's rows)
    # need not remember every event id: a million of them is ~150 MB.
    dedupe: bool = True

    def reset(self) -> None:
        """Empty, as new, in place (the routes hold this object): the projector is about to
        read every stream again."""
        empty = type(self)(dedupe=self.dedupe)
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(empty, name))

    def apply(self, event: IntegrationEvent) -> None:
        """Idempotent (unless ``dedupe`` is off): the same event applied twice changes nothing."""
        if self.dedupe:
            if event.event_id in self.seen:
                return
            self.seen.add(event.event_id)
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None:
            handler(event)

    # clear
    def _on_OperationPlanned(self, e: OperationPlanned) -> None:
        self.operations[e.operation_id] = {
            "operation_id": str(e.operation_id),
            "name": e.name,
            "district": e.district,
            "place": e.place,
            "target_group": e.target_group,
            "planned_start": e.planned_start.isoformat(),
            "status": "planned",
            "arrests": 0,
            "seizures": 0,
            **_trace(e),
        }

    def _on_OperationLaunched(self, e: OperationLaunched) -> None:
        if op := self.operations.get(e.operation_id):
            op.update(status="launched", launched_at=e.occurred_at.isoformat())
        for staged in e.staged_support:
            if staged.note is not None:
                self.staged_notes[(str(e.operation_id), staged.household_ref)] = staged.note

    def _on_ArrestRecorded(self, e: ArrestRecorded) -> None:
        if op := self.operations.get(e.operation_id):
            op["arrests"] += 1
        self.household_arrests.setdefault((str(e.operation_id), e.household_ref), []).append(
            {
                "arrest_id": str(e.arrest_id),
                "person_ref": e.person_ref,
                "children": [c.child_ref for c in e.children],
                "only_carer_present": e.only_carer_present,
                "recorded_at": e.recorded_at.isoformat(),
                "ages": e.ages,
                "personal": e.personal,
            }
        )

    def _on_SeizureRecorded(self, e: SeizureRecorded) -> None:
        if op := self.operations.get(e.operation_id):
            op["seizures"] += 1
        if e.household_ref is None:
            return
        self.household_seizures.setdefault((str(e.operation_id), e.household_ref), []).append(
            {
                "seizure_id": str(e.seizure_id),
                "kind": e.kind,
                "children": [c.child_ref for c in e.children],
                "recorded_at": e.recorded_at.isoformat(),
                "ages": e.ages,
            }
        )

    def _on_WitnessRegistered(self, e: WitnessRegistered) -> None:
        self.household_witnesses.setdefault((str(e.operation_id), e.household_ref), []).append(
            {
                "witness_id": str(e.witness_id),
                "witness_ref": e.witness_ref,
                "children": [c.child_ref for c in e.children],
                "recorded_at": e.recorded_at.isoformat(),
                "ages": e.ages,
            }
        )

    def _on_OperationConcluded(self, e: OperationConcluded) -> None:
        if op := self.operations.get(e.operation_id):
            op.update(status="concluded", concluded_at=e.concluded_at.isoformat())

    # hold
    def _on_WhanauCaseOpened(self, e: WhanauCaseOpened) -> None:
        self.cases[e.case_id] = {
            "case_id": str(e.case_id),
            "operation_id": str(e.operation_id),
            "household_ref": e.household_ref,
            "place": e.place,
            "arrest_ids": [],
            "children": 0,
            "opened_at": e.occurred_at.isoformat(),
            **_trace(e),
        }

    def _on_ArrestLinkedToCase(self, e: ArrestLinkedToCase) -> None:
        if case := self.cases.get(e.case_id):
            case["arrest_ids"].append(str(e.arrest_id))
            case["children"] = e.children_total

    def _on_SupportTaskOpened(self, e: SupportTaskOpened) -> None:
        self.tasks[e.task_id] = {
            "task_id": str(e.task_id),
            "case_id": str(e.case_id),
            "operation_id": str(e.operation_id),
            "kind": e.kind,
            "lead_agency": e.lead_agency,
            "agency": e.lead_agency,
            "fallback_agencies": list(e.fallback_agencies),
            "due_at": e.due_at.isoformat(),
            "status": "offered",
            "worker_ref": None,
            "playbook": e.playbook,
            "rule_id": e.rule_id,
            "escalation_level": None,
            "place": self.cases.get(e.case_id, {}).get("place"),
            "completed_at": None,
            "opened_at": e.occurred_at.isoformat(),
            **_trace(e),
        }
        self.task_history[e.task_id] = [_step(e, "opened", {"agency": e.lead_agency})]
        self.case_tasks.setdefault(str(e.case_id), []).append(e.task_id)

    def _on_SupportTaskChanged(self, e: SupportTaskChanged) -> None:
        task = self.tasks.get(e.task_id)
        if task is None:
            return
        if e.status is not None:
            task["status"] = e.status
        if e.change in ("accepted", "offered"):
            task["agency"] = e.agency
        elif e.change in ("declined", "unplaced"):
            task["agency"] = None
        if e.worker_ref is not None or e.change == "offered":
            task["worker_ref"] = e.worker_ref
        if e.change == "escalated":
            task["escalation_level"] = e.detail.get("level")
        if e.change == "completed":
            task["completed_at"] = e.occurred_at.isoformat()
        held = self.held.setdefault(e.task_id, [])
        if e.change in ("completed", "closed", "offered") and held and held[-1][2] is None:
            held[-1][2] = e.occurred_at  # finished, or moved to another agency
        if e.change == "accepted":
            held.append([e.agency, e.occurred_at, None])
        self.task_history[e.task_id].append(
            _step(e, e.change, {"agency": e.agency, "worker_ref": e.worker_ref, **e.detail})
        )

    def _on_PersonalDetailsRead(self, e: PersonalDetailsRead) -> None:
        self.personal_reads.setdefault(str(e.case_id), []).append(
            {
                "at": e.occurred_at.isoformat(),
                "actor": e.actor.model_dump(),
                "reason": e.reason,
                "fields": list(e.fields),
                **_trace(e),
            }
        )

    def _on_HouseholdErased(self, e: HouseholdErased) -> None:
        self.erasures[e.household_ref] = {
            "erased_at": e.occurred_at.isoformat(),
            "actor": e.actor.model_dump(),
            "reason": e.reason,
            "event_id": str(e.event_id),
        }

    def holding_agencies(self, case_id: UUID) -> set[str]:
        """The agencies holding one of the case's tasks now (whatever the task's status)."""
        tasks = (self.tasks[t] for t in self.case_tasks.get(str(case_id), ()))
        return {t["agency"] for t in tasks if t["agency"]}

    def engagements(self, case_id: UUID) -> list[Engagement]:
        """Every agency's part in the household's tasks: each that accepted one, from then
        until its part ended, and each a task is offered to now (as Hold's tasks say)."""
        parts: list[Engagement] = []
        for task_id in self.case_tasks.get(str(case_id), ()):
            held = self.held.get(task_id, ())
            parts.extend(Engagement(agency, since, until) for agency, since, until in held)
            task = self.tasks[task_id]
            if task["status"] == "offered" and task["agency"]:
                parts.append(Engagement(task["agency"], None, None))
        return parts

    def _on_PlaybookAdopted(self, e: PlaybookAdopted) -> None:
        self.playbooks[e.scope] = {
            "scope": e.scope,
            "playbook": f"{e.name}@v{e.version}",
            "rules": e.rules,
            "adopted_at": e.occurred_at.isoformat(),
            "adopted_by": e.actor.model_dump(),
            **_trace(e),
        }

    def _on_SupportTaskRescheduled(self, e: SupportTaskRescheduled) -> None:
        if task := self.tasks.get(e.task_id):
            task["due_at"] = e.due_at.isoformat()
            self.task_history[e.task_id].append(
                _step(e, "rescheduled", {"due_at": e.due_at.isoformat()})
            )

    def _on_DeadLetterRecorded(self, e: DeadLetterRecorded) -> None:
        self.dead_letters.append(
            {"consumer": e.consumer, "subject": e.subject, "error": e.error, **_trace(e)}
        )

    # queries
    def list_cases(self, operation_id: UUID | None = None) -> list[dict[str, Any]]:
        return [c for c in self.cases.values() if _match(c, operation_id=operation_id)]

    def list_tasks(
        self,
        operation_id: UUID | None = None,
        agency: str | None = None,
        status: str | None = None,
        case_id: UUID | None = None,
        place: str | None = None,
        overdue_at: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """``agency`` matches the agency holding the task now; ``place`` ignores case;
        ``overdue_at`` keeps the unfinished tasks whose due time has passed at that moment."""
        return [
            t
            for t in self.tasks.values()
            if _match(t, operation_id=operation_id, agency=agency, status=status, case_id=case_id)
            and (place is None or (t["place"] or "").casefold() == place.casefold())
            and (overdue_at is None or _overdue(t, overdue_at))
        ]

    def hold_summary(self, operation_id: UUID, now: datetime) -> dict[str, Any]:
        """What a leadership group asks of an operation's Hold phase, in one answer."""
        cases = self.list_cases(operation_id)
        tasks = self.list_tasks(operation_id)
        completed = [t for t in tasks if t["status"] == "completed"]
        on_time = [t for t in completed if _at(t["completed_at"]) <= _at(t["due_at"])]
        return {
            "operation_id": str(operation_id),
            "households": len(cases),
            "children": sum(c["children"] for c in cases),
            "tasks": len(tasks),
            "tasks_by_status": dict(Counter(t["status"] for t in tasks)),
            "completed_within_due_time": len(on_time),
            "share_done_within_due_time": round(len(on_time) / len(tasks), 3) if tasks else None,
            "overdue": sum(1 for t in tasks if _overdue(t, now)),
            # Overdue tasks escalated up the levels, and tasks every agency in the chain declined
            # (they wait on the leadership group to place them).
            "open_escalations": [
                {
                    "task_id": t["task_id"],
                    "kind": t["kind"],
                    "level": t["escalation_level"] or "leadership_group",
                    "unplaced": t["status"] == "unplaced",
                }
                for t in tasks
                if t["status"] not in FINISHED
                and (t["escalation_level"] or t["status"] == "unplaced")
            ],
        }


FINISHED = ("completed", "closed")


def _at(stamp: str) -> datetime:
    # Compare instants, not strings: ISO text only sorts by time when every offset matches.
    return datetime.fromisoformat(stamp)


def _overdue(task: dict[str, Any], now: datetime) -> bool:
    return task["status"] not in FINISHED and _at(task["due_at"]) < now
