"""Funded programmes: money exact to the cent, spend never past what the panel committed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from services.build.programme import Programme, ProgrammeRuleBroken
from services.runtime.dead_letters import NIL
from services.runtime.meta import Actor, Meta

pytestmark = pytest.mark.domain

PANEL = [{"id": "p-1", "agency": "iwi", "role": "commissioning_panel"}]


def meta() -> Meta:
    return Meta(datetime(2026, 7, 1, tzinfo=UTC), NIL, Actor("p-1", "iwi", "panel"))


def programme() -> Programme:
    return Programme.register(
        uuid4(),
        "Rangatahi mentoring",
        "Te Rūnanga o Ngāti Mutunga",
        "West Coast",
        "rangatahi_pathway",
        "CRWS fund",
        "outcome_agreement",
        meta(),
    )


def test_many_cent_amounts_add_up_exactly_and_a_fraction_of_a_cent_changes_nothing() -> None:
    """A thousand spends of 1 to 99 cents (floats drift on sums like these) and three
    approvals: spent and committed are exactly the sums counted in whole cents, to the cent,
    in the aggregate and in the totals its events carry (what a replay or a report reads). A
    spend or an approval with a fraction of a cent is refused, and records nothing."""
    p = programme()
    approvals = [Decimal("2600000.00"), Decimal("0.10"), Decimal("0.20")]
    for amount in approvals:
        p.decide("approved", amount, PANEL, meta())
    cents = [(n * 37) % 99 + 1 for n in range(1000)]
    for c in cents:
        p.record_spend(Decimal(c) / 100, "2026-07", meta())
    spent, committed = Decimal(sum(cents)) / 100, Decimal("2600000.30")
    assert p.spent == spent and p.committed == committed
    assert p.committed - p.spent == committed - spent
    assert p.spent.as_tuple().exponent == p.committed.as_tuple().exponent == -2

    events = p.collect_events()
    spends = [e for e in events if isinstance(e, Programme.SpendRecorded)]
    assert spends[-1].spent_total == spent and len(spends) == len(cents)
    decided = [e for e in events if isinstance(e, Programme.PanelDecided)]
    assert decided[-1].committed_total == committed

    for refused in (
        lambda: p.record_spend(Decimal("0.015"), "2026-07", meta()),
        lambda: p.decide("approved", Decimal("100.005"), PANEL, meta()),
    ):
        with pytest.raises(ProgrammeRuleBroken, match="dollars and cents"):
            refused()
    assert (p.spent, p.committed) == (spent, committed) and p.collect_events() == []


def test_a_fraction_of_a_cent_is_refused_not_rounded() -> None:
    p = programme()
    with pytest.raises(ProgrammeRuleBroken, match="dollars and cents"):
        p.decide("approved", Decimal("100.005"), PANEL, meta())


def test_spend_cannot_pass_what_the_panel_committed_and_a_decline_commits_nothing() -> None:
    p = programme()
    p.decide("declined", Decimal("50000.00"), PANEL, meta())
    assert p.committed == Decimal("0.00")
    p.decide("approved", Decimal("1000.00"), PANEL, meta())
    p.record_spend(Decimal("999.99"), "2026-08", meta())
    with pytest.raises(ProgrammeRuleBroken, match=r"over the 1000\.00 committed"):
        p.record_spend(Decimal("0.02"), "2026-08", meta())
    p.record_spend(Decimal("0.01"), "2026-08", meta())
    assert p.spent == p.committed == Decimal("1000.00")


def test_the_social_return_is_outcome_value_per_dollar_of_cost() -> None:
    """A programme reporting $250,000 cost and $1,150,000 outcome value returns $4.60 per $1
    (the Taumata figure); results without cost and value count people but not the ratio."""
    p = programme()
    assert p.social_return is None
    p.report_result("2026-H1", 40, Decimal("100000.00"), Decimal("460000.00"), "cohort 1", meta())
    p.report_result("2026-H2", 35, Decimal("150000.00"), Decimal("690000.00"), "cohort 2", meta())
    p.report_result("2027-H1", 12, None, None, "interim count", meta())
    assert p.social_return == Decimal("4.60")
    assert p.people_engaged == 87
    with pytest.raises(ProgrammeRuleBroken, match="together"):
        p.report_result("x", 1, Decimal("1.00"), None, "half", meta())


def test_only_the_three_focus_areas_and_two_agreement_kinds() -> None:
    with pytest.raises(ProgrammeRuleBroken, match="focus_area"):
        Programme.register(uuid4(), "x", "y", "z", "sport", "f", "conditional_grant", meta())
    with pytest.raises(ProgrammeRuleBroken, match="agreement_kind"):
        Programme.register(uuid4(), "x", "y", "z", "methamphetamine_harm", "f", "loan", meta())
