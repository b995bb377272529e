"""Build, as people of several agencies try it against the running API: sign-offs and votes
are each the person's own, and every action is decided by role, the caller's agency's relation
to the item and the token's places (issue 13, rows 3, 4, 5 and 13). Build refuses the same
commands when they reach it without passing the front door."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from contracts.build_commands import ChangeProgrammeCommand, CheckInMilestone, SignOffGate
from contracts.envelope import Requester
from tests.support.build_flows import (
    CHAIR,
    MSD_MEMBER,
    POLICE_MEMBER,
    commissioned,
    person,
    plan_opened,
    registered_programme,
    the_plan,
)
from tests.support.system import InProcessSystem, eventually

pytestmark = pytest.mark.integration

EVIDENCE = {"evidence": ["wastewater meth load halved and stayed down"]}


def detail(response: Any) -> str:
    text: str = response.json()["detail"]
    return text


def answered_alike(hidden: Any, unknown: Any, hidden_id: str, unknown_id: str) -> None:
    """A hidden item gets the very answer an unknown id gets: 404, the same problem document
    but for the id (and the path) asked about."""

    def shown(response: Any, item: str) -> dict[str, Any]:
        body: dict[str, Any] = response.json()
        return {**body, "detail": body["detail"].replace(item, "<id>"), "instance": None}

    assert hidden.status_code == unknown.status_code == 404, (hidden.text, unknown.text)
    assert shown(hidden, hidden_id) == shown(unknown, unknown_id)


async def test_the_gate_takes_each_members_own_sign_off_and_no_claimed_ones(
    system: InProcessSystem,
) -> None:
    """Row 13: the chair alone, or a body naming invented signatories, or evidence ".", moves
    nothing (409, 422, 422). Members sign off with their own tokens (twice counts once), a
    worker may not, and a member limited to another place is told the plan does not exist;
    then the chair's decision records exactly those people."""
    await plan_opened(system, "Ōpōtiki")
    gate = "/plans/Ōpōtiki/gate"

    alone = await system.api.post(gate, headers=CHAIR, json=EVIDENCE)
    assert alone.status_code == 409, alone.text
    assert "at least 3 agencies (have 1: iwi)" in detail(alone)
    assert "iwi member" not in detail(alone)  # the deciding chair is iwi's
    invented = [
        {"id": "m-2", "agency": "police", "role": "leadership_group_member"},
        {"id": "m-3", "agency": "msd", "role": "leadership_group_member"},
    ]
    claimed = await system.api.post(
        gate, headers=CHAIR, json={**EVIDENCE, "signed_off_by": invented}
    )
    assert claimed.status_code == 422, claimed.text
    assert claimed.json()["errors"][0]["field"] == "signed_off_by"
    dot = await system.api.post(gate, headers=CHAIR, json={"evidence": ["."]})
    assert dot.status_code == 422 and dot.json()["errors"][0]["field"] == "evidence[0]"

    worker = person("w-1", "agency_worker", "msd")
    assert (await system.api.post(f"{gate}/sign-offs", headers=worker)).status_code == 403
    for member in (POLICE_MEMBER, MSD_MEMBER, POLICE_MEMBER):
        signed = await system.api.post(f"{gate}/sign-offs", headers=member)
        assert signed.status_code == 200, signed.text
    elsewhere = person("lg-gore-1", "leadership_group_member", "health_nz", places=("Gore",))
    hidden = await system.api.post(f"{gate}/sign-offs", headers=elsewhere)
    unknown = await system.api.post("/plans/Nowhere/gate/sign-offs", headers=elsewhere)
    answered_alike(hidden, unknown, "Ōpōtiki", "Nowhere")
    read_hidden = await system.api.get("/plans/Ōpōtiki", headers=elsewhere)
    read_unknown = await system.api.get("/plans/Nowhere", headers=elsewhere)
    answered_alike(read_hidden, read_unknown, "Ōpōtiki", "Nowhere")
    assert "Ōpōtiki" not in {p["place"] for p in (await system.get("/plans", as_=elsewhere))}

    plan = await eventually(
        lambda: the_plan(system, "Ōpōtiki"),
        lambda p: p is not None and len(p["sign_offs"]) == 2,
        what="two sign-offs",
    )
    assert plan is not None and [s["id"] for s in plan["sign_offs"]] == [
        "lg-police-1",
        "lg-msd-1",
    ]
    member_decides = await system.api.post(gate, headers=MSD_MEMBER, json=EVIDENCE)
    assert member_decides.status_code == 403
    moved = await system.api.post(gate, headers=CHAIR, json=EVIDENCE)
    assert moved.status_code == 200, moved.text
    plan = await eventually(
        lambda: the_plan(system, "Ōpōtiki"), lambda p: p is not None and p["phase"] == "build"
    )
    assert plan is not None
    assert [s["id"] for s in plan["gate"]["signed_off_by"]] == [
        "lg-police-1",
        "lg-msd-1",
        "lg-chair-1",
    ]


