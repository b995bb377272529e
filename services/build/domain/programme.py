"""Funded programmes: commissioned by a panel, paid out, and reporting what they achieved.

Money is ``Decimal`` to the cent, never float: a fund of $2.6m given out in grants must add up
exactly, and so must every report made from it.

The commissioning panel is the leadership group: each member votes with their own token, and a
decision stands only on the votes of at least ``PANEL_QUORUM`` different people for that same
decision and amount, cast since the last decision. The provider's agency lead reports spend and
results.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.build.access import (
    no_programme,
    outside_scope,
    place_visible,
    programme_relation,
)
from services.build.domain.errors import (
    PanelQuorumMissing,
    ProgrammeRuleBroken,
)
from services.runtime.authorization import Caller, check
from services.runtime.meta import Meta

CENT = Decimal("0.01")
# Different people who must have voted for the same decision and amount before it is recorded.
PANEL_QUORUM = 3
DECISIONS = ("approved", "declined")
# The three ROCC focus areas (West Coast).
FOCUS_AREAS = ("at_risk_of_organised_crime", "methamphetamine_harm", "rangatahi_pathway")
AGREEMENT_KINDS = ("outcome_agreement", "conditional_grant")


def panel_choice(decision: str, amount: Decimal) -> tuple[str, Decimal]:
    if decision not in DECISIONS:
        raise ProgrammeRuleBroken("decision must be approved or declined")
    amount = money(amount)
    if amount <= 0:
        raise ProgrammeRuleBroken("the amount must be more than zero")
    return decision, amount


def money(amount: Decimal) -> Decimal:
    """Exactly to the cent, or refused: no rounding hides a fraction of a cent."""
    if amount != amount.quantize(CENT):
        raise ProgrammeRuleBroken(f"{amount} is not an amount in dollars and cents")
    return amount.quantize(CENT)


class Programme(Aggregate):
    class Registered(Aggregate.Created):
        name: str
        provider: str
        place: str
        focus_area: str
        funding_source: str
        agreement_kind: str
        meta: Meta

    class PanelVoted(Aggregate.Event):
        """One panel member's own vote (the person is the actor)."""

        decision: str  # approved | declined
        amount: Decimal
        meta: Meta

    class PanelDecided(Aggregate.Event):
        """The panel's decision; ``panel`` is who voted for it ({id, agency, role, at}, from
        their own votes). Decisions recorded before votes were each the person's own list
        {id, agency, role} as the request named them, with no ``at``."""

        decision: str  # approved | declined
        amount: Decimal
        panel: list[dict[str, str]]
        committed_total: Decimal
        meta: Meta

    class SpendRecorded(Aggregate.Event):
        amount: Decimal
        period: str
        spent_total: Decimal
        meta: Meta

    class ResultReported(Aggregate.Event):
        period: str
        people_engaged: int
        cost: Decimal | None
        outcome_value: Decimal | None
        note: str
        meta: Meta

    @event(Registered)
    def __init__(
        self,
        id: UUID,
        name: str,
        provider: str,
        place: str,
        focus_area: str,
        funding_source: str,
        agreement_kind: str,
        meta: Meta,
    ) -> None:
        self.name = name
        self.provider = provider
        self.place = place
        self.focus_area = focus_area
        self.funding_source = funding_source
        self.agreement_kind = agreement_kind
        self.committed = Decimal("0.00")
        self.spent = Decimal("0.00")
        self.reported_cost = Decimal("0.00")
        self.reported_value = Decimal("0.00")
        self.people_engaged = 0
        # Each person's vote since the last decision (a later vote replaces their earlier one).
        self.votes: dict[str, dict[str, str]] = {}

    @classmethod
    def register(
        cls,
        caller: Caller,
        programme_id: UUID,
        name: str,
        provider: str,
        place: str,
        focus_area: str,
        funding_source: str,
        agreement_kind: str,
        meta: Meta,
    ) -> Programme:
        check(caller, "register_programme")
        if not place_visible(caller, place):
            raise outside_scope(caller, f"place {place}")
        if focus_area not in FOCUS_AREAS:
            raise ProgrammeRuleBroken(f"focus_area must be one of {', '.join(FOCUS_AREAS)}")
        if agreement_kind not in AGREEMENT_KINDS:
            raise ProgrammeRuleBroken(f"agreement_kind must be one of {', '.join(AGREEMENT_KINDS)}")
        return cls(
            id=programme_id,
            name=name,
            provider=provider,
            place=place,
            focus_area=focus_area,
            funding_source=funding_source,
            agreement_kind=agreement_kind,
            meta=meta,
        )

    def check_caller(self, caller: Caller, action: str) -> None:
        """Refused unless the token covers the programme's place and the caller may ``action``
        given their agency's relation to it (its provider, or not)."""
        check(
            caller,
            action,
            programme_relation(caller, self.provider),
            visible=place_visible(caller, self.place),
            hidden_as=no_programme(self.id),
        )

    def vote(self, caller: Caller, decision: str, amount: Decimal, meta: Meta) -> bool:
        """A panel member's own vote; False (nothing recorded) when it is the vote they have
        already cast."""
        self.check_caller(caller, "vote_on_programme")
        decision, amount = panel_choice(decision, amount)
        mine = self.votes.get(meta.actor.id)
        if mine is not None and (mine["decision"], mine["amount"]) == (decision, str(amount)):
            return False
        self._panel_voted(decision=decision, amount=amount, meta=meta)
        return True

    @event(PanelVoted)
    def _panel_voted(self, decision: str, amount: Decimal, meta: Meta) -> None:
        actor = meta.actor
        self.votes[actor.id] = {
            "id": actor.id,
            "agency": actor.agency,
            "role": actor.role,
            "decision": decision,
            "amount": str(amount),
            "at": meta.occurred_at.isoformat(),
        }

    def decide(self, caller: Caller, decision: str, amount: Decimal, meta: Meta) -> None:
        """The panel's decision, recorded on the votes of at least ``PANEL_QUORUM`` people
        for this decision and amount; an approval commits its amount."""
        self.check_caller(caller, "decide_programme")
        decision, amount = panel_choice(decision, amount)
        panel = [
            {k: v for k, v in vote.items() if k in ("id", "agency", "role", "at")}
            for vote in self.votes.values()
            if (vote["decision"], vote["amount"]) == (decision, str(amount))
        ]
        if len(panel) < PANEL_QUORUM:
            raise PanelQuorumMissing(
                f"to record {decision} {amount} for {self.name} the panel needs the votes of "
                f"at least {PANEL_QUORUM} members for that decision and amount since the last "
                f"decision; {len(panel)} voted so (needs {PANEL_QUORUM - len(panel)} more)"
            )
        committed = self.committed + (amount if decision == "approved" else Decimal("0.00"))
        self._panel_decided(
            decision=decision, amount=amount, panel=panel, committed_total=committed, meta=meta
        )

    @event(PanelDecided)
    def _panel_decided(
        self,
        decision: str,
        amount: Decimal,
        panel: list[dict[str, str]],
        committed_total: Decimal,
        meta: Meta,
    ) -> None:
        self.committed = committed_total
        self.votes = {}  # a decision uses up the votes cast for it and any others

    def record_spend(self, caller: Caller, amount: Decimal, period: str, meta: Meta) -> None:
        self.check_caller(caller, "record_spend")
        amount = money(amount)
        if amount <= 0:
            raise ProgrammeRuleBroken("a spend must be more than zero")
        if self.spent + amount > self.committed:
            raise ProgrammeRuleBroken(
                f"spending {amount} would take {self.name} to {self.spent + amount}, "
                f"over the {self.committed} committed"
            )
        self._spend_recorded(
            amount=amount, period=period, spent_total=self.spent + amount, meta=meta
        )

    @event(SpendRecorded)
    def _spend_recorded(
        self, amount: Decimal, period: str, spent_total: Decimal, meta: Meta
    ) -> None:
        self.spent = spent_total

    def report_result(
        self,
        caller: Caller,
        period: str,
        people_engaged: int,
        cost: Decimal | None,
        outcome_value: Decimal | None,
        note: str,
        meta: Meta,
    ) -> None:
        self.check_caller(caller, "report_result")
        if people_engaged < 0:
            raise ProgrammeRuleBroken("people engaged cannot be negative")
        if (cost is None) != (outcome_value is None):
            raise ProgrammeRuleBroken("report cost and outcome value together, or neither")
        self._result_reported(
            period=period,
            people_engaged=people_engaged,
            cost=None if cost is None else money(cost),
            outcome_value=None if outcome_value is None else money(outcome_value),
            note=note,
            meta=meta,
        )

    @event(ResultReported)
    def _result_reported(
        self,
        period: str,
        people_engaged: int,
        cost: Decimal | None,
        outcome_value: Decimal | None,
        note: str,
        meta: Meta,
    ) -> None:
        self.people_engaged += people_engaged
        if cost is not None and outcome_value is not None:
            self.reported_cost += cost
            self.reported_value += outcome_value

    @property
    def social_return(self) -> Decimal | None:
        """Dollars of outcome value per dollar of cost, where results report both (SROI)."""
        if self.reported_cost == 0:
            return None
        return (self.reported_value / self.reported_cost).quantize(CENT)
