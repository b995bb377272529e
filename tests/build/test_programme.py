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


def test_money_adds_up_to_the_cent_where_floats_would_not() -> None:
    """Ten spends of $0.10 and one of $0.20 come to exactly $1.20, and what is left of
    $2.6m is exact; committed and spent are Decimals throughout (in floats 0.1 + 0.2 is not
    0.3)."""
    p = programme()
    p.decide("approved", Decimal("2600000.00"), PANEL, meta())
    for _ in range(10):
        p.record_spend(Decimal("0.10"), "2026-07", meta())
    p.record_spend(Decimal("0.20"), "2026-07", meta())
    assert p.spent == Decimal("1.20") and isinstance(p.spent, Decimal)
    assert 0.1 + 0.2 != 0.3  # why Decimal
    assert p.committed - p.spent == Decimal("2599998.80")


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
