"""The agency register's aggregate: who may add or change an agency, what is refused, and that
each addition and change is an event with who, when and why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.agencies import SEEDED_AGENCIES, SEEDED_CODES, not_registered
from services.hold.domain import (
    Agency,
    AgencyAlreadyRegistered,
    AgencyInvalid,
    UnknownAgency,
    check_registered,
)
from services.runtime.authorization import Caller, NotPermitted
from services.runtime.dead_letters import NIL
from services.runtime.meta import SERVICE_ACTORS, Actor, Meta

pytestmark = pytest.mark.domain

AT = datetime(2026, 6, 7, 10, 0, tzinfo=UTC)
CHAIR = Caller("chair-1", "leadership_group_chair", "public_service_commission")
ADMIN = Caller("local-administrator", "administrator", "chb")


def meta(caller: Caller = CHAIR, reason: str | None = "joins the West Coast group") -> Meta:
    return Meta(AT, NIL, Actor(caller.subject, caller.agency, caller.role), reason=reason)


def register(caller: Caller = CHAIR, **overrides: Any) -> Agency:
    fields: dict[str, Any] = {
        "code": "te_runanga_o_makaawhio",
        "name": "Te Rūnanga o Makaawhio",
        "kind": "iwi",
        "places": ["Hokitika"],
        "meta": meta(caller),
    }
    fields.update(overrides)
    return Agency.register(caller, **fields)


def replayed(agency: Agency) -> Agency:
    """The aggregate as its stored events rebuild it."""
    rebuilt: Any = None
    for e in agency.collect_events():
        rebuilt = e.mutate(rebuilt)
    assert isinstance(rebuilt, Agency)
    return rebuilt


def test_the_chair_registers_an_agency_and_the_event_says_who_when_and_why() -> None:
    agency = register()
    (registered,) = agency.pending_events
    assert isinstance(registered, Agency.Registered)
    assert (registered.code, registered.name, registered.kind, registered.places) == (
        "te_runanga_o_makaawhio",
        "Te Rūnanga o Makaawhio",
        "iwi",
        ["Hokitika"],
    )
    assert registered.meta.actor == Actor("chair-1", "public_service_commission", CHAIR.role)
    assert (registered.meta.occurred_at, registered.meta.reason) == (AT, meta().reason)
    assert agency.id == Agency.create_id("te_runanga_o_makaawhio")
    assert replayed(agency).as_dict() == agency.as_dict()


def test_an_administrator_may_register_too() -> None:
    assert register(ADMIN).code == "te_runanga_o_makaawhio"


@pytest.mark.parametrize(
    "role", ["agency_worker", "agency_lead", "leadership_group_member", "auditor", "public"]
)
def test_anyone_but_the_chair_or_an_administrator_is_refused(role: str) -> None:
    """Decided in the aggregate, whatever path the command came by."""
    with pytest.raises(NotPermitted, match="kept by the leadership group's chair"):
        register(Caller("p-1", role, "msd"))


def test_a_code_already_registered_is_refused_after_the_permission_check() -> None:
    with pytest.raises(AgencyAlreadyRegistered, match="already registered"):
        register(taken=True)
    with pytest.raises(NotPermitted):
        register(Caller("w-1", "agency_worker", "msd"), taken=True)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "chb"}, "code"),
        ({"kind": "gang"}, "kind"),
        ({"meta": meta(reason="   ")}, "reason"),
        ({"meta": meta(reason=None)}, "reason"),
    ],
)
def test_a_reserved_code_an_unknown_kind_or_no_reason_is_refused_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(AgencyInvalid) as refused:
        register(**overrides)
    assert refused.value.errors[0]["field"] == field


def test_a_change_records_only_what_differs_and_the_whole_entry_after_it() -> None:
    agency = register()
    agency.collect_events()
    changed = agency.change(
        CHAIR, meta(reason="serves all of Westland"), name="Te Rūnanga o Makaawhio", places=[]
    )
    assert changed
    (event,) = agency.collect_events()
    assert isinstance(event, Agency.Changed)
    assert (event.code, event.name, event.kind, event.places, event.changed) == (
        "te_runanga_o_makaawhio",
        "Te Rūnanga o Makaawhio",
        "iwi",
        [],
        ["places"],
    )
    assert event.meta.reason == "serves all of Westland"
    assert agency.places == []


def test_a_change_to_what_is_held_already_records_nothing() -> None:
    """A retried change is not recorded twice."""
    agency = register()
    agency.collect_events()
    assert not agency.change(CHAIR, meta(), kind="iwi", places=["Hokitika"])
    assert agency.collect_events() == []


def test_a_change_is_refused_to_a_worker_and_without_a_reason_or_with_an_unknown_kind() -> None:
    agency = register()
    with pytest.raises(NotPermitted):
        agency.change(Caller("w-1", "agency_worker", "msd"), meta(), name="Renamed")
    with pytest.raises(AgencyInvalid, match="reason"):
        agency.change(CHAIR, meta(reason=""), name="Renamed")
    with pytest.raises(AgencyInvalid, match="kind"):
        agency.change(CHAIR, meta(), kind="gang")


def test_only_hold_itself_seeds_and_only_the_seeded_agencies() -> None:
    police = SEEDED_AGENCIES[0]
    hold = Meta(AT, NIL, SERVICE_ACTORS["hold"], reason="seeded")
    seeded = Agency.seed(police.code, police.name, police.kind, list(police.places), hold)
    (event,) = seeded.pending_events
    assert isinstance(event, Agency.Registered)
    assert (event.code, event.meta.actor) == ("police", SERVICE_ACTORS["hold"])
    with pytest.raises(AgencyInvalid):
        Agency.seed("ministry_of_magic", "Ministry of Magic", "government_agency", [], hold)
    with pytest.raises(AgencyInvalid):
        Agency.seed(police.code, police.name, police.kind, [], meta(ADMIN))


def test_the_seeded_register_holds_the_leadership_groups_agencies_and_no_system_code() -> None:
    """The West Coast ROCC leadership group's agencies, those the playbooks and the gate name,
    and the auditors' oversight body; never the system's own code."""
    assert {
        "iwi",
        "police",
        "msd",
        "corrections",
        "justice",
        "health_nz",
        "oranga_tamariki",
        "education",
        "grey_district_council",
        "buller_district_council",
        "westland_district_council",
        "customs",
        "iwi_provider",
        "victim_support",
        "oversight",
    } <= SEEDED_CODES
    assert "chb" not in SEEDED_CODES
    assert len(SEEDED_CODES) == len(SEEDED_AGENCIES)
    assert next(a for a in SEEDED_AGENCIES if a.code == "iwi").name == "Poutini Ngāi Tahu"


def test_an_unknown_agency_is_refused_naming_the_field_and_the_closest_code() -> None:
    with pytest.raises(UnknownAgency) as refused:
        check_registered("to_agency", "oranga_tamarki", lambda code: code in SEEDED_CODES)
    assert refused.value.errors == [
        {
            "field": "to_agency",
            "reason": "'oranga_tamarki' is not a registered agency (did you mean oranga_tamariki?)",
        }
    ]
    check_registered("to_agency", "msd", lambda code: code in SEEDED_CODES)
    check_registered("referral_agency", None, lambda code: False)
    assert not_registered("ministry_of_magic", SEEDED_CODES) == (
        "'ministry_of_magic' is not a registered agency"
    )
