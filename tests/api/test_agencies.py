"""The agency register through the front door, against the running system: kept by the chair,
read by everyone, and the agency a token names checked against it on every request."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from httpx import Response

from contracts.agencies import SEEDED_CODES
from services.api.identity import Identity
from tests.conftest import TEST_JWT_KEY
from tests.system.support import InProcessSystem, bearer, eventually, signed

pytestmark = pytest.mark.integration

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
