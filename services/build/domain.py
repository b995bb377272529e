"""Resilience plans per place and their milestones (the Build phase)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.runtime.meta import Meta, derived_id

HOLD, BUILD = "hold", "build"
# Who must agree before a plan moves from Hold to Build: the leadership group's chair, and
# members of at least three agencies, iwi among them (the group is a partnership with iwi).
GATE_CHAIR_ROLE = "leadership_group_chair"
GATE_MIN_AGENCIES = 3
GATE_REQUIRED_AGENCY = "iwi"
CHECK_IN_STATUSES = ("on_track", "at_risk", "off_track", "met")
# After a milestone's due date, without a check-in saying it was met: its owner agency's lead,
# then the leadership-group chair.
MILESTONE_ESCALATION_DAYS = (7, 30)
MILESTONE_ESCALATION_LEVELS = ("owner_agency_lead", "leadership_group_chair")


class PlanRuleBroken(Exception):
    """A change the plan or milestone does not allow (HTTP 409)."""


class GateSignOffMissing(PlanRuleBroken):
    pass


class ResiliencePlan(Aggregate):
    """One plan per place, linked to every operation concluded there. It stays in the Hold
    phase until the leadership group records a decision to move it to Build."""

    class Opened(Aggregate.Created):
        place: str
        meta: Meta

    class GateDecided(Aggregate.Event):
        """The leadership group's decision to move the plan from Hold to Build."""

        place: str
        to_phase: str
        signed_off_by: list[dict[str, str]]
        evidence: list[str]
        meta: Meta

    class OperationLinked(Aggregate.Event):
        operation_id: UUID
        concluded_at: datetime
        meta: Meta

    @staticmethod
    def create_id(place: str) -> UUID:
        return derived_id("plan", place.strip().casefold())

    @event(Opened)
    def __init__(self, place: str, meta: Meta) -> None:
        self.place = place
        self.operation_ids: list[UUID] = []
        self.phase = HOLD
        self.gate: dict[str, object] | None = None

    def decide_gate(
        self, signed_off_by: list[dict[str, str]], evidence: list[str], meta: Meta
    ) -> None:
        """Move to Build, recording who agreed, when and on what evidence; refused, naming
        what is missing, without the required sign-off."""
        if self.phase != HOLD:
            raise PlanRuleBroken(f"the plan for {self.place} is already in {self.phase}")
        missing = gate_sign_off_missing(signed_off_by, evidence)
        if missing:
            raise GateSignOffMissing(
                f"the move to Build for {self.place} needs " + "; ".join(missing)
            )
        self._gate_decided(
            place=self.place,
            to_phase=BUILD,
            signed_off_by=signed_off_by,
            evidence=evidence,
            meta=meta,
        )

    @event(GateDecided)
    def _gate_decided(
        self,
        place: str,
        to_phase: str,
        signed_off_by: list[dict[str, str]],
        evidence: list[str],
        meta: Meta,
    ) -> None:
        self.phase = to_phase
        self.gate = {
            "decided_at": meta.occurred_at.isoformat(),
            "signed_off_by": signed_off_by,
            "evidence": evidence,
        }

    def link_operation(self, operation_id: UUID, concluded_at: datetime, meta: Meta) -> bool:
        if operation_id in self.operation_ids:
            return False
        self._operation_linked(operation_id=operation_id, concluded_at=concluded_at, meta=meta)
        return True

    @event(OperationLinked)
    def _operation_linked(self, operation_id: UUID, concluded_at: datetime, meta: Meta) -> None:
        self.operation_ids.append(operation_id)


def gate_sign_off_missing(signed_off_by: list[dict[str, str]], evidence: list[str]) -> list[str]:
    """What a gate decision still lacks; empty when it may be recorded."""
    missing = []
    if not any(s.get("role") == GATE_CHAIR_ROLE for s in signed_off_by):
        missing.append("the sign-off of the leadership-group chair")
    agencies = {s.get("agency") for s in signed_off_by if s.get("agency")}
    if len(agencies) < GATE_MIN_AGENCIES:
        missing.append(f"members of at least {GATE_MIN_AGENCIES} agencies (have {len(agencies)})")
    if GATE_REQUIRED_AGENCY not in agencies:
        missing.append(f"an {GATE_REQUIRED_AGENCY} member's sign-off")
    if not [e for e in evidence if e.strip()]:
        missing.append("the evidence the decision rests on")
    return missing


