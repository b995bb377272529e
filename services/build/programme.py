"""Funded programmes: commissioned by a panel, paid out, and reporting what they achieved.

Money is ``Decimal`` to the cent, never float: a fund of $2.6m given out in grants must add up
exactly, and so must every report made from it.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.runtime.meta import Meta

CENT = Decimal("0.01")
# The three ROCC focus areas (West Coast).
FOCUS_AREAS = ("at_risk_of_organised_crime", "methamphetamine_harm", "rangatahi_pathway")
AGREEMENT_KINDS = ("outcome_agreement", "conditional_grant")


class ProgrammeRuleBroken(Exception):
    """A change the programme does not allow (HTTP 409)."""


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

    class PanelDecided(Aggregate.Event):
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

    @classmethod
    def register(
        cls,
        programme_id: UUID,
        name: str,
        provider: str,
        place: str,
        focus_area: str,
        funding_source: str,
        agreement_kind: str,
        meta: Meta,
    ) -> Programme:
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

    def decide(
        self, decision: str, amount: Decimal, panel: list[dict[str, str]], meta: Meta
    ) -> None:
        """A commissioning-panel decision; an approval commits its amount."""
        if decision not in ("approved", "declined"):
            raise ProgrammeRuleBroken("decision must be approved or declined")
        if not panel:
            raise ProgrammeRuleBroken("a panel decision names the panel members who made it")
        amount = money(amount)
        if amount <= 0:
            raise ProgrammeRuleBroken("the amount must be more than zero")
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

    def record_spend(self, amount: Decimal, period: str, meta: Meta) -> None:
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
        period: str,
        people_engaged: int,
        cost: Decimal | None,
        outcome_value: Decimal | None,
        note: str,
        meta: Meta,
    ) -> None:
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
