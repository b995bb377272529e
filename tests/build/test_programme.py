"""Funded programmes: decided by panel members' own votes, money exact to the cent, spend never
past what the panel committed, and spend and results reported by the provider's lead alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from services.build.domain import (
    PANEL_QUORUM,
    PanelQuorumMissing,
    Programme,
    ProgrammeRuleBroken,
)
from services.runtime.authorization import Caller, NotFound, NotPermitted
from services.runtime.dead_letters import NIL
from services.runtime.meta import Actor, Meta

pytestmark = pytest.mark.domain

AT = datetime(2026, 7, 1, tzinfo=UTC)
CHAIR = Caller("lg-1", "leadership_group_chair", "iwi")
PANEL = (
    CHAIR,
    Caller("lg-2", "leadership_group_member", "police"),
    Caller("lg-3", "leadership_group_member", "msd"),
)
PROVIDER_LEAD = Caller("l-1", "agency_lead", "iwi_provider")


def meta(who: Caller = CHAIR, at: datetime = AT) -> Meta:
    return Meta(at, NIL, Actor(who.subject, who.agency, who.role))


def programme(place: str = "West Coast") -> Programme:
    return Programme.register(
        CHAIR,
        uuid4(),
        "Rangatahi mentoring",
        "iwi_provider",
        place,
        "rangatahi_pathway",
        "CRWS fund",
        "outcome_agreement",
        meta(),
    )


def commission(p: Programme, decision: str, amount: str) -> None:
    """The panel's three members vote, each themselves, and the chair records the decision."""
    for member in PANEL:
        p.vote(member, decision, Decimal(amount), meta(member))
    p.decide(CHAIR, decision, Decimal(amount), meta())


def test_a_decision_needs_the_votes_of_three_people_for_that_decision_and_amount() -> None:
    """Today's row 13: one member cannot approve $2,000,000 "by a panel". Votes for another
    amount or the other decision do not count towards it; the same person voting again counts
    once; the decision records the voters as its panel and uses their votes up."""
    assert PANEL_QUORUM == 3
    p = programme()
    amount = Decimal("2000000.00")
    with pytest.raises(PanelQuorumMissing, match="0 voted so"):
        p.decide(CHAIR, "approved", amount, meta())
    assert p.vote(CHAIR, "approved", amount, meta()) is True
    assert p.vote(CHAIR, "approved", Decimal("2000000"), meta()) is False  # the same vote
    p.vote(PANEL[1], "approved", Decimal("1999999.99"), meta(PANEL[1]))
    p.vote(PANEL[2], "declined", amount, meta(PANEL[2]))
    with pytest.raises(PanelQuorumMissing, match=r"1 voted so \(needs 2 more\)"):
        p.decide(CHAIR, "approved", amount, meta())
    p.vote(PANEL[1], "approved", amount, meta(PANEL[1], AT + timedelta(minutes=1)))
    p.vote(PANEL[2], "approved", amount, meta(PANEL[2], AT + timedelta(minutes=2)))
    p.decide(PANEL[1], "approved", amount, meta(PANEL[1]))
    assert p.committed == amount
    decided = [e for e in p.collect_events() if isinstance(e, Programme.PanelDecided)]
    assert [(m["id"], m["agency"]) for m in decided[-1].panel] == [
        ("lg-1", "iwi"),
        ("lg-2", "police"),
        ("lg-3", "msd"),
    ]
    assert p.votes == {}
    with pytest.raises(PanelQuorumMissing):
        p.decide(CHAIR, "approved", amount, meta())  # the votes were used up


def test_only_the_leadership_group_votes_and_decides() -> None:
    """A provider's lead, a worker or the administrator may neither vote nor decide."""
    p = programme()
    for outsider in (PROVIDER_LEAD, Caller("w-1", "agency_worker", "msd")):
        with pytest.raises(NotPermitted, match="votes themselves"):
            p.vote(outsider, "approved", Decimal("10.00"), meta(outsider))
    with pytest.raises(NotPermitted, match="commissioning panel"):
        p.decide(Caller("a-1", "administrator", "chb"), "approved", Decimal("10.00"), meta())


def test_many_cent_amounts_add_up_exactly_and_a_fraction_of_a_cent_changes_nothing() -> None:
    """A thousand spends of 1 to 99 cents (floats drift on sums like these) and three
    approvals: spent and committed are exactly the sums counted in whole cents, to the cent,
    in the aggregate and in the totals its events carry (what a replay or a report reads). A
    spend or an approval with a fraction of a cent is refused, and records nothing."""
    p = programme()
    approvals = ["2600000.00", "0.10", "0.20"]
    for amount in approvals:
        commission(p, "approved", amount)
    cents = [(n * 37) % 99 + 1 for n in range(1000)]
    for c in cents:
        p.record_spend(PROVIDER_LEAD, Decimal(c) / 100, "2026-07", meta(PROVIDER_LEAD))
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
        lambda: p.record_spend(PROVIDER_LEAD, Decimal("0.015"), "2026-07", meta(PROVIDER_LEAD)),
        lambda: p.vote(CHAIR, "approved", Decimal("100.005"), meta()),
        lambda: p.decide(CHAIR, "approved", Decimal("100.005"), meta()),
    ):
        with pytest.raises(ProgrammeRuleBroken, match="dollars and cents"):
            refused()
    assert (p.spent, p.committed) == (spent, committed) and p.collect_events() == []


