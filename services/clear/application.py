"""The clear application: thin methods that get, change and save an operation."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import JSONTranscoder

from services.clear.domain import CommandReceipt, Operation, OperationRuleBroken
from services.runtime.application import fetch, register_chb_transcodings
from services.runtime.authorization import Caller, Refusal, caller_from, check_may_plan
from services.runtime.clock import Clock, SystemClock
from services.runtime.meta import Actor, Meta


class OperationNotFound(LookupError):
    pass


class ClearApplication(Application[UUID]):
    name = "clear"
    # Every arrest loads its operation. The cache (fast-forwarded from the store on each get, and
    # copied out so a failed save cannot leave a changed aggregate behind) keeps that from
    # replaying the operation's whole history; snapshots bound the replay after a restart.
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "1000"}
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Operation: 100}

    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        super().__init__(env)
        self.clock = clock or SystemClock()
        # The batch being decided by execute_batch, per thread: queries in other threads must
        # never see changes that are not yet recorded.
        self._batch = threading.local()

    def _unit(self) -> dict[UUID, Any] | None:
        unit: dict[UUID, Any] | None = getattr(self._batch, "unit", None)
        return unit

    def _save(self, *aggregates: Operation | CommandReceipt) -> None:
        unit = self._unit()
        if unit is None:
            self.save(*aggregates)
        else:
            for aggregate in aggregates:
                unit[aggregate.id] = aggregate

    def _made_by(self, command_id: UUID | None) -> UUID | None:
        """What an earlier command with this id made (recorded, or earlier in this batch),
        so that a retry answers the same instead of recording it again; None if it is new."""
        if command_id is None:
            return None
        receipt_id = CommandReceipt.create_id(command_id)
        unit = self._unit()
        if unit is not None and receipt_id in unit:
            made: UUID = unit[receipt_id].made
            return made
        try:
            receipt: CommandReceipt = self.repository.get(receipt_id)
        except AggregateNotFoundError:
            return None
        return receipt.made

    def _made(self, operation: Operation, command_id: UUID | None, made: UUID) -> UUID:
        """Save the operation, and with it (one transaction) the command's receipt."""
        if command_id is None:
            self._save(operation)
        else:
            self._save(operation, CommandReceipt(command_id=command_id, made=made))
        return made

    def execute_batch(self, calls: Sequence[Callable[[], Any]]) -> list[Any]:
        """Decide commands in order, each seeing the ones before it, and record all their
        events in one transaction. A refused command's outcome is its error; it records
        nothing. Any other failure raises, and nothing of the batch is recorded."""
        unit: dict[UUID, Any] = {}
        self._batch.unit = unit
        outcomes: list[Any] = []
        try:
            for call in calls:
                try:
                    outcomes.append(call())
                except (OperationNotFound, OperationRuleBroken, Refusal) as refused:
                    outcomes.append(refused)
            self.save(*unit.values())
        finally:
            self._batch.unit = None
        return outcomes

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_chb_transcodings(transcoder)

    def _meta(self, operation_id: UUID, actor: Actor, reason: str | None) -> Meta:
        return Meta(
            occurred_at=self.clock.now(), operation_id=operation_id, actor=actor, reason=reason
        )

    def _operation_for(
        self, operation_id: UUID, actor: Actor, caller: Caller | None, action: str
    ) -> Operation:
        """The operation, if the caller may do ``action`` on it (the authorization table, as
        the front door asked it): a hidden one is refused as an unknown one would be."""
        operation = self.get_operation(operation_id)
        operation.check_permitted(caller or caller_from(actor), action)
        return operation

    def get_operation(self, operation_id: UUID) -> Operation:
        unit = self._unit()
        if unit is not None and operation_id in unit:
            found: Operation = unit[operation_id]
            return found
        try:
            operation = fetch(self, operation_id, Operation)
        except AggregateNotFoundError:
            raise OperationNotFound(f"no operation {operation_id}") from None
        if unit is not None:
            unit[operation_id] = operation
        return operation

    def plan_operation(
        self,
        name: str,
        district: str,
        place: str,
        target_group: str,
        planned_start: datetime,
        actor: Actor,
        reason: str | None = None,
        command_id: UUID | None = None,
        caller: Caller | None = None,
    ) -> UUID:
        check_may_plan(caller or caller_from(actor), place)
        if (earlier := self._made_by(command_id)) is not None:
            return earlier
        operation_id = uuid4()
        operation = Operation(
            id=operation_id,
            name=name,
            district=district,
            place=place,
            target_group=target_group,
            planned_start=planned_start,
            meta=self._meta(operation_id, actor, reason),
        )
        return self._made(operation, command_id, operation_id)

    def launch_operation(
        self,
        operation_id: UUID,
        actor: Actor,
        reason: str | None = None,
        caller: Caller | None = None,
    ) -> None:
        operation = self._operation_for(operation_id, actor, caller, "launch_operation")
        operation.launch(self._meta(operation_id, actor, reason))
        self._save(operation)

    def record_arrest(
        self,
        operation_id: UUID,
        person_ref: str,
        household_ref: str,
        charges: list[str],
        children: list[dict[str, Any]],
        only_carer_present: bool,
        actor: Actor,
        reason: str | None = None,
        ages: str | None = None,
        personal: str | None = None,
        command_id: UUID | None = None,
        caller: Caller | None = None,
    ) -> UUID:
        if (earlier := self._made_by(command_id)) is not None:
            return earlier
        operation = self._operation_for(operation_id, actor, caller, "record_arrest")
        arrest_id = uuid4()
        operation.record_arrest(
            arrest_id=arrest_id,
            person_ref=person_ref,
            household_ref=household_ref,
            charges=charges,
            children=children,
            only_carer_present=only_carer_present,
            meta=self._meta(operation_id, actor, reason),
            ages=ages,
            personal=personal,
        )
        return self._made(operation, command_id, arrest_id)

    def record_seizure(
        self,
        operation_id: UUID,
        kind: str,
        description: str,
        quantity: float,
        unit: str,
        actor: Actor,
        reason: str | None = None,
        household_ref: str | None = None,
        children: list[dict[str, Any]] | None = None,
        command_id: UUID | None = None,
        ages: str | None = None,
        caller: Caller | None = None,
    ) -> UUID:
        if (earlier := self._made_by(command_id)) is not None:
            return earlier
        operation = self._operation_for(operation_id, actor, caller, "record_seizure")
        seizure_id = uuid4()
        operation.record_seizure(
            seizure_id=seizure_id,
            kind=kind,
            description=description,
            quantity=quantity,
            unit=unit,
            meta=self._meta(operation_id, actor, reason),
            household_ref=household_ref,
            children=children,
            ages=ages,
        )
        return self._made(operation, command_id, seizure_id)

    def register_witness(
        self,
        operation_id: UUID,
        witness_ref: str,
        household_ref: str,
        children: list[dict[str, Any]],
        actor: Actor,
        reason: str | None = None,
        command_id: UUID | None = None,
        ages: str | None = None,
        caller: Caller | None = None,
    ) -> UUID:
        if (earlier := self._made_by(command_id)) is not None:
            return earlier
        operation = self._operation_for(operation_id, actor, caller, "register_witness")
        witness_id = uuid4()
        operation.register_witness(
            witness_id,
            witness_ref,
            household_ref,
            children,
            self._meta(operation_id, actor, reason),
            ages=ages,
        )
        return self._made(operation, command_id, witness_id)

    def stage_support(
        self,
        operation_id: UUID,
        household_ref: str,
        expected_children: int,
        only_carer_expected: bool,
        note: str | None,
        actor: Actor,
        reason: str | None = None,
        caller: Caller | None = None,
    ) -> None:
        operation = self._operation_for(operation_id, actor, caller, "stage_support")
        operation.stage_support(
            household_ref,
            expected_children,
            only_carer_expected,
            note,
            self._meta(operation_id, actor, reason),
        )
        self._save(operation)

    def conclude_operation(
        self,
        operation_id: UUID,
        actor: Actor,
        reason: str | None = None,
        caller: Caller | None = None,
    ) -> None:
        operation = self._operation_for(operation_id, actor, caller, "conclude_operation")
        operation.conclude(self._meta(operation_id, actor, reason))
        self._save(operation)
