"""Playbook conditions beyond the household's children: young people, firearms, witnesses."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking

from services.hold.application import HoldApplication
from services.hold.commands import (
    OpenedAges,
    PutPlaybookInForce,
    SupportArrestedPersonsHousehold,
    SupportHousehold,
)
from services.hold.domain import playbook_scope
from services.hold.playbook import Facts, PlaybookInvalid, national_playbook, parse_playbook
from services.runtime.authorization import Caller
from tests.support.playbook_facts import AT, YOUNG_CHILD_AT_HOME, meta, opened

# Who puts a playbook in force: the leadership group's chair.
CHAIR = Caller(subject="chair-1", role="leadership_group_chair", agency="iwi")


def kinds(facts: Facts) -> dict[str, str]:
    return {kind: rule.id for kind, (rule, _) in national_playbook().tasks_for(facts).items()}


@pytest.mark.domain
def test_a_young_person_arrested_gets_youth_justice_support() -> None:
    """An arrested 16-year-old adds youth justice support; a 30-year-old does not; an unknown
    age never matches an age condition."""
    assert kinds(Facts("arrest", person_age=16))["youth_justice_support"] == "young-person-arrested"
    assert "youth_justice_support" not in kinds(Facts("arrest", person_age=30))
    assert "youth_justice_support" not in kinds(Facts("arrest"))


@pytest.mark.domain
def test_a_firearm_seized_in_a_home_with_children_calls_for_a_child_safety_check() -> None:
    """A firearm where children live: a child safety check; drugs, or no children: nothing."""
    assert kinds(Facts("seizure", (6,), seizure_kind="firearm")) == {
        "child_safety_check": "firearm-in-home-with-children"
    }
    assert kinds(Facts("seizure", (6,), seizure_kind="drugs")) == {}
    assert kinds(Facts("seizure", (), seizure_kind="firearm")) == {}


@pytest.mark.domain
def test_a_registered_witness_gets_support_and_their_children_a_check() -> None:
    assert kinds(Facts("witness_registered")) == {"witness_support": "witness-support"}
    assert set(kinds(Facts("witness_registered", (9,)))) == {
        "witness_support",
        "child_safety_check",
    }


@pytest.mark.domain
def test_conditions_that_do_not_fit_the_event_are_refused() -> None:
    """seizure_kind on an arrest rule, or only_carer_present on a witness rule, is an error."""
    document = {
        "name": "x",
        "version": 1,
        "rules": [
            {
                "id": "a",
                "when": {"event": "arrest", "seizure_kind": "firearm"},
                "task": {"kind": "k", "lead_agency": "msd", "due_within": "1h"},
            },
            {
                "id": "b",
                "when": {"event": "witness_registered", "only_carer_present": True},
                "task": {"kind": "k", "lead_agency": "msd", "due_within": "1h"},
            },
        ],
    }
    with pytest.raises(PlaybookInvalid) as refused:
        parse_playbook(document)
    assert len(refused.value.errors) == 2
    assert "seizure_kind applies to seizures only" in refused.value.errors[0]


@pytest.mark.application
def test_hold_acts_on_seizures_and_witnesses_only_where_the_playbook_says() -> None:
    """A firearm seized in a home with children opens a case with a child safety check; a
    drugs seizure opens nothing; a witness gets witness support; a young person's arrest adds
    youth justice support to the usual tasks."""
    app = HoldApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    child = [{"child_ref": "C-1"}]
    five = OpenedAges(None, {"C-1": 5})
    jobs = [
        SupportHousehold("seizure", "HH-1", "Gore", AT, child, meta(), "firearm", SEALED, five),
        SupportHousehold("seizure", "HH-2", "Gore", AT, child, meta(), "drugs", SEALED, five),
        SupportHousehold("witness_registered", "HH-3", "Gore", AT, [], meta()),
        SupportArrestedPersonsHousehold(
            uuid4(), "HH-4", "Gore", AT, [], False, meta(), SEALED, OpenedAges(16, {})
        ),
    ]
    app.process_batch([(job, Tracking("clear", n)) for n, job in enumerate(jobs, 1)])
    assert sorted(opened(app)) == sorted(
        [
            "child_safety_check",
            "witness_support",
            "family_liaison_contact",
            "needs_assessment",
            "youth_justice_support",
        ]
    )
    cases = [
        n for n in app.recorder.select_notifications(1, 1000) if "WhanauCase.Opened" in n.topic
    ]
    assert len(cases) == 3, "no case for the drugs seizure"
    assert app.max_tracking_id("clear") == 4


SEALED = "chb-sealed:v1:" + "0" * 32 + ":c2VhbGVk"
YOUNGEST_UNDER_5 = {
    "name": "under-fives",
    "version": 1,
    "rules": [
        {
            "id": "under-five",
            "when": {"event": "arrest", "youngest_under": 5},
            "task": {
                "kind": "early_years_check",
                "lead_agency": "oranga_tamariki",
                "due_within": "1h",
            },
        },
        {
            "id": "young-person",
            "when": {"event": "arrest", "arrested_under": 18},
            "task": {"kind": "youth_justice_support", "lead_agency": "police", "due_within": "1h"},
        },
    ],
}


@pytest.mark.domain
def test_a_child_of_unknown_age_counts_as_young() -> None:
    """A child whose age is not known (None) meets any "youngest under" condition: the
    cautious reading. Known ages are compared as they are."""
    playbook = parse_playbook(YOUNGEST_UNDER_5)
    assert "early_years_check" in playbook.tasks_for(Facts("arrest", (None,)))
    assert "early_years_check" not in playbook.tasks_for(Facts("arrest", (7, 9)))
    assert "early_years_check" in playbook.tasks_for(Facts("arrest", (7, 3)))


@pytest.mark.application
@pytest.mark.parametrize(
    "ages, expected",
    [
        # Opened: the rules see the ages as they are.
        (OpenedAges(34, {"C-1": 8}), set()),
        (OpenedAges(16, {"C-1": 2}), {"early_years_check", "youth_justice_support"}),
        # Sealed but unreadable (the household's key was erased before hold saw the arrest):
        # every rule an age could meet holds, the protective reading.
        (None, {"early_years_check", "youth_justice_support"}),
    ],
    ids=["adult-and-older-child", "young-person-and-toddler", "unreadable"],
)
def test_sealed_ages_are_read_only_for_the_rules_and_unreadable_ones_protect(
    ages: OpenedAges | None, expected: set[str]
) -> None:
    """Hold decides on the ages opened in memory; ages it cannot open (erased) give the
    most protective tasks. Either way the case stores the child's reference and the sealed
    ages as they came, never an age."""
    app = HoldApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    m = meta()
    scope = playbook_scope(operation_id=m.operation_id)
    arrest = SupportArrestedPersonsHousehold(
        uuid4(), "HH-1", "Gore", AT, [{"child_ref": "C-1"}], False, m, SEALED, ages
    )
    app.process_batch([(PutPlaybookInForce(scope, YOUNGEST_UNDER_5, m, caller=CHAIR), None)])
    app.process_batch([(arrest, Tracking("clear", 1))])
    assert set(opened(app)) == expected
    (linked,) = [
        app.mapper.to_domain_event(n)
        for n in app.recorder.select_notifications(1, 1000)
        if n.topic.endswith("WhanauCase.ArrestLinked")
    ]
    assert linked.children == [{"child_ref": "C-1"}]
    assert linked.ages == SEALED
    assert "person_age" not in vars(linked)


@pytest.mark.application
@pytest.mark.parametrize("event", ["seizure", "witness_registered"])
@pytest.mark.parametrize(
    "ages, expected",
    [
        (OpenedAges(None, {"C-1": 2}), True),  # a toddler, opened from the sealed ages
        (OpenedAges(None, {"C-1": 9}), False),  # an older child: no early-years check
        (None, True),  # sealed but unreadable (erased): the protective reading
    ],
    ids=["toddler", "older-child", "unreadable"],
)
def test_a_seizure_or_witness_household_is_judged_on_the_sealed_ages_hold_opens(
    event: str, ages: OpenedAges | None, expected: bool
) -> None:
    """A seizure in a home or a witness's household goes through the same path as an arrest:
    the rules see the ages opened in memory, and ages that cannot be opened count every child
    as young. No age is stored: hold keeps no record of the event but the tasks it opened."""
    app = HoldApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    m = meta()
    scope = playbook_scope(operation_id=m.operation_id)
    kind = "firearm" if event == "seizure" else None
    household = SupportHousehold(
        event, "HH-1", "Gore", AT, [{"child_ref": "C-1"}], m, kind, SEALED, ages
    )
    app.process_batch([(PutPlaybookInForce(scope, YOUNG_CHILD_AT_HOME, m, caller=CHAIR), None)])
    app.process_batch([(household, Tracking("clear", 1))])
    assert opened(app) == ([f"early_years_check_{event}"] if expected else [])
    stored = b"".join(n.state for n in app.recorder.select_notifications(1, 1000))
    assert b'"age"' not in stored and b"person_age" not in stored
