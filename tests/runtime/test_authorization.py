"""The authorization table, cell by cell: every action, every role, every relation.

The expected answers are written out here by hand, not read from the code's table, so a wrong
row in services/runtime/authorization.py fails this test. Each cell names the relations (of
the caller's agency to the item) with which that role may do that action:

    *  with any relation (or none)        -  never
    C  planning cell (Police)             O  offered the task (not yet accepted)
    H  holds the task / the household's   R  held it, finished within the window
    W  owns the milestone                 P  provides the programme
    S  started the import
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.runtime.authorization import (
    TABLE,
    Caller,
    Engagement,
    NotFound,
    NotPermitted,
    Relation,
    check,
    household_relation,
    operation_relation,
    operation_visible,
    permitted,
    task_relation,
)

pytestmark = pytest.mark.domain

ROLES = (
    "administrator",
    "planner",
    "operation_commander",
    "agency_worker",
    "agency_lead",
    "leadership_group_member",
    "leadership_group_chair",
    "auditor",
    "public",
)

# action                  admin  planner  commander  worker  lead  member  chair  auditor  public
GRID = """
plan_operation              *      C        C          -       -     -       -      -        -
launch_operation            *      C        C          -       -     -       -      -        -
conclude_operation          *      C        C          -       -     -       -      -        -
record_arrest               *      C        C          -       -     -       -      -        -
record_seizure              *      C        C          -       -     -       -      -        -
register_witness            *      C        C          -       -     -       -      -        -
stage_support               *      C        C          -       -     -       -      -        -
read_staged_support         *      C        C          -       -     -       -      *        -
read_operation              *      *        *          *       *     *       *      *        -
read_task                   *      *        *          *       *     *       *      *        -
accept_task                 -      -        -          OH      OH    -       -      -        -
decline_task                -      -        -          OH      OH    -       -      -        -
offer_task                  *      -        -          -       -     *       *      -        -
assign_task                 -      -        -          H       H     -       -      -        -
start_task                  -      -        -          H       H     -       -      -        -
record_consent              -      -        -          H       H     -       -      -        -
complete_task               -      -        -          H       H     -       -      -        -
close_task                  -      -        -          H       H     -       -      -        -
add_task_note               -      -        -          H       H     -       -      -        -
read_case                   *      *        *          *       *     *       *      *        -
read_personal_details       -      HR       HR         HR      HR    HR      HR     *        -
read_personal_reads         -      -        -          -       -     -       *      *        -
erase_household             -      -        -          -       -     -       *      -        -
adopt_playbook              *      -        -          -       -     -       *      -        -
read_playbooks              *      *        *          *       *     *       *      *        -
register_agency             *      -        -          -       -     -       *      -        -
read_agencies               *      *        *          *       *     *       *      *        *
manage_contacts             *      -        -          -       -     -       *      -        -
read_notifications          *      *        *          *       *     *       *      *        -
read_plan                   *      *        *          *       *     *       *      *        -
add_milestone               *      -        -          -       -     *       *      -        -
check_in_milestone          -      -        -          W       W     *       *      -        -
sign_off_gate               -      -        -          -       -     *       *      -        -
decide_gate                 -      -        -          -       -     -       *      -        -
register_programme          *      -        -          -       -     *       *      -        -
vote_on_programme           -      -        -          -       -     *       *      -        -
decide_programme            -      -        -          -       -     *       *      -        -
record_spend                -      -        -          -       P     -       -      -        -
report_result               -      -        -          -       P     -       -      -        -
read_programmes             *      *        *          *       *     *       *      *        -
start_import                *      -        -          -       *     *       *      -        -
add_import_rows             *      -        -          -       S     S       S      -        -
commit_import               *      -        -          -       S     S       S      -        -
read_imports                *      *        *          *       *     *       *      *        -
read_indicators             *      *        *          *       *     *       *      *        *
read_dead_letters           *      -        -          -       -     -       -      *        -
audit_timeline              *      -        -          -       -     -       -      *        -
audit_as_of                 *      -        -          -       -     -       -      *        -
audit_figures               *      -        -          -       -     *       *      *        -
audit_verify                *      -        -          -       -     -       -      *        -
audit_rebuild               *      -        -          -       -     -       -      *        -
audit_export                *      -        -          -       -     -       -      *        -
rebuild_views               *      -        -          -       -     -       -      -        -
"""

LETTERS = {
    "C": Relation.PLANNING_CELL,
    "O": Relation.OFFERED,
    "H": Relation.HOLDER,
    "R": Relation.RECENT_HOLDER,
    "W": Relation.OWNER,
    "P": Relation.PROVIDER,
    "S": Relation.STARTER,
}


def expected() -> dict[tuple[str, str], set[Relation]]:
    cells: dict[tuple[str, str], set[Relation]] = {}
    for line in GRID.strip().splitlines():
        action, *answers = line.split()
        assert len(answers) == len(ROLES), line
        for role, answer in zip(ROLES, answers, strict=True):
            if answer == "*":
                cells[action, role] = set(Relation)
            elif answer == "-":
                cells[action, role] = set()
            else:
                cells[action, role] = {LETTERS[letter] for letter in answer}
    return cells


def test_every_action_of_the_table_is_in_the_grid_and_nothing_else() -> None:
    assert {action for action, _ in expected()} == set(TABLE)


@pytest.mark.parametrize("action", sorted(TABLE))
def test_each_role_may_do_each_action_with_exactly_the_relations_the_grid_says(
    action: str,
) -> None:
    """9 roles x every relation for this action, against the hand-written grid."""
    cells = expected()
    for role in ROLES:
        caller = Caller("someone", role, "msd")
        allowed = {r for r in Relation if permitted(caller, action, r)}
        assert allowed == cells[action, role], (action, role)


def test_a_hidden_item_is_not_found_before_anything_else_is_asked() -> None:
    """Refused as an unknown id would be, whoever asks and whatever the action; a visible
    item refused names the reason and who may."""
    chair = Caller("c", "leadership_group_chair", "iwi")
    with pytest.raises(NotFound, match="no task T"):
        check(chair, "offer_task", visible=False, hidden_as="no task T")
    worker = Caller("w", "agency_worker", "msd")
    with pytest.raises(NotPermitted, match="offered to"):
        check(worker, "accept_task", Relation.NONE)
    check(worker, "accept_task", Relation.OFFERED)


def test_relations_come_from_the_facts() -> None:
    """The planning cell is Police's planners and commanders; a task is offered to, or held by,
    the agency named on it, whatever its state after acceptance."""
    assert operation_relation(Caller("p", "planner", "police")) is Relation.PLANNING_CELL
    assert operation_relation(Caller("p", "operation_commander", "police")) is (
        Relation.PLANNING_CELL
    )
    assert operation_relation(Caller("p", "planner", "oranga_tamariki")) is Relation.NONE
    assert operation_relation(Caller("p", "agency_worker", "police")) is Relation.NONE
    ot = Caller("w", "agency_worker", "oranga_tamariki")
    assert task_relation(ot, "oranga_tamariki", "offered") is Relation.OFFERED
    assert task_relation(ot, "oranga_tamariki", "accepted") is Relation.HOLDER
    assert task_relation(ot, "oranga_tamariki", "completed") is Relation.HOLDER
    assert task_relation(ot, "iwi_provider", "offered") is Relation.NONE
    assert task_relation(ot, None, "unplaced") is Relation.NONE


def test_scope_hides_what_lies_outside_it() -> None:
    """A planned operation: its planning cell, auditors and the administrator only; anything
    outside a token's places or operations: no one with that token."""
    op = "5fcf55ff-bb0b-43c9-80db-9a047c3a90c1"
    planner = Caller("p", "planner", "police")
    assert operation_visible(planner, "planned", "Mataura", op)
    assert not operation_visible(Caller("w", "agency_worker", "msd"), "planned", "Mataura", op)
    assert operation_visible(Caller("w", "agency_worker", "msd"), "launched", "Mataura", op)
    gore = Caller("p", "planner", "police", places=("Gore",))
    assert not operation_visible(gore, "launched", "Mataura", op)
    assert operation_visible(gore, "launched", " gore ", op)
    other_op = Caller("p", "planner", "police", operations=("another",))
    assert not operation_visible(other_op, "launched", "Mataura", op)
    assert not gore.covers(None, op), "an item that names no place is outside a place scope"


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=30)


