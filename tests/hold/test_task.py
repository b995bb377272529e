"""A support task's life: the offer down the agency chain, the work, consent, and closing."""

from __future__ import annotations

import pytest

from services.hold.domain import (
    ACCEPTED,
    ASSIGNED,
    CLOSED,
    COMPLETED,
    IN_PROGRESS,
    OFFERED,
    UNPLACED,
    ConsentRequired,
    NotOfferedToThisAgency,
    TaskFinished,
    WrongTaskState,
)
from tests.support.tasks import SEALED, meta, new_task

pytestmark = pytest.mark.domain


def test_a_new_task_is_offered_to_its_lead_agency_and_names_its_playbook_rule() -> None:
    """It starts offered to the lead agency and records which playbook rule created it."""
    task = new_task()
    assert (task.status, task.agency) == (OFFERED, "oranga_tamariki")
    assert (task.playbook, task.rule_id) == ("national@v1", "child-safety-no-carer-left")


# Free text as the front door sends it: sealed with the household's key.


def test_each_decline_passes_the_task_down_the_chain_to_the_leadership_group() -> None:
    """Declined with a coded reason, it is offered to the next agency; when the last declines,
    it is unplaced: no agency holds it and the leadership group must place it."""
    task = new_task()
    task.decline("oranga_tamariki", "no_capacity", meta())
    assert (task.status, task.agency) == (OFFERED, "iwi_provider")
    task.decline("iwi_provider", "conflict_of_interest", meta("iwi_provider"))
    assert (task.status, task.agency) == (OFFERED, "police")
    task.decline("police", "other", meta("police"), reason=SEALED)
    assert (task.status, task.agency) == (UNPLACED, None)
    assert task.declined_by == ["oranga_tamariki", "iwi_provider", "police"]
    task.offer("msd", meta("rocc_leadership_group", "leadership_group_chair"))
    assert (task.status, task.agency) == (OFFERED, "msd")


def test_only_the_agency_holding_the_offer_may_answer_it_and_a_decline_needs_a_reason() -> None:
    """Another agency cannot accept or decline; a decline without a known reason code, or
    with "other" and no words (or only spaces), is refused."""
    task = new_task()
    with pytest.raises(NotOfferedToThisAgency):
        task.accept("police", meta("police"))
    with pytest.raises(WrongTaskState, match="reason_code"):
        task.decline("oranga_tamariki", "  ", meta())
    with pytest.raises(WrongTaskState, match="reason_code"):
        task.decline("oranga_tamariki", "no staff in Mataura tonight", meta())
    with pytest.raises(WrongTaskState, match="in words"):
        task.decline("oranga_tamariki", "other", meta(), reason="   ")
    assert task.status == OFFERED


def test_the_work_runs_from_acceptance_through_assignment_to_completion() -> None:
    """accepted -> assigned to a worker (and reassigned) -> in progress -> completed."""
    task = new_task()
    task.accept("oranga_tamariki", meta())
    assert task.status == ACCEPTED
    task.assign("oranga_tamariki", "worker-17", meta())
    assert (task.status, task.worker_ref) == (ASSIGNED, "worker-17")
    task.start("oranga_tamariki", meta())
    task.assign("oranga_tamariki", "worker-22", meta())
    assert (task.status, task.worker_ref) == (IN_PROGRESS, "worker-22")
    task.add_note("tamariki with their aunt, safe", meta())
    task.complete("oranga_tamariki", "children safe with whanau", meta())
    assert (task.status, task.outcome) == (COMPLETED, "children safe with whanau")
    with pytest.raises(TaskFinished):
        task.close_unable("oranga_tamariki", "no_longer_needed", meta())


def test_steps_out_of_order_are_refused() -> None:
    """Starting before assignment, or completing before starting, is refused."""
    task = new_task()
    with pytest.raises(WrongTaskState):
        task.start("oranga_tamariki", meta())
    task.accept("oranga_tamariki", meta())
    with pytest.raises(WrongTaskState):
        task.complete("oranga_tamariki", "done", meta())


def test_a_referral_to_another_agency_needs_consent_or_an_override_with_role_and_reason() -> None:
    """Completing with a referral to a non-Police agency is refused until the person's consent,
    or an override naming the role and reason, is recorded; a referral to Police is not."""
    task = new_task(kind="needs_assessment", lead="iwi_provider", fallback=())
    m = meta("iwi_provider")
    task.accept("iwi_provider", m)
    task.assign("iwi_provider", "navigator-3", m)
    task.start("iwi_provider", m)
    with pytest.raises(ConsentRequired):
        task.complete("iwi_provider", "referred to AOD treatment", m, referral_agency="health_nz")
    with pytest.raises(ConsentRequired, match="role"):
        task.record_consent("iwi_provider", "health_nz", "override", m)
    task.record_consent(
        "iwi_provider",
        "health_nz",
        "override",
        m,
        override_role="leadership_group_chair",
        override_reason="risk to a child",
    )
    task.complete("iwi_provider", "referred to AOD treatment", m, referral_agency="health_nz")
    assert task.status == COMPLETED


def test_a_task_that_cannot_be_done_is_closed_with_a_reason() -> None:
    """Closed as unable to complete, with a coded reason; nothing further can happen to it."""
    task = new_task()
    task.accept("oranga_tamariki", meta())
    task.close_unable("oranga_tamariki", "moved_away", meta())
    assert task.status == CLOSED
    with pytest.raises(TaskFinished):
        task.offer("police", meta("rocc_leadership_group", "leadership_group_chair"))
