"""The views' state: what the front door answers queries from and the audit tools rebuild,
built from the integration events alone (``dispatch.py`` says how each event changes it).

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

from contracts import IntegrationEvent
from contracts.hold import FINISHED_STATUSES
from contracts.indicators import IndicatorRow
from contracts.place import same_place
from services.runtime.authorization import Engagement
from services.views.agency_views import seeded_agencies
from services.views.dispatch import VIEW_CHANGES
from services.views.fields import match as _match
from services.views.rows import (
    AgencyRow,
    AgencyStep,
    ArrestRecord,
    CaseRow,
    DeadLetterRow,
    ErasureRow,
    Holding,
    ImportFacts,
    ImportRow,
    MilestoneRow,
    OperationRow,
    PersonalReadRow,
    PlanRow,
    PlaybookRow,
    ProgrammeRow,
    SeizureRecord,
    TaskRow,
    TaskStep,
    WitnessRecord,
)
from services.views.task_index import TaskIndex


@dataclass
class ReadModel:
    """Every view, as plain state; ``dispatch.VIEW_CHANGES`` says how each event changes it."""

    operations: dict[UUID, OperationRow] = field(default_factory=dict)
    cases: dict[UUID, CaseRow] = field(default_factory=dict)
    tasks: dict[UUID, TaskRow] = field(default_factory=dict)
    milestones: dict[UUID, MilestoneRow] = field(default_factory=dict)
    task_history: dict[UUID, list[TaskStep]] = field(default_factory=dict)
    playbooks: dict[str, PlaybookRow] = field(default_factory=dict)
    plans: dict[str, PlanRow] = field(default_factory=dict)
    programmes: dict[UUID, ProgrammeRow] = field(default_factory=dict)
    indicators: list[IndicatorRow] = field(default_factory=list)
    pending_imports: dict[UUID, list[IndicatorRow]] = field(default_factory=dict)
    # Per import, committed or not: who started it and the places its rows name.
    import_facts: dict[UUID, ImportFacts] = field(default_factory=dict)
    imports: list[ImportRow] = field(default_factory=list)
    dead_letters: list[DeadLetterRow] = field(default_factory=list)
    # A household's record, per (operation, household): each arrest's facts, its ages and its
    # personal details as sealed text. Shown only through the need-to-know route, never in a list.
    household_arrests: dict[tuple[str, str], list[ArrestRecord]] = field(default_factory=dict)
    # Likewise each seizure made in the household's home and each key witness living there:
    # the children's references and their ages as sealed text, only through that route.
    household_seizures: dict[tuple[str, str], list[SeizureRecord]] = field(default_factory=dict)
    household_witnesses: dict[tuple[str, str], list[WitnessRecord]] = field(default_factory=dict)
    # The planning cell's staged note per (operation, household), sealed; released at launch.
    staged_notes: dict[tuple[str, str], str] = field(default_factory=dict)
    case_tasks: dict[str, list[UUID]] = field(default_factory=dict)
    # Each agency's time holding each task, for the need-to-know window on a household's
    # personal details.
    held: dict[UUID, list[Holding]] = field(default_factory=dict)
    personal_reads: dict[str, list[PersonalReadRow]] = field(default_factory=dict)
    erasures: dict[str, ErasureRow] = field(default_factory=dict)
    # The agency register by code (the seeded agencies until hold's record of them is read),
    # and each agency's history.
    agencies: dict[str, AgencyRow] = field(default_factory=seeded_agencies)
    agency_history: dict[str, list[AgencyStep]] = field(default_factory=dict)
    # The tasks by agency, place, operation and case (kept by ``hold_views.py``), so a filtered
    # list reads only its own tasks.
    task_index: TaskIndex = field(default_factory=TaskIndex)
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
        change = VIEW_CHANGES.get(type(event))
        if change is not None:
            change(self, event)

    def holding_agencies(self, case_id: UUID) -> set[str]:
        """The agencies holding one of the case's tasks now (whatever the task's status)."""
        tasks = (self.tasks[t] for t in self.case_tasks.get(str(case_id), ()))
        return {t.agency for t in tasks if t.agency}

    def engagements(self, case_id: UUID) -> list[Engagement]:
        """Every agency's part in the household's tasks: each that accepted one, from then
        until its part ended, and each a task is offered to now (as Hold's tasks say)."""
        parts: list[Engagement] = []
        for task_id in self.case_tasks.get(str(case_id), ()):
            held = self.held.get(task_id, ())
            parts.extend(Engagement(h.agency, h.since, h.until) for h in held)
            task = self.tasks[task_id]
            if task.status == "offered" and task.agency:
                parts.append(Engagement(task.agency, None, None))
        return parts

    def list_cases(self, operation_id: UUID | None = None) -> list[CaseRow]:
        return [c for c in self.cases.values() if _match(c, operation_id=operation_id)]

    def list_tasks(
        self,
        operation_id: UUID | None = None,
        agency: str | None = None,
        status: str | None = None,
        case_id: UUID | None = None,
        place: str | None = None,
        overdue_at: datetime | None = None,
    ) -> list[TaskRow]:
        """``agency`` matches the agency holding the task now; ``place`` ignores case;
        ``overdue_at`` keeps the unfinished tasks whose due time has passed at that moment."""
        ids = self.task_index.candidates(_text(operation_id), agency, _text(case_id), place)
        candidates = self.tasks.values() if ids is None else (self.tasks[i] for i in ids)
        # Only the filters given are checked per task: a board over every task asks for none.
        wanted = {
            key: str(value)
            for key, value in (
                ("operation_id", operation_id),
                ("agency", agency),
                ("status", status),
                ("case_id", case_id),
            )
            if value is not None
        }
        return [
            t
            for t in candidates
            if (not wanted or _match(t, **wanted))
            and (place is None or same_place((t.place or ""), place))
            and (overdue_at is None or _overdue(t, overdue_at))
        ]

    def hold_summary(self, operation_id: UUID, now: datetime) -> dict[str, Any]:
        """What a leadership group asks of an operation's Hold phase, in one answer."""
        cases = self.list_cases(operation_id)
        tasks = self.list_tasks(operation_id)
        completed = [t for t in tasks if t.status == "completed" and t.completed_at]
        on_time = [t for t in completed if _at(t.completed_at or "") <= _at(t.due_at)]
        return {
            "operation_id": str(operation_id),
            "households": len(cases),
            "children": sum(c.children for c in cases),
            "tasks": len(tasks),
            "tasks_by_status": dict(Counter(t.status for t in tasks)),
            "completed_within_due_time": len(on_time),
            "share_done_within_due_time": round(len(on_time) / len(tasks), 3) if tasks else None,
            "overdue": sum(1 for t in tasks if _overdue(t, now)),
            # Overdue tasks escalated up the levels, and tasks every agency in the chain declined
            # (they wait on the leadership group to place them).
            "open_escalations": [
                {
                    "task_id": t.task_id,
                    "kind": t.kind,
                    "level": t.escalation_level or "leadership_group",
                    "unplaced": t.status == "unplaced",
                }
                for t in tasks
                if t.status not in FINISHED and (t.escalation_level or t.status == "unplaced")
            ],
        }

    def indicator_readings(
        self, place: str, indicator: str | None = None, series: str | None = None
    ) -> list[IndicatorRow]:
        """A place's committed readings (place without regard to case), oldest first."""
        return sorted(
            (
                r
                for r in self.indicators
                if same_place(r.place, place)
                and (indicator is None or r.indicator == indicator)
                and (series is None or r.series == series)
            ),
            key=lambda r: (r.indicator, r.series, r.period_start),
        )

    def list_milestones(
        self, operation_id: UUID | None = None, place: str | None = None
    ) -> list[MilestoneRow]:
        return [
            m
            for m in self.milestones.values()
            if _match(m, operation_id=operation_id)
            and (place is None or same_place(m.place, place))
        ]


FINISHED = FINISHED_STATUSES


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _at(stamp: str) -> datetime:
    # Compare instants, not strings: ISO text only sorts by time when every offset matches.
    return datetime.fromisoformat(stamp)


def _overdue(task: TaskRow, now: datetime) -> bool:
    return task.status not in FINISHED and _at(task.due_at) < now
