"""Resilience plans per place and their milestones (the Build phase)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from contracts.place import place_key
from services.build.access import (
    import_relation,
    import_visible,
    milestone_relation,
    milestone_visible,
    no_import,
    no_milestone,
    no_plan,
    outside_scope,
    place_visible,
)
from services.build.domain.errors import (
    GateEvidenceMissing,
    GateSignOffMissing,
    PlanRuleBroken,
)
from services.runtime.authorization import Caller, check
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


# Not found, or hidden from the caller's token: answered alike (services/build/access.py).
# Evidence is something a reader can follow up: at least this many letters or digits after
# trimming (so ".", "-" or "n/a" is not evidence).
GATE_EVIDENCE_MIN_MEANINGFUL = 6


def meaningful(text: str) -> bool:
    return sum(ch.isalnum() for ch in text.strip()) >= GATE_EVIDENCE_MIN_MEANINGFUL


class ResiliencePlan(Aggregate):
    """One plan per place, linked to every operation concluded there. It stays in the Hold
    phase until the chair records the decision to move it to Build, which needs the sign-offs
    of the leadership group's members, each made by the person with their own token."""

    class Opened(Aggregate.Created):
        place: str
        meta: Meta

    class GateSignedOff(Aggregate.Event):
        """One leadership-group member agrees to the move to Build: the person is the actor."""

        place: str
        meta: Meta

    class GateDecided(Aggregate.Event):
        """The chair's decision to move the plan from Hold to Build: who had signed off (each
        {id, agency, role, at}, from their own sign-offs, the deciding chair among them) and
        the evidence it rests on. Decisions recorded before sign-offs were each the person's
        own list {id, agency, role} as the chair's request named them, with no ``at``."""

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
        return derived_id("plan", place_key(place))

    @event(Opened)
    def __init__(self, place: str, meta: Meta) -> None:
        self.place = place
        self.operation_ids: list[UUID] = []
        self.phase = HOLD
        self.gate: dict[str, object] | None = None
        # Who has signed off the move to Build, by person: the same person twice counts once.
        self.sign_offs: dict[str, dict[str, str]] = {}

    def check_caller(self, caller: Caller, action: str) -> None:
        """Refused unless the caller's token covers the place and their role may ``action``
        (a plan is no agency's: there is no relation to it)."""
        check(
            caller, action, visible=place_visible(caller, self.place), hidden_as=no_plan(self.place)
        )

    def check_in_hold(self) -> None:
        if self.phase != HOLD:
            raise PlanRuleBroken(f"the plan for {self.place} is already in {self.phase}")

    def sign_off_gate(self, caller: Caller, meta: Meta) -> bool:
        """The caller's own sign-off of the move to Build; False (nothing recorded) when they
        have signed off already."""
        self.check_caller(caller, "sign_off_gate")
        self.check_in_hold()
        if meta.actor.id in self.sign_offs:
            return False
        self._gate_signed_off(place=self.place, meta=meta)
        return True

    @event(GateSignedOff)
    def _gate_signed_off(self, place: str, meta: Meta) -> None:
        self.sign_offs[meta.actor.id] = signatory(meta)

    def decide_gate(self, caller: Caller, evidence: list[str], meta: Meta) -> None:
        """The chair moves the plan to Build on the sign-offs recorded so far (the deciding
        chair's decision is their own sign-off) and the evidence; refused, naming what is
        missing, without enough of either."""
        self.check_caller(caller, "decide_gate")
        self.check_in_hold()
        evidence = [e.strip() for e in evidence]
        if not evidence or not all(meaningful(e) for e in evidence):
            raise GateEvidenceMissing(
                f"the move to Build for {self.place} needs the evidence it rests on: each item "
                f"at least {GATE_EVIDENCE_MIN_MEANINGFUL} letters or digits"
            )
        signed = dict(self.sign_offs)
        deciding = signatory(meta)
        if signed.get(deciding["id"], {}).get("role") != deciding["role"]:
            # Deciding is the chair's own sign-off (also when they signed off earlier in
            # another role).
            signed[deciding["id"]] = deciding
        missing = gate_sign_off_missing(list(signed.values()))
        if missing:
            raise GateSignOffMissing(
                f"the move to Build for {self.place} needs " + "; ".join(missing)
            )
        self._gate_decided(
            place=self.place,
            to_phase=BUILD,
            signed_off_by=list(signed.values()),
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
            "decided_by": signatory(meta),
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


def signatory(meta: Meta) -> dict[str, str]:
    """The person who did it (from their token, via the command's actor) and when."""
    actor = meta.actor
    return {
        "id": actor.id,
        "agency": actor.agency,
        "role": actor.role,
        "at": meta.occurred_at.isoformat(),
    }


def gate_sign_off_missing(signed_off_by: list[dict[str, str]]) -> list[str]:
    """What the sign-offs still lack for a gate decision; empty when it may be recorded."""
    missing = []
    if not any(s["role"] == GATE_CHAIR_ROLE for s in signed_off_by):
        missing.append("the sign-off of the leadership-group chair")
    agencies = sorted({s["agency"] for s in signed_off_by})
    if len(agencies) < GATE_MIN_AGENCIES:
        have = f"have {len(agencies)}" + (f": {', '.join(agencies)}" if agencies else "")
        missing.append(f"sign-offs by members of at least {GATE_MIN_AGENCIES} agencies ({have})")
    if GATE_REQUIRED_AGENCY not in agencies:
        missing.append(f"an {GATE_REQUIRED_AGENCY} member's sign-off")
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

    def check_caller(self, caller: Caller, action: str) -> None:
        """Refused unless the token covers the milestone's place (and operation) and the caller
        may ``action`` given their agency's relation to it (its owner, or not)."""
        check(
            caller,
            action,
            milestone_relation(caller, self.owner_agency),
            visible=milestone_visible(caller, self.place, self.operation_id),
            hidden_as=no_milestone(self.id),
        )

    def check_in(
        self, caller: Caller, status: str, note: str, evidence_link: str | None, meta: Meta
    ) -> None:
        """A check-in by the owner agency's staff or the leadership group: anyone else's "met"
        would stop its escalation for good."""
        self.check_caller(caller, "check_in_milestone")
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
    of its rows count, so an import that stops half way leaves nothing half imported. Its rows
    and its commit come from the agency that started it, and every row must lie within the
    token of whoever adds or commits it."""

    class Started(Aggregate.Created):
        file_name: str
        rows_expected: int
        meta: Meta
        # Imports started before the starter was recorded have none: their starter is the
        # agency of the person who started them (the event's actor).
        starter_agency: str | None = None

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
        starter_agency: str | None = None,
    ) -> None:
        self.file_name = file_name
        self.rows_expected = rows_expected
        self.starter_agency = starter_agency or meta.actor.agency
        self.rows_received = 0
        self.committed = False
        # The places its rows name so far (as first spelled), for the token's scope.
        self.places: dict[str, str] = {}

    @classmethod
    def start(
        cls, caller: Caller, import_id: UUID, file_name: str, rows_expected: int, meta: Meta
    ) -> IndicatorImport:
        check(caller, "start_import")
        if caller.operations:
            raise outside_scope(caller, "an import of a place's indicators")
        return cls(
            id=import_id,
            file_name=file_name,
            rows_expected=rows_expected,
            starter_agency=caller.agency,
            meta=meta,
        )

    def check_caller(self, caller: Caller, action: str) -> None:
        """Refused unless the token covers every place the import's rows name and the caller's
        agency started it (or their role acts on any import)."""
        check(
            caller,
            action,
            import_relation(caller, self.starter_agency),
            visible=import_visible(caller, self.places.values()),
            hidden_as=no_import(self.id),
        )

    def add_rows(self, caller: Caller, rows: list[dict[str, Any]], meta: Meta) -> None:
        self.check_caller(caller, "add_import_rows")
        outside = sorted({str(r["place"]) for r in rows if not caller.covers_place(r["place"])})
        if outside:
            raise outside_scope(caller, f"rows for {', '.join(outside)}")
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
        for row in rows:
            self.places.setdefault(place_key(str(row["place"])), str(row["place"]))

    def commit(self, caller: Caller, meta: Meta) -> None:
        self.check_caller(caller, "commit_import")
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
