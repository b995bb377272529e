"""How clear's integration events change the views: operations, and each household's record of
arrests, seizures in its home and key witnesses living there (shown only through the
need-to-know route, never in a list). Each function is one entry of ``dispatch.py``'s table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts import (
    ArrestRecorded,
    OperationConcluded,
    OperationLaunched,
    OperationPlanned,
    SeizureRecorded,
    WitnessRegistered,
)
from services.views.fields import trace as _trace
from services.views.rows import ArrestRecord, OperationRow, SeizureRecord, WitnessRecord

if TYPE_CHECKING:
    from services.views.read_model import ReadModel


def operation_planned(model: ReadModel, e: OperationPlanned) -> None:
    model.operations[e.operation_id] = OperationRow(
        operation_id=str(e.operation_id),
        name=e.name,
        district=e.district,
        place=e.place,
        target_group=e.target_group,
        planned_start=e.planned_start.isoformat(),
        **_trace(e),
    )


def operation_launched(model: ReadModel, e: OperationLaunched) -> None:
    if op := model.operations.get(e.operation_id):
        op.status, op.launched_at = "launched", e.occurred_at.isoformat()
    for staged in e.staged_support:
        if staged.note is not None:
            model.staged_notes[(str(e.operation_id), staged.household_ref)] = staged.note


def arrest_recorded(model: ReadModel, e: ArrestRecorded) -> None:
    if op := model.operations.get(e.operation_id):
        op.arrests += 1
    model.household_arrests.setdefault((str(e.operation_id), e.household_ref), []).append(
        ArrestRecord(
            arrest_id=str(e.arrest_id),
            person_ref=e.person_ref,
            children=[c.child_ref for c in e.children],
            only_carer_present=e.only_carer_present,
            recorded_at=e.recorded_at.isoformat(),
            ages=e.ages,
            personal=e.personal,
        )
    )


def seizure_recorded(model: ReadModel, e: SeizureRecorded) -> None:
    if op := model.operations.get(e.operation_id):
        op.seizures += 1
    if e.household_ref is None:
        return
    model.household_seizures.setdefault((str(e.operation_id), e.household_ref), []).append(
        SeizureRecord(
            seizure_id=str(e.seizure_id),
            kind=e.kind,
            children=[c.child_ref for c in e.children],
            recorded_at=e.recorded_at.isoformat(),
            ages=e.ages,
        )
    )


def witness_registered(model: ReadModel, e: WitnessRegistered) -> None:
    model.household_witnesses.setdefault((str(e.operation_id), e.household_ref), []).append(
        WitnessRecord(
            witness_id=str(e.witness_id),
            witness_ref=e.witness_ref,
            children=[c.child_ref for c in e.children],
            recorded_at=e.recorded_at.isoformat(),
            ages=e.ages,
        )
    )


def operation_concluded(model: ReadModel, e: OperationConcluded) -> None:
    if op := model.operations.get(e.operation_id):
        op.status, op.concluded_at = "concluded", e.concluded_at.isoformat()
