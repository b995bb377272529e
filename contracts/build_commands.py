"""Commands the front door sends to build (NATS request/reply): the Hold-to-Build gate, a
plan's milestones and check-ins, programmes, and indicator imports. The HTTP API validates
request bodies with the same models, as for every command."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field

from contracts.commands import Command, RealText
from contracts.envelope import Code, Contract, Instant, NoBool
from contracts.indicators import IndicatorRow
from contracts.personal import SealedText

# Evidence a reader can follow up: at least this many letters or digits once trimmed, so
# ".", "-" or "n/a" is refused (build's ResiliencePlan holds the same rule).
EVIDENCE_MIN_MEANINGFUL = 6


def _real_evidence(text: str) -> str:
    text = text.strip()
    if sum(ch.isalnum() for ch in text) < EVIDENCE_MIN_MEANINGFUL:
        raise ValueError(
            f"evidence must say what the decision rests on: at least "
            f"{EVIDENCE_MIN_MEANINGFUL} letters or digits"
        )
    return text


Evidence = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_real_evidence)]


class GateDetails(Contract):
    """The chair's decision to move a place from Hold to Build: only the evidence. Who signed
    off is what the members' own sign-offs recorded, never a list in the request."""

    evidence: list[Evidence] = Field(min_length=1, max_length=50)


class DecideGate(Command, GateDetails):
    place: str = Field(min_length=1, max_length=100)


class SignOffGate(Command):
    """The sender's own sign-off of the place's move from Hold to Build (no body: the person
    is the one whose token sent it)."""

    place: str = Field(min_length=1, max_length=100)


class MilestoneDetails(Contract):
    label: str = Field(min_length=1, max_length=200)
    owner_agency: Code
    due_at: Instant


class AddMilestone(Command, MilestoneDetails):
    place: str = Field(min_length=1, max_length=100)


class CheckInDetails(Contract):
    status: Literal["on_track", "at_risk", "off_track", "met"]
    # May name people: the front door seals it with the place's key before it goes on.
    note: RealText = Field(min_length=1, max_length=4000)
    evidence_link: str | None = Field(default=None, max_length=2000)


class CheckInMilestone(Command, CheckInDetails):
    milestone_id: UUID
    note: SealedText


Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]


class ProgrammeDetails(Contract):
    name: str = Field(min_length=1, max_length=200)
    provider: Code  # an agency of the register (the front door checks)
    place: str = Field(min_length=1, max_length=100)
    focus_area: Literal["at_risk_of_organised_crime", "methamphetamine_harm", "rangatahi_pathway"]
    funding_source: str = Field(min_length=1, max_length=200)
    agreement_kind: Literal["outcome_agreement", "conditional_grant"]


class RegisterProgramme(Command, ProgrammeDetails):
    programme_id: UUID


class PanelVoteDetails(Contract):
    """A commissioning-panel member's own vote (the voter is the one whose token sent it)."""

    decision: Literal["approved", "declined"]
    amount: Money = Field(gt=0)


class PanelDecisionDetails(Contract):
    """The panel's decision: recorded only on enough members' own votes for it; the panel is
    who voted, never a list in the request."""

    decision: Literal["approved", "declined"]
    amount: Money = Field(gt=0)


class SpendDetails(Contract):
    amount: Money = Field(gt=0)
    period: str = Field(min_length=1, max_length=20)


class ResultDetails(Contract):
    period: str = Field(min_length=1, max_length=20)
    people_engaged: Annotated[int, NoBool] = Field(ge=0)
    cost: Money | None = None
    outcome_value: Money | None = None
    note: str = Field(default="", max_length=4000)


class ChangeProgrammeCommand(Command):
    programme_id: UUID
    action: Literal["vote", "decide", "spend", "report"]
    decision: Literal["approved", "declined"] | None = None
    amount: Money | None = None
    period: str | None = None
    people_engaged: int | None = None
    cost: Money | None = None
    outcome_value: Money | None = None
    # A result's note may name people: sealed with the place's key by the front door.
    note: SealedText | None = None


# Rows per chunk of an indicator import: keeps each message well under NATS's 1 MB payload.
IMPORT_CHUNK_ROWS = 500


class StartIndicatorImport(Contract):
    file_name: str = Field(min_length=1, max_length=200)
    rows_expected: Annotated[int, NoBool] = Field(ge=1, le=10_000_000)


class IndicatorRowsChunk(Contract):
    rows: list[IndicatorRow] = Field(min_length=1, max_length=IMPORT_CHUNK_ROWS)


class ImportIndicatorsCommand(Command):
    import_id: UUID
    step: Literal["start", "rows", "commit"]
    file_name: str = ""
    rows_expected: int = 0
    rows: list[IndicatorRow] = Field(default_factory=list, max_length=IMPORT_CHUNK_ROWS)
