"""The task indexes (by agency, place, operation, case) answer as a scan of every task would,
after any sequence of openings, offers, accepts, declines and completions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import Actor, SupportTaskChanged, SupportTaskOpened, WhanauCaseOpened
from contracts.place import same_place
from services.views.read_model import ReadModel
from services.views.rows import TaskRow

pytestmark = pytest.mark.application

AT = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
OPERATIONS = [uuid4(), uuid4()]
AGENCIES = ["oranga_tamariki", "msd", "iwi_provider"]
# Written three ways for two places: the index must match places as ``same_place`` does.
PLACES = ["Mataura", "mataura ", "Gore"]
CHANGES = {
    "offered": "offered",
    "accepted": "accepted",
    "declined": "offered",
    "unplaced": "unplaced",
    "assigned": "assigned",
    "completed": "completed",
}

opens = st.tuples(st.just("open"), st.integers(0, 5), st.sampled_from(AGENCIES))
changes = st.tuples(st.sampled_from(sorted(CHANGES)), st.integers(0, 30), st.sampled_from(AGENCIES))


def env(operation: UUID) -> dict[str, object]:
    return {
        "event_id": uuid4(),
        "occurred_at": AT,
        "recorded_at": AT,
        "operation_id": operation,
        "actor": Actor(id="x", agency="oranga_tamariki", role="agency_worker"),
    }


def scan(model: ReadModel, **filters: object) -> list[TaskRow]:
    """The answer without the indexes: every task, each filter checked."""
    return [
        t
        for t in model.tasks.values()
        if all(
            value is None
            or (
                same_place(t.place or "", str(value))
                if key == "place"
                else getattr(t, key) == str(value)
            )
            for key, value in filters.items()
        )
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(opens, changes), max_size=60))
def test_indexed_answers_equal_a_full_scan(steps: list[tuple[str, int, str]]) -> None:
    model = ReadModel()
    cases = []
    for i in range(6):
        case_id, operation = uuid4(), OPERATIONS[i % 2]
        model.apply(
            WhanauCaseOpened(
                **env(operation), case_id=case_id, household_ref=f"HH-{i}", place=PLACES[i % 3]
            )
        )
        cases.append((case_id, operation))
    tasks: list[UUID] = []
    for what, which, agency in steps:
        if what == "open":
            case_id, operation = cases[which]
            tasks.append(uuid4())
            model.apply(
                SupportTaskOpened(
                    **env(operation),
                    task_id=tasks[-1],
                    case_id=case_id,
                    kind="child_safety_check",
                    lead_agency=agency,
                    due_at=AT + timedelta(hours=which),
                    playbook="national@v1",
                    rule_id="r",
                )
            )
        elif tasks:
            task_id = tasks[which % len(tasks)]
            operation = UUID(model.tasks[task_id].operation_id)
            model.apply(
                SupportTaskChanged(
                    **env(operation),
                    task_id=task_id,
                    change=what,
                    status=CHANGES[what],
                    agency=None if what in ("declined", "unplaced") else agency,
                    detail={},
                )
            )
    case_ids = [c for c, _ in cases[:2]] + [None]
    for op, by, case, place, status in product(
        [*OPERATIONS, None],
        [*AGENCIES, None],
        case_ids,
        ["MATAURA", "Gore", None],
        ["offered", None],
    ):
        filters = {"operation_id": op, "agency": by, "case_id": case}
        got = model.list_tasks(op, by, status, case, place)
        assert got == scan(model, **filters, status=status, place=place)