def test_a_fraction_of_a_cent_is_refused_not_rounded() -> None:
    p = programme()
    with pytest.raises(ProgrammeRuleBroken, match="dollars and cents"):
        p.vote(CHAIR, "approved", Decimal("100.005"), meta())


def test_spend_cannot_pass_what_the_panel_committed_and_a_decline_commits_nothing() -> None:
    p = programme()
    commission(p, "declined", "50000.00")
    assert p.committed == Decimal("0.00")
    commission(p, "approved", "1000.00")
    p.record_spend(PROVIDER_LEAD, Decimal("999.99"), "2026-08", meta(PROVIDER_LEAD))
    with pytest.raises(ProgrammeRuleBroken, match=r"over the 1000\.00 committed"):
        p.record_spend(PROVIDER_LEAD, Decimal("0.02"), "2026-08", meta(PROVIDER_LEAD))
    p.record_spend(PROVIDER_LEAD, Decimal("0.01"), "2026-08", meta(PROVIDER_LEAD))
    assert p.spent == p.committed == Decimal("1000.00")


def test_the_social_return_is_outcome_value_per_dollar_of_cost() -> None:
    """A programme reporting $250,000 cost and $1,150,000 outcome value returns $4.60 per $1
    (the Taumata figure); results without cost and value count people but not the ratio."""
    p = programme()
    assert p.social_return is None
    lead, at = PROVIDER_LEAD, meta(PROVIDER_LEAD)
    p.report_result(lead, "2026-H1", 40, Decimal("100000.00"), Decimal("460000.00"), "c1", at)
    p.report_result(lead, "2026-H2", 35, Decimal("150000.00"), Decimal("690000.00"), "c2", at)
    p.report_result(lead, "2027-H1", 12, None, None, "interim count", at)
    assert p.social_return == Decimal("4.60")
    assert p.people_engaged == 87
    with pytest.raises(ProgrammeRuleBroken, match="together"):
        p.report_result(lead, "x", 1, Decimal("1.00"), None, "half", at)


def test_spend_and_results_are_the_providers_leads_alone() -> None:
    """Today's row 4: msd's lead reporting iwi_provider's spend, or results worth 1,000,000
    for a cost of 1.00, is refused and nothing changes; so is the provider's worker, and a
    leadership-group member."""
    p = programme()
    commission(p, "approved", "1000.00")
    for other in (
        Caller("l-2", "agency_lead", "msd"),
        Caller("w-1", "agency_worker", "iwi_provider"),
        CHAIR,
    ):
        with pytest.raises(NotPermitted, match="provider's agency lead"):
            p.record_spend(other, Decimal("1.00"), "Q1", meta(other))
        with pytest.raises(NotPermitted, match="provider's agency lead"):
            p.report_result(other, "Q1", 1, Decimal("1.00"), Decimal("1000000.00"), "", meta(other))
    assert (p.spent, p.social_return, p.people_engaged) == (Decimal("0.00"), None, 0)


def test_a_programme_outside_the_tokens_places_is_not_found() -> None:
    """The provider's lead limited to Gore gets "no programme <id>" for a West Coast one, as
    for an unknown id; a programme cannot be registered outside the token's places."""
    p = programme()
    commission(p, "approved", "1000.00")
    gore_lead = Caller("l-1", "agency_lead", "iwi_provider", places=("Gore",))
    with pytest.raises(NotFound) as hidden:
        p.record_spend(gore_lead, Decimal("1.00"), "Q1", meta(gore_lead))
    assert str(hidden.value) == f"no programme {p.id}"
    gore_chair = Caller("lg-9", "leadership_group_chair", "iwi", places=("Gore",))
    with pytest.raises(NotFound):
        p.vote(gore_chair, "approved", Decimal("5.00"), meta(gore_chair))
    with pytest.raises(NotPermitted, match="place West Coast is outside your token's scope"):
        Programme.register(
            gore_chair, uuid4(), "x", "iwi_provider", "West Coast", "rangatahi_pathway", "f",
            "conditional_grant", meta(),
        )  # fmt: skip


def test_only_the_three_focus_areas_and_two_agreement_kinds() -> None:
    with pytest.raises(ProgrammeRuleBroken, match="focus_area"):
        Programme.register(CHAIR, uuid4(), "x", "y", "z", "sport", "f", "conditional_grant", meta())
    with pytest.raises(ProgrammeRuleBroken, match="agreement_kind"):
        Programme.register(
            CHAIR, uuid4(), "x", "y", "z", "methamphetamine_harm", "f", "loan", meta()
        )
