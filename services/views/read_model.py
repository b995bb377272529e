"""The views' state: what the front door answers queries from and the audit tools rebuild,
built from the integration events alone (``dispatch.py`` says how each event changes it).

It never opens a service's store. Every item keeps the id of the event that created it
(``event_id``), the event that caused that (``causation_id``) and the operation it belongs to
(``correlation_id``), so anyone can see why a case, task or milestone exists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from contracts import IntegrationEvent
from contracts.hold import FINISHED_STATUSES
from contracts.indicators import IndicatorRow
from contracts.place import place_key, same_place
from services.runtime.authorization import Engagement
from services.views.agency_views import seeded_agencies
from services.views.columns import (
    Within,
    case_columns,
    milestone_columns,
    task_columns,
    task_filter,
    wait_columns,
)
from services.views.dispatch import VIEW_CHANGES
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
from services.views.store import ViewPlace
from services.views.tables import (
    PAIR_KEY,
    PLAIN,
    TEXT_KEY,
    UUID_KEY,
    UUIDS,
    Codec,
    Columns,
    KeyCodec,
    Log,
    RecentIds,
    Table,
    Views,
    list_of,
    model_codec,
    row_codec,
)

K = TypeVar("K")


class StreamMark(NamedTuple):
    """A stream as a generation of the views read it: its creation time (a stream made again
    has another) and the last notification id applied from it (the relay's header)."""

    created: datetime | None
    mark: int


class ReadModel(Views):
    """Every view, kept in the views' store (``store.py``); ``dispatch.VIEW_CHANGES`` says how
    each event changes it. Made with no store, it keeps its rows in memory (a replay, a test)."""

    def __init__(self, place: ViewPlace | None = None, *, dedupe: bool = True) -> None:
        super().__init__(place or ViewPlace())
        # A replay of a history whose events are unique by construction (the audit index's
        # rows) need not remember event ids.
        self.dedupe = dedupe
        self.seen = RecentIds()
        self.operations: Table[UUID, OperationRow] = self.table("operation", UUID_KEY, OperationRow)
        self.cases: Table[UUID, CaseRow] = self.table("case", UUID_KEY, CaseRow, case_columns)
        self.tasks: Table[UUID, TaskRow] = self.table("task", UUID_KEY, TaskRow, task_columns)
        self.milestones: Table[UUID, MilestoneRow] = self.table(
            "milestone", UUID_KEY, MilestoneRow, milestone_columns
        )
        self.task_history: Table[UUID, list[TaskStep]] = self.table(
            "task_history", UUID_KEY, list_of(row_codec(TaskStep))
        )
        self.playbooks: Table[str, PlaybookRow] = self.table("playbook", TEXT_KEY, PlaybookRow)
        self.plans: Table[str, PlanRow] = self.table("plan", TEXT_KEY, PlanRow)
        self.programmes: Table[UUID, ProgrammeRow] = self.table("programme", UUID_KEY, ProgrammeRow)
        self.indicators: Log[IndicatorRow] = Log(self, "indicator", model_codec(IndicatorRow))
        self.pending_imports: Table[UUID, list[IndicatorRow]] = self.table(
            "pending_import", UUID_KEY, list_of(model_codec(IndicatorRow))
        )
        # Per import, committed or not: who started it and the places its rows name.
        self.import_facts: Table[UUID, ImportFacts] = self.table(
            "import_facts", UUID_KEY, ImportFacts
        )
        self.imports: Log[ImportRow] = Log(self, "import", row_codec(ImportRow))
        self.dead_letters: Log[DeadLetterRow] = Log(self, "dead_letter", row_codec(DeadLetterRow))
        # A household's record, per (operation, household): each arrest's facts, its ages and
        # its personal details as sealed text. Shown only through the need-to-know route.
        self.household_arrests: Table[tuple[str, str], list[ArrestRecord]] = self.table(
            "household_arrests", PAIR_KEY, list_of(row_codec(ArrestRecord))
        )
        # Likewise each seizure made in the household's home and each key witness living
        # there: the children's references and their ages as sealed text.
        self.household_seizures: Table[tuple[str, str], list[SeizureRecord]] = self.table(
            "household_seizures", PAIR_KEY, list_of(row_codec(SeizureRecord))
        )
        self.household_witnesses: Table[tuple[str, str], list[WitnessRecord]] = self.table(
            "household_witnesses", PAIR_KEY, list_of(row_codec(WitnessRecord))
        )
        # The planning cell's staged note per (operation, household), sealed; released at launch.
        self.staged_notes: Table[tuple[str, str], str] = Table(self, "staged_note", PAIR_KEY, PLAIN)
        self.case_tasks: Table[str, list[UUID]] = Table(self, "case_tasks", TEXT_KEY, UUIDS)
        # Each agency's time holding each task, for the need-to-know window on a household's
        # personal details.
        self.held: Table[UUID, list[Holding]] = self.table(
            "held", UUID_KEY, list_of(row_codec(Holding))
        )
        self.personal_reads: Table[str, list[PersonalReadRow]] = self.table(
            "personal_reads", TEXT_KEY, list_of(row_codec(PersonalReadRow))
        )
        self.erasures: Table[str, ErasureRow] = self.table("erasure", TEXT_KEY, ErasureRow)
        # The agency register by code (the seeded agencies until hold's record of them is
        # read), and each agency's history.
        self.agencies: Table[str, AgencyRow] = self.table("agency", TEXT_KEY, AgencyRow)
        self.agency_history: Table[str, list[AgencyStep]] = self.table(
            "agency_history", TEXT_KEY, list_of(row_codec(AgencyStep))
        )
        # For the leadership board's time from offer to accept: when each task was last
        # offered, and per task each acceptance (the agency and the hours it took).
        self.offered_at: Table[UUID, str] = Table(self, "offered_at", UUID_KEY, PLAIN)
        self.accept_waits: Table[str, list[list[Any]]] = Table(
            self, "accept_waits", TEXT_KEY, PLAIN
        )
        # The same acceptances one row each, for the board's medians over many tasks.
        self.accept_rows: Table[str, dict[str, Any]] = Table(
            self, "accept_wait", TEXT_KEY, PLAIN, wait_columns
        )
        self.streams: Table[str, dict[str, Any]] = Table(self, "stream", TEXT_KEY, PLAIN)
        if self.fresh:
            with self.writing():
                for code, agency in seeded_agencies().items():
                    self.agencies[code] = agency

    def stream_marks(self) -> dict[str, StreamMark]:
        return {
            stream: StreamMark(
                datetime.fromisoformat(m["created"]) if m.get("created") else None, m["mark"]
            )
            for stream, m in self.streams.items()
        }

    def mark_stream(self, stream: str, mark: StreamMark) -> None:
        created = None if mark.created is None else mark.created.isoformat()
        self.streams[stream] = {"created": created, "mark": mark.mark}

    def table(
        self, kind: str, key: KeyCodec[K], value: Any, columns: Columns | None = None
    ) -> Table[K, Any]:
        codec = value if isinstance(value, Codec) else row_codec(value)
        return Table(self, kind, key, codec, columns)

    def apply(self, event: IntegrationEvent) -> None:
        """Idempotent (unless ``dedupe`` is off): the same event applied twice changes nothing
        (among the recent ones; the projector's tracking positions guard the rest)."""
        if self.dedupe:
            if event.event_id in self.seen:
                return
            self.seen.add(event.event_id)
        change = VIEW_CHANGES.get(type(event))
        if change is None:
            return
        if self.batch is not None:
            change(self, event)
            return
        with self.writing():
            change(self, event)

    def prefetch(self, events: list[IntegrationEvent]) -> None:
        """Read at once every item these events may change (one query per kind of item, not
        one per event): a batch then reads nothing more, and finds a new item new without
        asking. Must be called inside ``writing()``."""
        # In the order the events name them (dicts, not sets): a new item is written, and so
        # listed, in the order the events made the items.
        ids: dict[str, dict[str, None]] = {name: {} for name in _PREFETCHED}
        pairs: dict[tuple[str, str], None] = {}
        for event in events:
            for name, wanted in ids.items():
                if (value := getattr(event, name, None)) is not None:
                    wanted[str(value)] = None
            if (household := getattr(event, "household_ref", None)) is not None:
                pairs[(str(event.operation_id), household)] = None
        for name, kinds in _PREFETCHED.items():
            for kind in kinds:
                getattr(self, kind).load_many(ids[name])
        for kind in ("household_arrests", "household_seizures", "household_witnesses"):
            getattr(self, kind).load_many(pairs)

    def apply_all(self, events: Iterable[IntegrationEvent], every: int = 2000) -> int:
        """Apply many (a replay), written ``every`` events at a time: memory stays bounded."""
        applied = 0
        for chunk in _chunks(events, every):
            with self.writing():
                self.prefetch(chunk)
                for event in chunk:
                    self.apply(event)
            applied += len(chunk)
        return applied

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
        if operation_id is None:
            return self.cases.values()
        return self.cases.select(" AND operation_id = ?", [str(operation_id)])

    def list_tasks(
        self,
        operation_id: UUID | None = None,
        agency: str | None = None,
        status: str | None = None,
        case_id: UUID | None = None,
        place: str | None = None,
        overdue_at: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
        worker_ref: str | None = None,
        sort: str = "opened",
        within: Within | None = None,
    ) -> list[TaskRow]:
        """``agency`` matches the agency holding the task now; ``place`` ignores case;
        ``overdue_at`` keeps the unfinished tasks whose due time has passed at that moment.
        In the order the tasks were opened, or soonest due first (``sort="due"``)."""
        where, params = task_filter(
            operation_id, agency, status, case_id, place, overdue_at, worker_ref, within
        )
        order = "due_us, seq" if sort == "due" else "seq"
        return self.tasks.select(where, params, order=order, limit=limit, offset=offset)

    def count_tasks(
        self,
        operation_id: UUID | None = None,
        agency: str | None = None,
        status: str | None = None,
        case_id: UUID | None = None,
        place: str | None = None,
        overdue_at: datetime | None = None,
        worker_ref: str | None = None,
        within: Within | None = None,
    ) -> int:
        where, params = task_filter(
            operation_id, agency, status, case_id, place, overdue_at, worker_ref, within
        )
        return self.tasks.count(where, params)

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
        where, params = "", []
        if operation_id is not None:
            where, params = " AND operation_id = ?", [str(operation_id)]
        if place is not None:
            where += " AND place_key = ?"
            params.append(place_key(place))
        return self.milestones.select(where, params)


FINISHED = FINISHED_STATUSES


# The items each id an event may carry names, read ahead of a batch (``prefetch``).
_PREFETCHED = {
    "task_id": ("tasks", "task_history", "held", "offered_at", "accept_waits"),
    "case_id": ("cases", "case_tasks"),
    "operation_id": ("operations",),
    "milestone_id": ("milestones",),
    "programme_id": ("programmes",),
}


def _chunks(events: Iterable[IntegrationEvent], size: int) -> Iterator[list[IntegrationEvent]]:
    chunk: list[IntegrationEvent] = []
    for event in events:
        chunk.append(event)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _at(stamp: str) -> datetime:
    # Compare instants, not strings: ISO text only sorts by time when every offset matches.
    return datetime.fromisoformat(stamp)


def _overdue(task: TaskRow, now: datetime) -> bool:
    return task.status not in FINISHED and _at(task.due_at) < now
