"""The agency register through the front door, against the running system: kept by the chair,
read by everyone, and every agency a token, a playbook, an offer, a programme or a milestone
names checked against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
from httpx import Response

from contracts.agencies import SEEDED_CODES
from services.api.identity import Identity
from tests.conftest import TEST_JWT_KEY
from tests.support.system import InProcessSystem, bearer, eventually, signed

pytestmark = pytest.mark.integration

NATIONAL = Path(__file__).parents[2] / "services/hold/playbooks/national.toml"

CHAIR = signed("leadership_group_chair", "public_service_commission")
WORKER = signed("agency_worker", "msd")
NEW = {
    "code": "te_runanga_o_makaawhio",
    "name": "Te Rūnanga o Makaawhio",
    "kind": "iwi",
    "places": ["Hokitika"],
    "reason": "joins the West Coast leadership group",
}


def problem_fields(response: Response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


async def test_the_seeded_register_is_there_from_the_start_for_everyone(
    system: InProcessSystem,
) -> None:
    """Even a public token reads it; each seeded agency is there, by code."""
    listed = await system.api.get("/agencies", headers=signed("public", "msd"))
    assert listed.status_code == 200
    assert {a["code"] for a in listed.json()} == SEEDED_CODES
    iwi = await system.api.get("/agencies/iwi", headers=WORKER)
    assert (iwi.json()["name"], iwi.json()["kind"]) == ("Poutini Ngāi Tahu", "iwi")
    councils = await system.api.get("/agencies", params={"kind": "council"}, headers=WORKER)
    assert {a["code"] for a in councils.json()} == {
        "grey_district_council",
        "buller_district_council",
        "westland_district_council",
    }

    async def recorded() -> dict[str, Any]:
        return (await system.api.get("/agencies/police", headers=WORKER)).json()

    # Hold records the seeded agencies at start-up: then the register says who and why.
    police = await eventually(recorded, lambda a: a["history"], what="seeded record")
    (step,) = police["history"]
    assert step["actor"] == {"id": "hold-service", "agency": "chb", "role": "service"}
    assert step["reason"].startswith("seeded")


async def test_the_chair_registers_an_agency_others_may_not_and_a_code_is_taken_once(
    system: InProcessSystem,
) -> None:
    registered = await system.api.post("/agencies", json=NEW, headers=CHAIR)
    assert registered.status_code == 201, registered.text
    assert registered.json() == {k: v for k, v in NEW.items() if k != "reason"}
    refused = await system.api.post("/agencies", json={**NEW, "code": "other"}, headers=WORKER)
    assert refused.status_code == 403 and "chair" in refused.json()["detail"]
    again = await system.api.post("/agencies", json=NEW, headers=CHAIR)
    assert again.status_code == 409 and "already registered" in again.json()["detail"]
    seeded = await system.api.post("/agencies", json={**NEW, "code": "msd"}, headers=CHAIR)
    assert seeded.status_code == 409

    async def shown() -> Response:
        return await system.api.get(f"/agencies/{NEW['code']}", headers=WORKER)

    agency = (await eventually(shown, lambda r: r.status_code == 200)).json()
    assert (agency["name"], agency["kind"], agency["places"]) == (
        "Te Rūnanga o Makaawhio",
        "iwi",
        ["Hokitika"],
    )
    (step,) = agency["history"]
    assert (step["change"], step["reason"], step["actor"]["role"]) == (
        "registered",
        NEW["reason"],
        "leadership_group_chair",
    )
    listed = await system.api.get("/agencies", params={"place": "hokitika"}, headers=WORKER)
    assert NEW["code"] in {a["code"] for a in listed.json()}


async def test_bad_fields_are_422_naming_each(system: InProcessSystem) -> None:
    bad = {"code": "Ministry Of Magic", "name": " ", "kind": "gang", "reason": "  "}
    refused = await system.api.post("/agencies", json=bad, headers=CHAIR)
    assert refused.status_code == 422
    assert problem_fields(refused) == {"code", "name", "kind", "reason"}
    reserved = await system.api.post("/agencies", json={**NEW, "code": "chb"}, headers=CHAIR)
    assert reserved.status_code == 422 and problem_fields(reserved) == {"code"}
    nothing = await system.api.patch("/agencies/msd", json={"reason": "why"}, headers=CHAIR)
    assert nothing.status_code == 422 and "at least one" in nothing.json()["detail"]


async def test_a_change_is_kept_with_why_and_an_unknown_code_is_404(
    system: InProcessSystem,
) -> None:
    change = {"places": ["Greymouth", "Westport"], "reason": "serves the West Coast"}
    changed = await system.api.patch("/agencies/victim_support", json=change, headers=CHAIR)
    assert changed.status_code == 200, changed.text
    assert changed.json()["places"] == ["Greymouth", "Westport"]
    renamed = await system.api.patch(
        "/agencies/victim_support",
        json={"name": "Victim Support NZ", "reason": "its name"},
        headers=CHAIR,
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Victim Support NZ"
    unknown = await system.api.patch("/agencies/ministry_of_magic", json=change, headers=CHAIR)
    assert unknown.status_code == 404
    assert (await system.api.get("/agencies/ministry_of_magic", headers=WORKER)).status_code == 404
    by_worker = await system.api.patch("/agencies/msd", json=change, headers=WORKER)
    assert by_worker.status_code == 403

    async def shown() -> dict[str, Any]:
        return (await system.api.get("/agencies/victim_support", headers=WORKER)).json()

    agency = await eventually(shown, lambda a: len(a["history"]) == 3, what="two changes")
    assert [(s["change"], s["reason"]) for s in agency["history"][1:]] == [
        ("changed", "serves the West Coast"),
        ("changed", "its name"),
    ]
    assert agency["history"][1]["fields"] == {"places": ["Greymouth", "Westport"]}


def token(agency: str, role: str = "agency_worker") -> dict[str, str]:
    """A correctly signed token naming any agency at all (as a bad issuer might make)."""
    claims = {"iss": "chb", "sub": "w-1", "role": role, "agency": agency, "exp": 4102444800}
    return {"Authorization": f"Bearer {jwt.encode(claims, TEST_JWT_KEY)}"}


async def test_a_token_naming_an_agency_not_in_the_register_is_401_with_the_reason(
    system: InProcessSystem,
) -> None:
    unknown = await system.api.get("/tasks", headers=token("oranga_tamarki"))
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == (
        "the token's agency: 'oranga_tamarki' is not a registered agency "
        "(did you mean oranga_tamariki?)"
    )
    too_long = await system.api.post("/operations", json={}, headers=token("a" * 65, "planner"))
    assert too_long.status_code == 401, too_long.text
    assert "at most 64 characters" in too_long.json()["detail"]
    system_code = await system.api.get("/tasks", headers=token("chb"))
    assert system_code.status_code == 401 and "reserved" in system_code.json()["detail"]
    admin = bearer(Identity("local-administrator", "administrator", "chb"))
    assert (await system.api.get("/tasks", headers=admin)).status_code == 200


async def test_a_token_for_an_agency_registered_later_is_accepted_once_the_api_knows_it(
    system: InProcessSystem,
) -> None:
    newcomer = token(NEW["code"])
    assert (await system.api.get("/tasks", headers=newcomer)).status_code == 401
    assert (await system.api.post("/agencies", json=NEW, headers=CHAIR)).status_code == 201

    async def asked() -> int:
        return (await system.api.get("/tasks", headers=newcomer)).status_code

    await eventually(asked, lambda status: status == 200, what="the new agency's token")


async def test_a_playbook_naming_unknown_agencies_is_422_listing_each(
    system: InProcessSystem,
) -> None:
    text = (
        'name = "west-coast"\nversion = 1\n'
        '[[rules]]\nid = "a"\nwhen = { event = "arrest" }\n'
        'task = { kind = "k", lead_agency = "ministry_of_magic", due_within = "2h",'
        ' fallback_agencies = ["msd", "helth_nz"] }\n'
    )
    refused = await system.api.post("/playbooks", json={"toml": text}, headers=CHAIR)
    assert refused.status_code == 422
    # Each error as every 422 lists them: where in the playbook, and why.
    assert refused.json()["errors"] == [
        {
            "field": "rules[0] (id 'a').task.lead_agency",
            "reason": "'ministry_of_magic' is not a registered agency",
            "loc": ["body", "toml"],
        },
        {
            "field": "rules[0] (id 'a').task.fallback_agencies[1]",
            "reason": "'helth_nz' is not a registered agency (did you mean health_nz?)",
            "loc": ["body", "toml"],
        },
    ]
    # Nothing adopted: the national default alone is in force.
    in_force = (await system.api.get("/playbooks", headers=CHAIR)).json()
    assert [(p["scope"], p["default"]) for p in in_force] == [("national", True)]


async def a_task(system: InProcessSystem) -> str:
    planned = await system.api.post(
        "/operations",
        json={
            "name": "Operation Pakari",
            "district": "West Coast",
            "place": "Westport",
            "target_group": "meth supply network",
            "planned_start": "2026-03-01T05:00:00+13:00",
        },
    )
    operation = planned.json()["operation_id"]
    assert (await system.api.post(f"/operations/{operation}/launch")).status_code == 200
    arrested = await system.api.post(
        f"/operations/{operation}/arrests",
        json={
            "person_ref": "P-1",
            "household_ref": "HH-1",
            "charges": ["supply methamphetamine"],
            "children": [{"child_ref": "C-1", "age": 6}],
            "only_carer_present": True,
        },
    )
    assert arrested.status_code == 201, arrested.text

    async def tasks() -> list[dict[str, Any]]:
        return list((await system.api.get("/tasks", params={"operation_id": operation})).json())

    opened = await eventually(tasks, lambda found: len(found) > 0, what="tasks opened")
    return str(opened[0]["task_id"])


async def test_a_task_offered_to_an_unknown_agency_is_422_and_stays_where_it_was(
    system: InProcessSystem,
) -> None:
    task_id = await a_task(system)
    before = (await system.api.get(f"/tasks/{task_id}")).json()["agency"]
    refused = await system.api.post(
        f"/tasks/{task_id}/offer", json={"to_agency": "ministry_of_magic"}, headers=CHAIR
    )
    assert refused.status_code == 422, refused.text
    assert problem_fields(refused) == {"to_agency"}
    assert "'ministry_of_magic' is not a registered agency" in refused.json()["detail"]
    assert (await system.api.get(f"/tasks/{task_id}")).json()["agency"] == before
    placed = await system.api.post(
        f"/tasks/{task_id}/offer", json={"to_agency": "victim_support"}, headers=CHAIR
    )
    assert placed.status_code == 200 and placed.json()["agency"] == "victim_support"


async def test_a_programme_provider_and_a_milestone_owner_must_be_registered(
    system: InProcessSystem,
) -> None:
    programme = {
        "name": "Rangatahi mentoring",
        "provider": "ministry_of_magic",
        "place": "Westport",
        "focus_area": "rangatahi_pathway",
        "funding_source": "CRWS fund",
        "agreement_kind": "outcome_agreement",
    }
    refused = await system.api.post("/programmes", json=programme, headers=CHAIR)
    assert refused.status_code == 422
    assert problem_fields(refused) == {"provider"}
    assert refused.json()["detail"] == "provider: 'ministry_of_magic' is not a registered agency"
    accepted = await system.api.post(
        "/programmes", json={**programme, "provider": "iwi_provider"}, headers=CHAIR
    )
    assert accepted.status_code == 201, accepted.text
    milestone = {
        "label": "Navigator in post",
        "owner_agency": "ministry_of_magic",
        "due_at": "2026-09-01T00:00:00+12:00",
    }
    owner = await system.api.post("/plans/Westport/milestones", json=milestone, headers=CHAIR)
    assert owner.status_code == 422 and problem_fields(owner) == {"owner_agency"}


async def test_the_national_playbook_is_adopted_against_the_seeded_register(
    system: InProcessSystem,
) -> None:
    """Every agency the shipped default names is in the register hold starts with."""
    text = NATIONAL.read_text(encoding="utf-8")
    adopted = await system.api.post("/playbooks", json={"toml": text}, headers=CHAIR)
    assert adopted.status_code == 201, adopted.text