async def test_a_panel_decision_stands_only_on_three_members_own_votes(
    system: InProcessSystem,
) -> None:
    """Row 13: one member approving $2,000,000 alone is refused (409 naming how many more
    votes it needs), and so is a body naming the panel (422); after three members' votes for
    that decision and amount the decision records them as the panel."""
    pid = await registered_programme(system, "West Coast", "iwi_provider")
    choice = {"decision": "approved", "amount": "2000000.00"}
    decisions, votes = f"/programmes/{pid}/panel-decisions", f"/programmes/{pid}/panel-votes"

    voted = await system.api.post(votes, headers=MSD_MEMBER, json=choice)
    assert voted.status_code == 200, voted.text
    alone = await system.api.post(decisions, headers=MSD_MEMBER, json=choice)
    assert alone.status_code == 409 and "needs 2 more" in detail(alone), alone.text
    panel = [{"id": "p-1", "agency": "iwi", "role": "leadership_group_member"}]
    claimed = await system.api.post(decisions, headers=MSD_MEMBER, json={**choice, "panel": panel})
    assert claimed.status_code == 422 and claimed.json()["errors"][0]["field"] == "panel"
    lead = person("l-1", "agency_lead", "iwi_provider")
    assert (await system.api.post(votes, headers=lead, json=choice)).status_code == 403

    for member in (CHAIR, POLICE_MEMBER):
        assert (await system.api.post(votes, headers=member, json=choice)).status_code == 200
    decided = await system.api.post(decisions, headers=MSD_MEMBER, json=choice)
    assert decided.status_code == 200 and decided.json()["committed"] == "2000000.00"

    async def history() -> list[dict[str, Any]]:
        (programme,) = await system.get("/programmes", place="West Coast")
        entries: list[dict[str, Any]] = programme["history"]
        return entries

    entries = await eventually(history, lambda h: any(e["change"] == "panel_decided" for e in h))
    decision = next(e for e in entries if e["change"] == "panel_decided")
    assert [m["id"] for m in decision["panel"]] == ["lg-msd-1", "lg-chair-1", "lg-police-1"]


