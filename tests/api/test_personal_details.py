"""A household's personal details: sealed with its own key before they leave the front door,
shown only to the agencies holding its tasks and to auditors, every read recorded, and
erasable by destroying the key, on a real nats-server and real stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.runtime.settings import Settings
from tests.support.flows import plan_and_launch
from tests.support.nats_users import every_message
from tests.support.system import InProcessSystem, eventually, signed

pytestmark = pytest.mark.integration

CANARY = "Canary"  # in every personal field below, and in nothing else the test sends
PERSONAL = {
    "person_name": "Wiremu Canary-Tane",
    "address": "12 Canary Street, Mataura",
    "children": [{"child_ref": "C-1", "name": "Aroha Canary"}],
    "notes": "Grandmother Mere Canary lives two doors down",
}
NOTE = "Children staying with Mere Canary tonight"
AGES = {"person_age": 34, "children": [{"child_ref": "C-1", "age": 4}]}


OT_WORKER = signed("agency_worker", "oranga_tamariki")
AUDITOR = signed("auditor", "oversight")
CHAIR = signed("leadership_group_chair", "iwi")


async def arrest_with_personal_details(system: InProcessSystem) -> tuple[str, dict[str, Any]]:
    op = await plan_and_launch(system)
    response = await system.api.post(
        f"/operations/{op}/arrests",
        json={
            "person_ref": "P-1",
            "household_ref": "HH-1",
            "charges": ["supply methamphetamine"],
            "children": [{"child_ref": "C-1", "age": 4}],
            "only_carer_present": True,
            "person_age": 34,
            "personal": PERSONAL,
        },
    )
    assert response.status_code == 201, response.text
    tasks = await eventually(
        lambda: system.get("/tasks", operation_id=op),
        lambda ts: any(t["kind"] == "child_safety_check" for t in ts),
        what="the child safety check",
    )
    task = next(t for t in tasks if t["kind"] == "child_safety_check")
    assert task["agency"] == "oranga_tamariki"
    return op, task


async def personal(system: InProcessSystem, case_id: str, who: dict[str, str]) -> Any:
    return await system.api.get(
        f"/cases/{case_id}/personal", params={"reason": "planning tonight's visit"}, headers=who
    )


def store_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


async def test_only_the_holding_agency_and_auditors_read_a_family_and_every_read_is_recorded(
    system: InProcessSystem,
) -> None:
    """The task board and a task's history never show the household's names; a worker at the
    agency holding its child-safety task reads them (with a reason), as does an auditor; staff
    of agencies holding none of its tasks and the administrator are refused (403), a read
    without a reason is refused (422); each read that was allowed is in Hold's history with
    who, when and why, and nothing else is."""
    op, task = await arrest_with_personal_details(system)
    case_id = task["case_id"]
    tid = task["task_id"]
    assert (await system.api.post(f"/tasks/{tid}/accept", headers=OT_WORKER)).status_code == 200
    noted = await system.api.post(f"/tasks/{tid}/note", json={"text": NOTE}, headers=OT_WORKER)
    assert noted.status_code == 200, noted.text
    history = await eventually(
        lambda: system.get(f"/tasks/{tid}"),
        lambda t: any(s["change"] == "note_added" for s in t["history"]),
        what="the note",
    )
    assert CANARY not in str(history) and "withheld" in str(history)
    for listing in ("/tasks", "/cases", f"/operations/{op}/hold"):
        assert CANARY not in (await system.api.get(listing, headers=AUDITOR)).text

    holding = {t["agency"] for t in await system.get("/tasks", case_id=case_id)}
    assert "msd" not in holding and "health_nz" not in holding
    for who in (
        signed("agency_worker", "msd"),
        signed("agency_lead", "health_nz"),
        signed("administrator", "chb"),
        signed("leadership_group_chair", "iwi"),
    ):
        refused = await personal(system, case_id, who)
        assert refused.status_code == 403, refused.text
        assert CANARY not in refused.text
    no_reason = await system.api.get(f"/cases/{case_id}/personal", headers=OT_WORKER)
    assert no_reason.status_code == 422

    seen = await personal(system, case_id, OT_WORKER)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["arrests"][0]["personal"] == PERSONAL
    assert body["arrests"][0]["children"] == ["C-1"]
    assert body["arrests"][0]["ages"] == AGES
    assert [n["text"] for n in body["task_notes"]] == [NOTE]
    assert (await personal(system, case_id, AUDITOR)).status_code == 200

    reads = await eventually(
        lambda: system.api.get(f"/cases/{case_id}/reads", headers=AUDITOR),
        lambda r: len(r.json()) == 2,
        what="two recorded reads",
    )
    who_read = [(r["actor"]["agency"], r["actor"]["role"], r["reason"]) for r in reads.json()]
    assert who_read == [
        ("oranga_tamariki", "agency_worker", "planning tonight's visit"),
        ("oversight", "auditor", "planning tonight's visit"),
    ]
    timeline = await system.get("/audit/timeline", as_=AUDITOR, operation_id=op)
    assert sum(e["event_type"] == "PersonalDetailsRead" for e in timeline) == 2


async def test_erasing_a_household_destroys_its_key_and_the_history_still_verifies(
    system: InProcessSystem, api_settings: Settings
) -> None:
    """The names were never readable in a store, a stream (subjects, headers, bodies) or an
    export; after the chair erases the household (with a reason, recorded in Hold's history)
    the sealed copies, names and ages alike, cannot be read even through the API, the rest of
    the household's record stays, a second erasure changes nothing, and every service's
    history still verifies."""
    _, task = await arrest_with_personal_details(system)
    tid = task["task_id"]
    assert (await system.api.post(f"/tasks/{tid}/accept", headers=OT_WORKER)).status_code == 200
    await system.api.post(f"/tasks/{tid}/note", json={"text": NOTE}, headers=OT_WORKER)
    await eventually(
        lambda: system.get(f"/tasks/{tid}"),
        lambda t: len(t["history"]) >= 3,
        what="the note",
    )
    before = (await personal(system, task["case_id"], AUDITOR)).json()
    assert before["arrests"][0]["personal"]["person_name"] == PERSONAL["person_name"]
    assert before["arrests"][0]["ages"] == AGES

    assert (
        await system.api.post(
            "/households/HH-1/erasure", json={"reason": "too short"[:5]}, headers=CHAIR
        )
    ).status_code == 422
    worker = await system.api.post(
        "/households/HH-1/erasure",
        json={"reason": "privacy request PR-2026-0042"},
        headers=OT_WORKER,
    )
    assert worker.status_code == 403
    erased = await system.api.post(
        "/households/HH-1/erasure", json={"reason": "privacy request PR-2026-0042"}, headers=CHAIR
    )
    assert erased.status_code == 200, erased.text
    again = await system.api.post(
        "/households/HH-1/erasure", json={"reason": "privacy request PR-2026-0042"}, headers=CHAIR
    )
    assert again.json()["erased_at"] == erased.json()["erased_at"]

    after = await eventually(
        lambda: personal(system, task["case_id"], AUDITOR),
        lambda r: r.json()["erased"] is not None,
        what="the erasure in the read model",
    )
    view = after.json()
    assert view["erased"]["reason"] == "privacy request PR-2026-0042"
    assert view["arrests"][0]["personal"] == {"erased": True}
    assert view["arrests"][0]["ages"] == {"erased": True}
    assert view["arrests"][0]["children"] == ["C-1"]
    assert view["arrests"][0]["person_ref"] == "P-1"  # the rest of the record stays
    assert [n["text"] for n in view["task_notes"]] == [{"erased": True}]
    assert CANARY not in after.text

    export = await system.api.get("/audit/export", headers=AUDITOR)
    assert export.status_code == 200 and "HouseholdErased" in export.text
    assert "chb-sealed:v1:" in export.text and CANARY not in export.text
    for _stream, _seq, subject, body, headers in await every_message(api_settings):
        assert CANARY.encode() not in body, subject
        assert CANARY not in subject and CANARY not in str(headers)
    assert CANARY.encode() not in store_bytes(api_settings.data_dir)

    # Each notary checkpoints within a second; then clear's and hold's histories verify to
    # their ends (build has recorded nothing: the operation was not concluded).
    verified = await eventually(
        lambda: system.get("/audit/verify", as_=AUDITOR),
        lambda v: v["ok"] and all(s["verified"] > 0 for s in v["services"][:2]),
        what="checkpointed histories",
    )
    assert verified["ok"], verified


STAGED_NOTE = "Dog on the property; Nan Canary has the children on Tuesdays"
PLANNER = signed("planner", "police")


async def test_a_staged_note_is_sealed_and_read_only_through_the_case_every_read_recorded(
    system: InProcessSystem, api_settings: Settings
) -> None:
    """The planning cell's note on a household it stages is sealed with the household's key
    before it leaves the front door: the staged list says only that it exists, no stream or
    store holds it readable, and after launch it is read through the household's case by the
    agency that accepted its task (the read recorded in Hold's history, with the staged note
    among the fields read); while the task is only offered to it, not yet. Erasing the household
    makes it unreadable there too."""
    planned = await system.api.post(
        "/operations",
        json={
            "name": "Operation Pakari",
            "district": "Southland",
            "place": "Mataura",
            "target_group": "supply",
            "planned_start": "2026-03-01T05:00:00+13:00",
        },
        headers=PLANNER,
    )
    op = planned.json()["operation_id"]
    staged = await system.api.post(
        f"/operations/{op}/staged-support",
        json={"household_ref": "HH-S", "expected_children": 1, "note": STAGED_NOTE},
        headers=PLANNER,
    )
    assert staged.status_code == 201, staged.text
    listed = await system.api.get(f"/operations/{op}/staged-support", headers=PLANNER)
    (household,) = listed.json()["staged"]
    assert household["note"]["withheld"] == "personal details"
    assert CANARY not in listed.text

    assert (await system.api.post(f"/operations/{op}/launch", headers=PLANNER)).is_success
    tasks = await eventually(
        lambda: system.get("/tasks", operation_id=op),
        lambda ts: any(t["kind"] == "child_safety_check" for t in ts),
        what="the staged household's child safety check",
    )
    task = next(t for t in tasks if t["kind"] == "child_safety_check")
    case_id = task["case_id"]
    holder = signed("agency_worker", task["agency"])
    outsider = signed("agency_worker", "msd")
    for who in (outsider, holder):  # the holder is only offered the task so far
        refused = await personal(system, case_id, who)
        assert refused.status_code == 403 and CANARY not in refused.text
    accepted = await system.api.post(f"/tasks/{task['task_id']}/accept", headers=holder)
    assert accepted.status_code == 200, accepted.text

    seen = await personal(system, case_id, holder)
    assert seen.status_code == 200, seen.text
    assert seen.json()["staged_note"] == STAGED_NOTE
    reads = await eventually(
        lambda: system.api.get(f"/cases/{case_id}/reads", headers=AUDITOR),
        lambda r: len(r.json()) == 1,
        what="the recorded read",
    )
    assert "staged_note" in reads.json()[0]["fields"]

    for _stream, _seq, subject, body, headers in await every_message(api_settings):
        assert CANARY.encode() not in body, subject
        assert CANARY not in subject and CANARY not in str(headers)
    assert CANARY.encode() not in store_bytes(api_settings.data_dir)

    erased = await system.api.post(
        "/households/HH-S/erasure", json={"reason": "privacy request PR-2026-0043"}, headers=CHAIR
    )
    assert erased.status_code == 200, erased.text
    after = await personal(system, case_id, AUDITOR)
    assert after.json()["staged_note"] == {"erased": True}


async def test_hold_decides_on_the_sealed_ages_it_opens(system: InProcessSystem) -> None:
    """Hold, with its own read-only access to the keys, opens an arrest's sealed ages for its
    rules: a 16-year-old's arrest gets youth justice support, a 34-year-old's does not."""
    op = await plan_and_launch(system)
    for person, household, age in (("P-16", "HH-Y", 16), ("P-34", "HH-A", 34)):
        response = await system.api.post(
            f"/operations/{op}/arrests",
            json={
                "person_ref": person,
                "household_ref": household,
                "charges": ["supply"],
                "person_age": age,
            },
        )
        assert response.status_code == 201, response.text
    tasks = await eventually(
        lambda: system.get("/tasks", operation_id=op),
        lambda ts: (
            len({t["case_id"] for t in ts}) == 2
            and any(t["kind"] == "youth_justice_support" for t in ts)
        ),
        what="both households' tasks",
    )
    cases = {c["case_id"]: c["household_ref"] for c in await system.get("/cases", operation_id=op)}
    youth = {cases[t["case_id"]] for t in tasks if t["kind"] == "youth_justice_support"}
    assert youth == {"HH-Y"}


async def test_a_seizure_or_witness_households_ages_are_shown_only_through_its_case(
    system: InProcessSystem, api_settings: Settings
) -> None:
    """The children's ages given with a firearm seized in a home and with a key witness are
    sealed by the front door: no listing, stream or store shows them (no ``age`` field), the
    household's case's personal route opens them for the agency that accepted its task, and
    once a household is erased its ages read as erased while the other household's still
    open."""
    op = await plan_and_launch(system)
    seizure_body = {
        "kind": "firearm",
        "description": "pistol",
        "quantity": 1,
        "unit": "item",
        "household_ref": "HH-F",
        "children": [{"child_ref": "C-F", "age": 4}],
    }
    seizure = await system.api.post(f"/operations/{op}/seizures", json=seizure_body)
    assert seizure.status_code == 201, seizure.text
    homeless = {**seizure_body, "household_ref": None}
    refused = await system.api.post(f"/operations/{op}/seizures", json=homeless)
    assert refused.status_code == 422 and "household_ref" in refused.text
    witness = await system.api.post(
        f"/operations/{op}/witnesses",
        json={
            "witness_ref": "W-1",
            "household_ref": "HH-W",
            "children": [{"child_ref": "C-W", "age": 11}],
        },
    )
    assert witness.status_code == 201, witness.text
    await eventually(
        lambda: system.get("/tasks", operation_id=op),
        lambda ts: sum(t["kind"] == "child_safety_check" for t in ts) == 2,
        what="both households' child safety checks",
    )
    cases = {c["household_ref"]: c["case_id"] for c in await system.get("/cases", operation_id=op)}
    for listing in ("/tasks", "/cases", f"/operations/{op}/hold", f"/operations/{op}"):
        shown = (await system.api.get(listing, headers=AUDITOR)).text
        assert '"age"' not in shown and "chb-sealed" not in shown, listing
    relayed = [
        body
        for _stream, _seq, subject, body, _headers in await every_message(api_settings)
        if subject.endswith(("seizure_recorded", "witness_registered"))
    ]
    assert len(relayed) == 2
    for body in relayed:
        assert b'"age"' not in body and b'"ages":"chb-sealed:v1:' in body, body[:300]
    stored = store_bytes(api_settings.data_dir).replace(b'": ', b'":')
    assert b'"age"' not in stored and b'"ages":"chb-sealed:v1:' in stored

    safety = await system.get("/tasks", case_id=cases["HH-F"])
    check = next(t for t in safety if t["kind"] == "child_safety_check")
    accepted = await system.api.post(f"/tasks/{check['task_id']}/accept", headers=OT_WORKER)
    assert accepted.status_code == 200, accepted.text
    seized = await personal(system, cases["HH-F"], OT_WORKER)
    assert seized.status_code == 200, seized.text
    (record,) = seized.json()["seizures"]
    assert record["kind"] == "firearm" and record["children"] == ["C-F"]
    assert record["ages"] == {"children": [{"child_ref": "C-F", "age": 4}]}
    (registered,) = (await personal(system, cases["HH-W"], AUDITOR)).json()["witnesses"]
    assert registered["witness_ref"] == "W-1" and registered["children"] == ["C-W"]
    assert registered["ages"] == {"children": [{"child_ref": "C-W", "age": 11}]}

    erased = await system.api.post(
        "/households/HH-F/erasure", json={"reason": "privacy request PR-2026-0044"}, headers=CHAIR
    )
    assert erased.status_code == 200, erased.text
    after = (await personal(system, cases["HH-F"], AUDITOR)).json()
    assert after["seizures"][0]["ages"] == {"erased": True}
    assert after["seizures"][0]["children"] == ["C-F"]  # the rest of the record stays
    still = (await personal(system, cases["HH-W"], AUDITOR)).json()
    assert still["witnesses"][0]["ages"] == registered["ages"]