@pytest.mark.parametrize(
    ("parts", "relation"),
    [
        ([], Relation.NONE),
        ([Engagement("msd", None, None)], Relation.OFFERED),
        ([Engagement("msd", NOW - timedelta(days=2), None)], Relation.HOLDER),
        (
            [
                Engagement("msd", NOW - timedelta(days=40), NOW - timedelta(days=31)),
                Engagement("msd", NOW - timedelta(days=9), NOW - timedelta(days=1)),
            ],
            Relation.RECENT_HOLDER,
        ),
        (
            [Engagement("msd", NOW - timedelta(days=40), NOW - timedelta(days=30))],
            Relation.RECENT_HOLDER,
        ),
        (
            [Engagement("msd", NOW - timedelta(days=40), NOW - timedelta(days=31))],
            Relation.FORMER_HOLDER,
        ),
        (
            [
                Engagement("msd", NOW - timedelta(days=40), NOW - timedelta(days=31)),
                Engagement("msd", None, None),
            ],
            Relation.OFFERED,
        ),
        ([Engagement("oranga_tamariki", NOW - timedelta(days=1), None)], Relation.NONE),
    ],
    ids=[
        "no part",
        "only offered",
        "holds one",
        "last ended a day ago",
        "ended exactly at the window",
        "ended a day past it",
        "ended long ago, offered again",
        "another agency's",
    ],
)
def test_need_to_know_runs_from_acceptance_to_the_window_after_the_last_part_ended(
    parts: list[Engagement], relation: Relation
) -> None:
    """An agency reads a household's details from acceptance until 30 days after its last
    task of the household ended; only offered, it sees none."""
    msd = Caller("m", "agency_worker", "msd")
    assert household_relation(msd, parts, NOW, WINDOW) is relation
    may_read = relation in (Relation.HOLDER, Relation.RECENT_HOLDER)
    assert permitted(msd, "read_personal_details", relation) is may_read