async def test_a_milestone_is_checked_in_by_its_owner_agency_or_the_leadership_group(
    system: InProcessSystem,
) -> None:
    """Row 3: a worker of another agency checking in msd's milestone "met" is refused (403), a
    lead of an agency that does not exist is refused at the door (401: it is in no register),
    and it stays unmet; msd's worker may; msd's worker limited to Gore is told it does not
    exist, as for an unknown id. A check-in sent straight to build, past the front door, is
    refused the same way."""
    await plan_opened(system, "Mataura")
    due = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    added = await system.api.post(
        "/plans/Mataura/milestones",
        headers=CHAIR,
        json={"label": "Whānau navigators contracted", "owner_agency": "msd", "due_at": due},
    )
    assert added.status_code == 201, added.text
    mid = added.json()["milestone_id"]
    url = f"/milestones/{mid}/check-ins"
    await eventually(lambda: system.get("/milestones", place="Mataura"), lambda ms: len(ms) == 5)

    met = {"status": "met", "note": "all done"}
    outsider = person("w-ot-1", "agency_worker", "oranga_tamariki")
    refused = await system.api.post(url, headers=outsider, json=met)
    assert refused.status_code == 403, refused.text
    assert "owner agency or the leadership group" in detail(refused)
    # An agency that does not exist is in no register: its token is refused outright.
    invented = person("l-mm-1", "agency_lead", "ministry_of_magic")
    refused = await system.api.post(url, headers=invented, json=met)
    assert refused.status_code == 401, refused.text
    assert "'ministry_of_magic' is not a registered agency" in detail(refused)
    gore_worker = person("w-msd-2", "agency_worker", "msd", places=("Gore",))
    hidden = await system.api.post(url, headers=gore_worker, json=met)
    other = str(uuid4())
    unknown = await system.api.post(f"/milestones/{other}/check-ins", headers=gore_worker, json=met)
    answered_alike(hidden, unknown, mid, other)

    direct = CheckInMilestone(
        milestone_id=mid,
        status="met",
        note="chb-sealed:v1:" + "0" * 32 + ":c2VhbGVk",  # as the front door would send it
        actor=Requester(id="w-ot-1", agency="oranga_tamariki", role="agency_worker"),
    )
    answer = await system.app.state.door.send("build", "check_in_milestone", direct)
    assert answer.status == 403, answer

    msd_worker = person("w-msd-1", "agency_worker", "msd")
    own = await system.api.post(url, headers=msd_worker, json={"status": "at_risk", "note": "x"})
    assert own.status_code == 200, own.text
    milestones = await eventually(
        lambda: system.get("/milestones", place="Mataura"),
        lambda ms: any(m.get("status") == "at_risk" for m in ms),
    )
    assert {m["status"] for m in milestones if m["milestone_id"] == mid} == {"at_risk"}


async def test_spend_and_results_are_the_providers_leads_alone(system: InProcessSystem) -> None:
    """Row 4: msd's lead reporting spend on, or results worth 1,000,000 for, iwi_provider's
    programme is refused (403), at the front door and in build; the chair is refused at the
    door; iwi_provider's lead is not. A lead limited to another place is told the programme
    does not exist."""
    pid = await registered_programme(system, "West Coast", "iwi_provider")
    await commissioned(system, pid, "1000.00")
    spend = {"amount": "1.00", "period": "Q1"}
    result = {"period": "Q1", "people_engaged": 1, "cost": "1.00", "outcome_value": "1000000.00"}
    msd_lead = person("l-msd-1", "agency_lead", "msd")
    for path, body in (("spend", spend), ("results", result)):
        refused = await system.api.post(f"/programmes/{pid}/{path}", headers=msd_lead, json=body)
        assert refused.status_code == 403 and "provider's agency lead" in detail(refused)
        chair = await system.api.post(f"/programmes/{pid}/{path}", headers=CHAIR, json=body)
        assert chair.status_code == 403, chair.text
    direct = ChangeProgrammeCommand(
        programme_id=pid,
        action="report",
        period="Q1",
        people_engaged=1,
        cost="1.00",
        outcome_value="1000000.00",
        actor=Requester(id="l-msd-1", agency="msd", role="agency_lead"),
    )
    assert (await system.app.state.door.send("build", "change_programme", direct)).status == 403

    gore_lead = person("l-ip-2", "agency_lead", "iwi_provider", places=("Gore",))
    hidden = await system.api.post(f"/programmes/{pid}/spend", headers=gore_lead, json=spend)
    other = str(uuid4())
    unknown = await system.api.post(f"/programmes/{other}/spend", headers=gore_lead, json=spend)
    answered_alike(hidden, unknown, pid, other)

    provider_lead = person("l-ip-1", "agency_lead", "iwi_provider")
    spent = await system.api.post(f"/programmes/{pid}/spend", headers=provider_lead, json=spend)
    assert spent.status_code == 200 and spent.json()["spent"] == "1.00", spent.text
    honest = {**result, "outcome_value": "4.60"}
    reported = await system.api.post(
        f"/programmes/{pid}/results", headers=provider_lead, json=honest
    )
    assert reported.status_code == 200 and reported.json()["social_return"] == "4.60"


