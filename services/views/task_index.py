"""Secondary indexes over the views' tasks: by the agency holding each now, by place (its
``place_key``), by operation and by case.

Without them every ``GET /tasks?agency=…`` and every inbox or board page filtered all the
tasks in the views (40,000 in the bench: most of a page's time). The indexes hold task ids
only; the rows stay in ``ReadModel.tasks``. They are kept by the view-change functions
(``hold_views.py``) through ``opened`` and ``agency_changed``, the only two ways a task's
indexed fields change (place, operation and case are fixed when a task opens).

Beside them, for the leadership board's time from offer to accept, each task's latest offer
time and each acceptance's wait (kept as the events come, so the board never reads histories).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from contracts.place import place_key
from services.views.rows import TaskRow

# Ordered sets (dict keys): opening order for the fixed keys, so a filtered answer keeps the
# order of a full scan without sorting.
_Ids = dict[UUID, None]


@dataclass
class TaskIndex:
    by_agency: dict[str, _Ids] = field(default_factory=dict)
    by_place: dict[str, _Ids] = field(default_factory=dict)
    by_operation: dict[str, _Ids] = field(default_factory=dict)
    by_case: dict[str, _Ids] = field(default_factory=dict)
    # Each task's place in opening order: an agency's set is reordered by a move, so its
    # answers are sorted back to the order of ``ReadModel.tasks``.
    order: dict[UUID, int] = field(default_factory=dict)
    # When the task was last offered (its opening offers it to the lead agency), and per task
    # each acceptance: the agency and the hours it took from that offer.
    offered_at: dict[UUID, datetime] = field(default_factory=dict)
    # (Keyed by the id as text, as the rows hold it: the board looks up every task's.)
    accept_waits: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

    def opened(self, task_id: UUID, task: TaskRow) -> None:
        # A task opened again (a replay without dedupe) keeps its place, as it does in the
        # tasks' own dict; its old row was forgotten first (``hold_views``).
        self.order.setdefault(task_id, len(self.order))
        self.by_operation.setdefault(task.operation_id, {})[task_id] = None
        self.by_case.setdefault(task.case_id, {})[task_id] = None
        # A task without a place matches the place "" in a full scan: keyed the same here.
        self.by_place.setdefault(place_key(task.place or ""), {})[task_id] = None
        if task.agency is not None:
            self.by_agency.setdefault(task.agency, {})[task_id] = None

    def agency_changed(self, task_id: UUID, before: str | None, after: str | None) -> None:
        if before == after:
            return
        if before is not None:
            self.by_agency.get(before, {}).pop(task_id, None)
        if after is not None:
            self.by_agency.setdefault(after, {})[task_id] = None

    def offered(self, task_id: UUID, at: datetime) -> None:
        self.offered_at[task_id] = at

    def accepted(self, task_id: UUID, agency: str, at: datetime) -> None:
        if (since := self.offered_at.get(task_id)) is not None:
            hours = (at - since).total_seconds() / 3600
            self.accept_waits.setdefault(str(task_id), []).append((agency, hours))

    def forget(self, task_id: UUID, task: TaskRow) -> None:
        self.accept_waits.pop(str(task_id), None)  # its events are about to be read again
        for index, key in (
            (self.by_operation, task.operation_id),
            (self.by_case, task.case_id),
            (self.by_place, place_key(task.place or "")),
            (self.by_agency, task.agency),
        ):
            if key is not None:
                index.get(key, {}).pop(task_id, None)

    def candidates(
        self,
        operation_id: str | None,
        agency: str | None,
        case_id: str | None,
        place: str | None,
    ) -> list[UUID] | None:
        """The ids of the smallest index set the filters name, in opening order (None: no
        indexed filter given, so every task is a candidate). Each candidate still has to pass
        every filter: this only narrows the scan."""
        sets: list[tuple[_Ids, bool]] = []
        if operation_id is not None:
            sets.append((self.by_operation.get(operation_id, {}), False))
        if case_id is not None:
            sets.append((self.by_case.get(case_id, {}), False))
        if place is not None:
            sets.append((self.by_place.get(place_key(place), {}), False))
        if agency is not None:
            sets.append((self.by_agency.get(agency, {}), True))
        if not sets:
            return None
        ids, reordered = min(sets, key=lambda s: len(s[0]))
        if reordered:
            return sorted(ids, key=self.order.__getitem__)
        return list(ids)
