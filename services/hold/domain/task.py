"""A support task's life: offered down a chain of agencies, taken on, worked, and closed.

offered to an agency -> accepted, or declined with a reason (then offered to the next agency in
the chain: "any door is the right door"; when the chain runs out it is escalated to the
leadership group, who can offer it to any agency) -> assigned to a worker -> in progress ->
completed with an outcome, or closed as unable to complete with a reason. Reassignment and notes
are events too. A referral to an agency other than Police needs the person's consent recorded,
or an override with the role and reason of whoever overrode it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from contracts.commands import CLOSE_REASONS, DECLINE_REASONS
from services.hold.domain.errors import (
    ConsentRequired,
    NotOfferedToThisAgency,
    TaskFinished,
    WrongTaskState,
)
from services.runtime.authorization import Engagement
from services.runtime.meta import Meta, derived_id

OFFERED, ACCEPTED, ASSIGNED, IN_PROGRESS = "offered", "accepted", "assigned", "in_progress"
COMPLETED, CLOSED, UNPLACED = "completed", "closed", "unplaced"
FINISHED = (COMPLETED, CLOSED)
POLICE = "police"
# Who hears of an overdue task, step by step after its due time.
ESCALATION_LEVELS = ("worker", "agency_lead", "leadership_group_chair")


def check_reason(code: str, text: str, codes: tuple[str, ...], what: str) -> None:
    """A coded reason from the list, and for "other" some words of its own."""
    if code not in codes:
        raise WrongTaskState(f"{what} needs a reason_code, one of {', '.join(codes)}")
    if code == "other" and not text.strip():
        raise WrongTaskState(f"{what} with reason_code other needs the reason in words")


class SupportTask(Aggregate):
    """A piece of support work with an agency holding it, a due time, and a history."""

    class Opened(Aggregate.Created):
        case_id: UUID
        kind: str
        lead_agency: str
        fallback_agencies: list[str]
        due_at: datetime
        reminders_before: list[int]
        escalations_after: list[int]
        playbook: str
        rule_id: str
        meta: Meta

    class Rescheduled(Aggregate.Event):
        case_id: UUID
        due_at: datetime
        meta: Meta

    class Accepted(Aggregate.Event):
        agency: str
        meta: Meta

    class Declined(Aggregate.Event):
        agency: str
        reason: str  # free text sealed with the household's key ("" if none; older: as typed)
        meta: Meta
        reason_code: str | None = None  # one of contracts.commands.DECLINE_REASONS

    class Offered(Aggregate.Event):
        agency: str
        meta: Meta

    class Unplaced(Aggregate.Event):
        """Every agency in the chain declined: the leadership group must place it."""

        meta: Meta

    class Assigned(Aggregate.Event):
        worker_ref: str
        status: str  # assigned, or in_progress for a reassignment during the work
        meta: Meta

    class Started(Aggregate.Event):
        meta: Meta

    class ConsentRecorded(Aggregate.Event):
        referral_agency: str
        consent: str  # given | override
        override_role: str | None
        override_reason: str | None
        meta: Meta

    class Completed(Aggregate.Event):
        outcome: str
        referral_agency: str | None
        meta: Meta

    class Closed(Aggregate.Event):
        reason: str  # as for Declined
        meta: Meta
        reason_code: str | None = None  # one of contracts.commands.CLOSE_REASONS

    class NoteAdded(Aggregate.Event):
        text: str
        meta: Meta

    class Reminded(Aggregate.Event):
        """A reminder before the due time, to whoever holds the task."""

        step: int
        due_at: datetime
        agency: str | None
        meta: Meta

    class Escalated(Aggregate.Event):
        """The task is overdue: told to the next level up (worker, agency lead, chair)."""

        step: int
        level: str
        due_at: datetime
        agency: str | None
        meta: Meta

    @staticmethod
    def create_id(case_id: UUID, kind: str) -> UUID:
        return derived_id("task", case_id, kind)

    @event(Opened)
    def __init__(
        self,
        case_id: UUID,
        kind: str,
        lead_agency: str,
        fallback_agencies: list[str],
        due_at: datetime,
        reminders_before: list[int],
        escalations_after: list[int],
        playbook: str,
        rule_id: str,
        meta: Meta,
    ) -> None:
        self.case_id = case_id
        self.operation_id = meta.operation_id
        self.kind = kind
        self.chain = [lead_agency, *fallback_agencies]
        self.agency: str | None = lead_agency
        self.declined_by: list[str] = []
        self.due_at = due_at
        self.reminders_before = reminders_before
        self.escalations_after = escalations_after
        self.playbook = playbook
        self.rule_id = rule_id
        self.status = OFFERED
        self.worker_ref: str | None = None
        self.consented_agencies: list[str] = []
        self.outcome: str | None = None
        self.reminders_sent = 0
        self.escalations_sent = 0
        # Each agency's time holding the task: [agency, accepted at, ended at (None: holds it)].
        # Need-to-know runs on it: personal details from acceptance until a while after its
        # part ended (the task finished, or was moved to another agency).
        self.held: list[list[Any]] = []

    @property
    def lead_agency(self) -> str:
        return self.chain[0]

    def engagements(self) -> list[Engagement]:
        """Every agency's part in this task: each that accepted it, from then until its part
        ended, and the one it is offered to now (not yet accepted)."""
        parts = [Engagement(agency, accepted, ended) for agency, accepted, ended in self.held]
        if self.status == OFFERED and self.agency is not None:
            parts.append(Engagement(self.agency, None, None))
        return parts

    def _end_holding(self, at: datetime) -> None:
        if self.held and self.held[-1][2] is None:
            self.held[-1][2] = at

    # guards
    def check_open(self) -> None:
        if self.status in FINISHED:
            raise TaskFinished(f"task {self.id} is {self.status}")

    def check_held_by(self, agency: str) -> None:
        if self.agency != agency:
            holder = self.agency or "no agency (the leadership group must place it)"
            raise NotOfferedToThisAgency(f"task {self.id} is held by {holder}, not {agency}")

    def check_status(self, *allowed: str) -> None:
        self.check_open()
        if self.status not in allowed:
            raise WrongTaskState(f"task {self.id} is {self.status}; needs {' or '.join(allowed)}")

    # deadlines
    def bring_forward(self, due_at: datetime, meta: Meta) -> None:
        """Only ever earlier: whichever arrest comes first, the tightest deadline wins."""
        if due_at < self.due_at and self.status not in FINISHED:
            self._rescheduled(case_id=self.case_id, due_at=due_at, meta=meta)

    @event(Rescheduled)
    def _rescheduled(self, case_id: UUID, due_at: datetime, meta: Meta) -> None:
        self.due_at = due_at

    def reminder_times(self) -> list[datetime]:
        return sorted(self.due_at - timedelta(seconds=s) for s in self.reminders_before)

    def escalation_times(self) -> list[datetime]:
        return [self.due_at + timedelta(seconds=s) for s in self.escalations_after]

    def next_deadline(self) -> datetime | None:
        """When this task next needs something to happen, if ever."""
        if self.status in FINISHED:
            return None
        pending = self.reminder_times()[self.reminders_sent :]
        pending += self.escalation_times()[self.escalations_sent :]
        return min(pending, default=None)

    def fire_deadlines(self, now: datetime, meta: Meta) -> int:
        """Everything that has fallen due by ``now`` and not yet fired, in order, once each.

        The task itself records how far it has got, so firing again (after a restart, or by a
        second scheduler) finds nothing more to do.
        """
        if self.status in FINISHED:
            return 0
        fired = 0
        for step, at in enumerate(self.reminder_times()):
            if step >= self.reminders_sent and at <= now:
                self._reminded(step=step, due_at=self.due_at, agency=self.agency, meta=meta)
                fired += 1
        for step, at in enumerate(self.escalation_times()):
            if step >= self.escalations_sent and at <= now:
                level = ESCALATION_LEVELS[min(step, len(ESCALATION_LEVELS) - 1)]
                self._escalated(
                    step=step, level=level, due_at=self.due_at, agency=self.agency, meta=meta
                )
                fired += 1
        return fired

    @event(Reminded)
    def _reminded(self, step: int, due_at: datetime, agency: str | None, meta: Meta) -> None:
        self.reminders_sent = step + 1

    @event(Escalated)
    def _escalated(
        self, step: int, level: str, due_at: datetime, agency: str | None, meta: Meta
    ) -> None:
        self.escalations_sent = step + 1

    # the offer
    def accept(self, agency: str, meta: Meta) -> None:
        self.check_status(OFFERED)
        self.check_held_by(agency)
        self._accepted(agency=agency, meta=meta)

    @event(Accepted)
    def _accepted(self, agency: str, meta: Meta) -> None:
        self.status = ACCEPTED
        self.held.append([agency, meta.occurred_at, None])

    def decline(self, agency: str, reason_code: str, meta: Meta, reason: str = "") -> None:
        """Decline with a coded reason (and free text, sealed, for "other"); the task moves to
        the next agency that has not declined it, or, when none is left, to the leadership
        group."""
        self.check_status(OFFERED)
        self.check_held_by(agency)
        check_reason(reason_code, reason, DECLINE_REASONS, "a decline")
        self._declined(agency=agency, reason=reason, reason_code=reason_code, meta=meta)
        following = [a for a in self.chain if a not in self.declined_by]
        if following:
            self._offered(agency=following[0], meta=meta)
        else:
            self._unplaced(meta=meta)

    @event(Declined)
    def _declined(self, agency: str, reason: str, meta: Meta, reason_code: str | None) -> None:
        self.declined_by.append(agency)
        self.agency = None

    @event(Unplaced)
    def _unplaced(self, meta: Meta) -> None:
        self.status = UNPLACED
        self.agency = None

    def offer(self, agency: str, meta: Meta) -> None:
        """The leadership group places the task with any agency (any door is the right door)."""
        self.check_open()
        if self.agency == agency and self.status == OFFERED:
            return
        self._offered(agency=agency, meta=meta)

    @event(Offered)
    def _offered(self, agency: str, meta: Meta) -> None:
        self._end_holding(meta.occurred_at)  # moved to another agency: this one's part ends
        self.agency = agency
        self.status = OFFERED
        self.worker_ref = None

    # the work
    def assign(self, agency: str, worker_ref: str, meta: Meta) -> None:
        """Assign, or reassign, to a worker of the agency holding the task."""
        self.check_status(ACCEPTED, ASSIGNED, IN_PROGRESS)
        self.check_held_by(agency)
        status = IN_PROGRESS if self.status == IN_PROGRESS else ASSIGNED
        self._assigned(worker_ref=worker_ref, status=status, meta=meta)

    @event(Assigned)
    def _assigned(self, worker_ref: str, status: str, meta: Meta) -> None:
        self.worker_ref = worker_ref
        self.status = status

    def start(self, agency: str, meta: Meta) -> None:
        self.check_status(ASSIGNED)
        self.check_held_by(agency)
        self._started(meta=meta)

    @event(Started)
    def _started(self, meta: Meta) -> None:
        self.status = IN_PROGRESS

    def record_consent(
        self,
        agency: str,
        referral_agency: str,
        consent: str,
        meta: Meta,
        override_role: str | None = None,
        override_reason: str | None = None,
    ) -> None:
        self.check_open()
        self.check_held_by(agency)
        if consent not in ("given", "override"):
            raise WrongTaskState("consent must be 'given' or 'override'")
        if consent == "override" and not (override_role and override_reason):
            raise ConsentRequired("a consent override needs the overriding role and a reason")
        self._consent_recorded(
            referral_agency=referral_agency,
            consent=consent,
            override_role=override_role,
            override_reason=override_reason,
            meta=meta,
        )

    @event(ConsentRecorded)
    def _consent_recorded(
        self,
        referral_agency: str,
        consent: str,
        override_role: str | None,
        override_reason: str | None,
        meta: Meta,
    ) -> None:
        self.consented_agencies.append(referral_agency)

    def complete(
        self, agency: str, outcome: str, meta: Meta, referral_agency: str | None = None
    ) -> None:
        self.check_status(IN_PROGRESS)
        self.check_held_by(agency)
        if not outcome.strip():
            raise WrongTaskState("completing a task needs an outcome")
        if (
            referral_agency
            and referral_agency != POLICE
            and referral_agency not in self.consented_agencies
        ):
            raise ConsentRequired(
                f"a referral to {referral_agency} needs the person's consent, or an override "
                "with the overriding role and reason, recorded first"
            )
        self._completed(outcome=outcome, referral_agency=referral_agency, meta=meta)

    @event(Completed)
    def _completed(self, outcome: str, referral_agency: str | None, meta: Meta) -> None:
        self.status = COMPLETED
        self.outcome = outcome
        self._end_holding(meta.occurred_at)

    def close_unable(self, agency: str, reason_code: str, meta: Meta, reason: str = "") -> None:
        self.check_open()
        self.check_held_by(agency)
        check_reason(reason_code, reason, CLOSE_REASONS, "closing a task as unable to complete")
        self._closed(reason=reason, reason_code=reason_code, meta=meta)

    @event(Closed)
    def _closed(self, reason: str, meta: Meta, reason_code: str | None) -> None:
        self.status = CLOSED
        self._end_holding(meta.occurred_at)

    def add_note(self, text: str, meta: Meta) -> None:
        if not text.strip():
            raise WrongTaskState("a note needs text")
        self._note_added(text=text, meta=meta)

    @event(NoteAdded)
    def _note_added(self, text: str, meta: Meta) -> None:
        pass


# Each step of a task's life: its name on the wire, and the status it leaves the task in, as
# the methods above set it (None: as it was; a decline is always followed, in the same
# transaction, by an offer or by ``unplaced``; an assignment's own event says which). Stated
# once, beside the state machine: the translation and the views read it from here.
T = SupportTask
STEPS: dict[type[Aggregate.Event], tuple[str, str | None]] = {
    T.Accepted: ("accepted", ACCEPTED),
    T.Declined: ("declined", None),
    T.Offered: ("offered", OFFERED),
    T.Unplaced: ("unplaced", UNPLACED),
    T.Assigned: ("assigned", None),
    T.Started: ("started", IN_PROGRESS),
    T.ConsentRecorded: ("consent_recorded", None),
    T.Completed: ("completed", COMPLETED),
    T.Closed: ("closed", CLOSED),
    T.NoteAdded: ("note_added", None),
    T.Reminded: ("reminded", None),
    T.Escalated: ("escalated", None),
}