class Milestone(Aggregate):
    class Scheduled(Aggregate.Created):
        plan_id: UUID
        operation_id: UUID
        place: str
        label: str
        days_after_conclusion: int
        owner_agency: str
        due_at: datetime
        meta: Meta

    class CheckedIn(Aggregate.Event):
        status: str
        note: str
        evidence_link: str | None
        meta: Meta

    class Escalated(Aggregate.Event):
        step: int
        level: str
        meta: Meta

    @staticmethod
    def create_id(
        plan_id: UUID, operation_id: UUID, days_after_conclusion: int, label: str
    ) -> UUID:
        return derived_id("milestone", plan_id, operation_id, days_after_conclusion, label)

    @event(Scheduled)
    def __init__(
        self,
        plan_id: UUID,
        operation_id: UUID,
        place: str,
        label: str,
        days_after_conclusion: int,
        owner_agency: str,
        due_at: datetime,
        meta: Meta,
    ) -> None:
        self.plan_id = plan_id
        self.operation_id = operation_id
        self.place = place
        self.label = label
        self.days_after_conclusion = days_after_conclusion
        self.owner_agency = owner_agency
        self.due_at = due_at
        self.status = "scheduled"
        self.check_ins: list[dict[str, object]] = []
        self.escalations_sent = 0

    def check_in(self, status: str, note: str, evidence_link: str | None, meta: Meta) -> None:
        if self.status == "met":
            raise PlanRuleBroken(f"milestone {self.label!r} is already met")
        if status not in CHECK_IN_STATUSES:
            raise PlanRuleBroken(f"status must be one of {', '.join(CHECK_IN_STATUSES)}")
        if not note.strip():
            raise PlanRuleBroken("a check-in needs a note")
        self._checked_in(status=status, note=note, evidence_link=evidence_link, meta=meta)

    @event(CheckedIn)
    def _checked_in(self, status: str, note: str, evidence_link: str | None, meta: Meta) -> None:
        self.status = status
        self.check_ins.append({"status": status, "at": meta.occurred_at.isoformat()})

    # Deadlines, kept as hold keeps its tasks': stored, fired once each.
    def escalation_times(self) -> list[datetime]:
        return [self.due_at + timedelta(days=d) for d in MILESTONE_ESCALATION_DAYS]

    def next_deadline(self) -> datetime | None:
        if self.status == "met":
            return None
        return min(self.escalation_times()[self.escalations_sent :], default=None)

    def fire_deadlines(self, now: datetime, meta: Meta) -> int:
        if self.status == "met":
            return 0
        fired = 0
        for step, at in enumerate(self.escalation_times()):
            if step >= self.escalations_sent and at <= now:
                self._escalated(step=step, level=MILESTONE_ESCALATION_LEVELS[step], meta=meta)
                fired += 1
        return fired

    @event(Escalated)
    def _escalated(self, step: int, level: str, meta: Meta) -> None:
        self.escalations_sent = step + 1


class IndicatorImport(Aggregate):
    """One indicator file, imported in chunks and committed whole: until it is committed none
    of its rows count, so an import that stops half way leaves nothing half imported."""

    class Started(Aggregate.Created):
        file_name: str
        rows_expected: int
        meta: Meta

    class RowsAdded(Aggregate.Event):
        rows: list[dict[str, Any]]
        meta: Meta

    class Committed(Aggregate.Event):
        file_name: str
        rows: int
        meta: Meta

    @event(Started)
    def __init__(
        self,
        id: UUID,
        file_name: str,
        rows_expected: int,
        meta: Meta,
    ) -> None:
        self.file_name = file_name
        self.rows_expected = rows_expected
        self.rows_received = 0
        self.committed = False

    def add_rows(self, rows: list[dict[str, Any]], meta: Meta) -> None:
        if self.committed:
            raise PlanRuleBroken(f"import {self.id} is already committed")
        if self.rows_received + len(rows) > self.rows_expected:
            raise PlanRuleBroken(
                f"import {self.id} expected {self.rows_expected} rows, would have "
                f"{self.rows_received + len(rows)}"
            )
        self._rows_added(rows=rows, meta=meta)

    @event(RowsAdded)
    def _rows_added(self, rows: list[dict[str, Any]], meta: Meta) -> None:
        self.rows_received += len(rows)

    def commit(self, meta: Meta) -> None:
        if self.committed:
            return
        if self.rows_received != self.rows_expected:
            raise PlanRuleBroken(
                f"import {self.id} has {self.rows_received} of {self.rows_expected} rows: "
                "not committed, so none of them count"
            )
        self._committed(file_name=self.file_name, rows=self.rows_received, meta=meta)

    @event(Committed)
    def _committed(self, file_name: str, rows: int, meta: Meta) -> None:
        self.committed = True