def reading(place: str, value: str = "120") -> dict[str, str]:
    return {
        "place": place,
        "indicator": "wastewater_drug_load",
        "series": "meth",
        "period_start": "2026-01-01",
        "value": value,
        "unit": "mg/1000 people/day",
    }


async def test_an_imports_rows_and_commit_are_its_starters_within_the_tokens_places(
    system: InProcessSystem,
) -> None:
    """Row 5: health_nz's lead adding a 99999 row to msd's lead's import, or committing it, is
    refused (403); an msd lead limited to Gore committing the import holding a Mataura row
    another lead added is told it does not exist (404, as for an unknown import) and cannot
    list it; msd's lead commits it, and only then do its rows count."""
    msd_lead = person("l-msd-1", "agency_lead", "msd")
    started = await system.api.post(
        "/indicator-imports",
        headers=msd_lead,
        json={"file_name": "loads.csv", "rows_expected": 2},
    )
    assert started.status_code == 201, started.text
    iid = started.json()["import_id"]
    rows, commit = f"/indicator-imports/{iid}/rows", f"/indicator-imports/{iid}/commit"
    first = await system.api.post(rows, headers=msd_lead, json={"rows": [reading("Mataura")]})
    assert first.status_code == 200, first.text

    health_lead = person("l-hnz-1", "agency_lead", "health_nz")
    forged = await system.api.post(
        rows, headers=health_lead, json={"rows": [reading("Gore", "99999")]}
    )
    assert forged.status_code == 403 and "agency that started it" in detail(forged)
    assert (await system.api.post(commit, headers=health_lead)).status_code == 403

    gore_lead = person("l-msd-2", "agency_lead", "msd", places=("Gore",))
    second = await system.api.post(rows, headers=gore_lead, json={"rows": [reading("Gore")]})
    assert second.status_code == 404, second.text  # it holds a Mataura row: not theirs to see
    other = str(uuid4())
    hidden = await system.api.post(commit, headers=gore_lead)
    unknown = await system.api.post(f"/indicator-imports/{other}/commit", headers=gore_lead)
    answered_alike(hidden, unknown, iid, other)

    second = await system.api.post(rows, headers=msd_lead, json={"rows": [reading("Gore")]})
    assert second.status_code == 200, second.text
    assert (await system.api.post(commit, headers=msd_lead)).status_code == 200
    listed = await eventually(
        lambda: system.get("/indicator-imports", as_=msd_lead), lambda imports: len(imports) == 1
    )
    assert listed[0]["starter_agency"] == "msd"
    assert sorted(listed[0]["places"]) == ["Gore", "Mataura"]
    assert await system.get("/indicator-imports", as_=gore_lead) == []
    mataura = await system.get("/indicators", as_=msd_lead, place="Mataura")
    assert [r["value"] for r in mataura] == ["120"]
    assert await system.get("/indicators", as_=gore_lead, place="Mataura") == []
    assert len(await system.get("/indicators", as_=gore_lead, place="Gore")) == 1


async def test_build_refuses_a_sign_off_that_skipped_the_front_door(
    system: InProcessSystem,
) -> None:
    """An agency's worker signing off straight to build: 403 there too; nothing recorded."""
    await plan_opened(system, "Gore")
    worker = Requester(id="w-1", agency="msd", role="agency_worker")
    answer = await system.app.state.door.send(
        "build", "sign_off_gate", SignOffGate(place="Gore", actor=worker)
    )
    assert answer.status == 403, answer
    plan = await the_plan(system, "Gore")
    assert plan is not None and plan["sign_offs"] == []
