"""Who may do what to which item, against the running API: every role, every action, each
relation of the caller's agency to the item, each relevant state, in and out of the token's
scope. Every expected answer below is written out by hand, cell by cell; nothing is read from
the code's table, so a wrong row there fails here.

    A  authorized: the action is theirs (2xx, or 409 where the item's state refuses the step)
    F  forbidden (403): the item is visible to them, the action is not theirs
    N  not found (404): the item is hidden from them, answered exactly as an unknown id

The world (tests/support/world.py): in Mataura, operation L launched, with households H1..H9
arrested (children left with no carer), each with a child-safety check offered to Oranga
Tamariki, family liaison offered to Police and a needs assessment offered to the iwi provider;
operations P (planned), P2 (planned, to launch) and C (launched, to conclude); in Gore,
operation G launched. Before the grid runs, the iwi provider has accepted H4..H9's needs
assessments (H5 and H6 further along), so for those households it is the holder.

Build: operation K concluded in Mataura opened its plan; a milestone owned by MSD; a
programme the iwi provider runs, $10,000 committed on three panel members' votes; an indicator
import started by MSD's lead, holding a Mataura reading.

The callers, by column: adm administrator; pl and cmd Police's planner and operation
commander (the planning cell); plOT a planner at Oranga Tamariki; wOT and lOT a worker and a
lead at Oranga Tamariki (offered H1..H9's child-safety checks); wIW and lIW at the iwi provider
(offered every needs assessment, holding H4..H9's); wMSD and lMSD at MSD (no relation);
mem a leadership-group member (MSD); chair the leadership group's chair (iwi); aud an auditor;
pub the public.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from services.api.identity import Identity
from tests.support.system import InProcessSystem, bearer
from tests.support.world import PLANNER, World, arrest_of, operation

pytestmark = pytest.mark.integration

NATIONAL = (Path(__file__).parents[2] / "services/hold/playbooks/national.toml").read_text()

CALLERS = {
    "adm": Identity("adm-1", "administrator", "chb"),
    "pl": Identity("pl-1", "planner", "police"),
    "cmd": Identity("cmd-1", "operation_commander", "police"),
    "plOT": Identity("plOT-1", "planner", "oranga_tamariki"),
    "wOT": Identity("wOT-1", "agency_worker", "oranga_tamariki"),
    "lOT": Identity("lOT-1", "agency_lead", "oranga_tamariki"),
    "wIW": Identity("wIW-1", "agency_worker", "iwi_provider"),
    "lIW": Identity("lIW-1", "agency_lead", "iwi_provider"),
    "wMSD": Identity("wMSD-1", "agency_worker", "msd"),
    "lMSD": Identity("lMSD-1", "agency_lead", "msd"),
    "mem": Identity("mem-1", "leadership_group_member", "msd"),
    "chair": Identity("chair-1", "leadership_group_chair", "iwi"),
    "aud": Identity("aud-1", "auditor", "oversight"),
    "pub": Identity("pub-1", "public", "oversight"),
}
COLUMNS = list(CALLERS)

# row                       adm pl  cmd plOT wOT lOT wIW lIW wMSD lMSD mem chair aud pub
IN_SCOPE = """
plan in Mataura              A   A   A   F    F   F   F   F   F    F    F   F     F   F
launch P2 (planned)          A   A   A   N    F   F   F   F   F    F    F   F     F   F
conclude C (launched)        A   A   A   F    F   F   F   F   F    F    F   F     F   F
arrest in L (launched)       A   A   A   F    F   F   F   F   F    F    F   F     F   F
arrest in P (planned)        A   A   A   N    F   F   F   F   F    F    F   F     F   F
seizure in L                 A   A   A   F    F   F   F   F   F    F    F   F     F   F
witness in L                 A   A   A   F    F   F   F   F   F    F    F   F     F   F
stage support in P           A   A   A   N    F   F   F   F   F    F    F   F     F   F
staged support of P          A   A   A   N    F   F   F   F   F    F    F   F     A   F
operation P (planned)        A   A   A   N    N   N   N   N   N    N    N   N     A   F
hold summary of P            A   A   A   N    N   N   N   N   N    N    N   N     A   F
operation L (launched)       A   A   A   A    A   A   A   A   A    A    A   A     A   F
hold summary of L            A   A   A   A    A   A   A   A   A    A    A   A     A   F
operations                   A   A   A   A    A   A   A   A   A    A    A   A     A   F
cases                        A   A   A   A    A   A   A   A   A    A    A   A     A   F
tasks                        A   A   A   A    A   A   A   A   A    A    A   A     A   F
task H1 child check          A   A   A   A    A   A   A   A   A    A    A   A     A   F
accept child check           F   F   F   F    A   A   F   F   F    F    F   F     F   F
decline child check          F   F   F   F    A   A   F   F   F    F    F   F     F   F
place H3 liaison with msd    A   F   F   F    F   F   F   F   F    F    A   A     F   F
assign H4 needs              F   F   F   F    F   F   A   A   F    F    F   F     F   F
start H5 needs               F   F   F   F    F   F   A   A   F    F    F   F     F   F
consent on H7 needs          F   F   F   F    F   F   A   A   F    F    F   F     F   F
complete H6 needs            F   F   F   F    F   F   A   A   F    F    F   F     F   F
close H8 needs               F   F   F   F    F   F   A   A   F    F    F   F     F   F
note on H9 needs             F   F   F   F    F   F   A   A   F    F    F   F     F   F
note on H3 child check       F   F   F   F    F   F   F   F   F    F    F   F     F   F
details of H4                F   F   F   F    F   F   A   A   F    F    F   F     A   F
reads of H4                  F   F   F   F    F   F   F   F   F    F    F   A     A   F
erase HE                     F   F   F   F    F   F   F   F   F    F    F   A     F   F
playbooks                    A   A   A   A    A   A   A   A   A    A    A   A     A   F
adopt national playbook      A   F   F   F    F   F   F   F   F    F    F   A     F   F
timeline of L                A   F   F   F    F   F   F   F   F    F    F   F     A   F
state of L now               A   F   F   F    F   F   F   F   F    F    F   F     A   F
figures of L                 A   F   F   F    F   F   F   F   F    F    A   A     A   F
export of L                  A   F   F   F    F   F   F   F   F    F    F   F     A   F
verify                       A   F   F   F    F   F   F   F   F    F    F   F     A   F
dead letters                 A   F   F   F    F   F   F   F   F    F    F   F     A   F
indicators of Mataura        A   A   A   A    A   A   A   A   A    A    A   A     A   A
outcomes of Mataura          A   A   A   A    A   A   A   A   A    A    A   A     A   A
plans                        A   A   A   A    A   A   A   A   A    A    A   A     A   F
plan of Mataura              A   A   A   A    A   A   A   A   A    A    A   A     A   F
milestones                   A   A   A   A    A   A   A   A   A    A    A   A     A   F
add a milestone to Mataura   A   F   F   F    F   F   F   F   F    F    A   A     F   F
check in MSD's milestone     F   F   F   F    F   F   F   F   A    A    A   A     F   F
sign off Mataura's gate      F   F   F   F    F   F   F   F   F    F    A   A     F   F
decide Mataura's gate        F   F   F   F    F   F   F   F   F    F    F   A     F   F
register a programme         A   F   F   F    F   F   F   F   F    F    A   A     F   F
vote on the programme        F   F   F   F    F   F   F   F   F    F    A   A     F   F
decide the programme         F   F   F   F    F   F   F   F   F    F    A   A     F   F
spend on the programme       F   F   F   F    F   F   F   A   F    F    F   F     F   F
results of the programme     F   F   F   F    F   F   F   A   F    F    F   F     F   F
programmes                   A   A   A   A    A   A   A   A   A    A    A   A     A   F
start an import              A   F   F   F    F   A   F   A   F    A    A   A     F   F
rows for MSD's import        A   F   F   F    F   F   F   F   F    A    A   F     F   F
commit MSD's import          A   F   F   F    F   F   F   F   F    A    A   F     F   F
imports                      A   A   A   A    A   A   A   A   A    A    A   A     A   F
agencies                     A   A   A   A    A   A   A   A   A    A    A   A     A   A
register an agency           A   F   F   F    F   F   F   F   F    F    F   A     F   F
contacts of Oranga Tamariki  A   F   F   F    F   F   F   F   F    F    F   A     F   F
add a contact to OT          A   F   F   F    F   F   F   F   F    F    F   A     F   F
notifications                A   A   A   A    A   A   A   A   A    A    A   A     A   F
"""

# The same people with tokens limited to Gore, against the same Mataura items (and Gore's).
GORE = {
    "g_pl": Identity("g-pl-1", "planner", "police", places=("Gore",)),
    "g_wOT": Identity("g-wOT-1", "agency_worker", "oranga_tamariki", places=("Gore",)),
    "g_wIW": Identity("g-wIW-1", "agency_worker", "iwi_provider", places=("Gore",)),
    "g_mem": Identity("g-mem-1", "leadership_group_member", "msd", places=("Gore",)),
    "g_chair": Identity("g-chair-1", "leadership_group_chair", "iwi", places=("Gore",)),
    "g_aud": Identity("g-aud-1", "auditor", "oversight", places=("Gore",)),
}

# row                       g_pl g_wOT g_wIW g_mem g_chair g_aud
OUT_OF_SCOPE = """
plan in Mataura              F    F     F     F     F       F
arrest in L (launched)       N    F     F     F     F       F
arrest in G                  A    F     F     F     F       F
launch P2 (planned)          N    F     F     F     F       F
operation L (launched)       N    N     N     N     N       N
hold summary of L            N    N     N     N     N       N
task H1 child check          N    N     N     N     N       N
accept child check           F    N     N     N     N       F
place H3 liaison with msd    F    N     N     N     N       F
assign H4 needs              F    N     N     N     N       F
details of H4                N    N     N     N     N       N
reads of H4                  F    F     F     F     N       N
erase HE                     F    F     F     F     N       F
adopt Mataura playbook       F    F     F     F     F       F
timeline of L                F    F     F     F     F       N
timeline of Mataura          F    F     F     F     F       F
figures of Mataura           F    F     F     F     F       F
verify                       F    F     F     F     F       F
dead letters                 F    F     F     F     F       F
plan of Mataura              N    N     N     N     N       N
check in MSD's milestone     F    N     N     N     N       F
sign off Mataura's gate      F    F     F     N     N       F
spend on the programme       F    F     F     F     F       F
commit MSD's import          F    F     F     N     N       F
"""


READING = {
    "place": "Mataura",
    "indicator": "wastewater_drug_load",
    "series": "meth",
    "period_start": "2026-01-01",
    "value": "120",
    "unit": "mg/1000 people/day",
    "source": "ESR",
}


@dataclass(frozen=True)
class Request:
    """One row's request. A step on a task names the tasks it may use (``{item}`` in the url):
    the refusals and the first caller allowed use the first, each further caller allowed a
    task of its own in the same state, since an allowed step moves its task on."""

    method: str
    url: str
    body: Any = None
    params: dict[str, str] | None = None
    items: list[str] = field(default_factory=list)

    def on(self, item: int) -> Request:
        if not self.items:
            return self
        chosen = self.items[min(item, len(self.items) - 1)]
        return Request(self.method, self.url.replace("{item}", chosen), self.body, self.params)


async def make_world(system: InProcessSystem) -> World:
    world = World(system)
    await system.start_service("notify")  # contact points and notifications are notify's
    await world.plan("L", "Mataura", launch=True)
    await world.plan("P", "Mataura", launch=False)
    await world.plan("P2", "Mataura", launch=False)
    await world.plan("C", "Mataura", launch=True)
    await world.plan("G", "Gore", launch=True)
    households = [f"H{n}" for n in range(1, 10)]
    for household in [*households, "HE"]:
        await world.arrest("L", household)
    await world.arrest("G", "HG")
    await world.settle([*households, "HE", "HG"])
    iwi = CALLERS["wIW"]
    for household in households[3:]:
        await world.step(iwi, household, "needs_assessment", "accept")
    await world.step(iwi, "H5", "needs_assessment", ("assign", {"worker_ref": "NAV-1"}))
    await world.step(iwi, "H6", "needs_assessment", ("assign", {"worker_ref": "NAV-1"}), "start")
    await build_world(world)
    return world


async def build_world(world: World) -> None:
    """Mataura's plan (opened by operation K's conclusion), a milestone MSD owns, a programme
    the iwi provider runs with $10,000 committed on three panel members' votes, and an
    indicator import MSD's lead started."""
    await world.plan("K", "Mataura", launch=True)
    await world.post(PLANNER, f"/operations/{world.operations['K']}/conclude")
    chair = CALLERS["chair"]
    await world.wait_for("/milestones", lambda found: any(m["place"] == "Mataura" for m in found))
    added = await world.post(
        chair,
        "/plans/Mataura/milestones",
        {"label": "MSD's benefit review", "owner_agency": "msd", "due_at": "2026-06-01T00:00:00Z"},
    )
    world.extra["milestone"] = added["milestone_id"]
    programme = await world.post(
        chair,
        "/programmes",
        {
            "name": "Rangatahi mentoring",
            "provider": "iwi_provider",
            "place": "Mataura",
            "focus_area": "rangatahi_pathway",
            "funding_source": "CRWS fund",
            "agreement_kind": "outcome_agreement",
        },
    )
    world.extra["programme"] = programme["programme_id"]
    vote = {"decision": "approved", "amount": "10000.00"}
    for n in range(3):
        voter = Identity(f"panel-{n}", "leadership_group_member", "msd")
        await world.post(voter, f"/programmes/{programme['programme_id']}/panel-votes", vote)
    await world.post(chair, f"/programmes/{programme['programme_id']}/panel-decisions", vote)
    started = await world.post(
        CALLERS["lMSD"], "/indicator-imports", {"file_name": "loads.csv", "rows_expected": 1}
    )
    world.extra["import"] = started["import_id"]
    await world.post(
        CALLERS["lMSD"], f"/indicator-imports/{started['import_id']}/rows", {"rows": [READING]}
    )
    await world.wait_for(
        "/milestones", lambda found: any(m["milestone_id"] == added["milestone_id"] for m in found)
    )


def requests(world: World) -> dict[str, Request]:
    op = world.operations
    task = world.task
    case = {h: c["case_id"] for h, c in world.cases.items()}
    reason = {"reason": "planning tonight's visit"}
    extra = world.extra
    return {
        "plan in Mataura": Request("POST", "/operations", operation("Mataura")),
        "launch P2 (planned)": Request("POST", f"/operations/{op['P2']}/launch"),
        "conclude C (launched)": Request("POST", f"/operations/{op['C']}/conclude"),
        "arrest in L (launched)": Request(
            "POST", f"/operations/{op['L']}/arrests", arrest_of("HX", "PX")
        ),
        "arrest in P (planned)": Request(
            "POST", f"/operations/{op['P']}/arrests", arrest_of("HX", "PX")
        ),
        "arrest in G": Request("POST", f"/operations/{op['G']}/arrests", arrest_of("HY", "PY")),
        "seizure in L": Request(
            "POST",
            f"/operations/{op['L']}/seizures",
            {"kind": "cash", "description": "cash", "quantity": 1, "unit": "item"},
        ),
        "witness in L": Request(
            "POST",
            f"/operations/{op['L']}/witnesses",
            {"witness_ref": "W-1", "household_ref": "HW"},
        ),
        "stage support in P": Request(
            "POST",
            f"/operations/{op['P']}/staged-support",
            {"household_ref": "HS", "expected_children": 1},
        ),
        "staged support of P": Request("GET", f"/operations/{op['P']}/staged-support"),
        "operation P (planned)": Request("GET", f"/operations/{op['P']}"),
        "hold summary of P": Request("GET", f"/operations/{op['P']}/hold"),
        "operation L (launched)": Request("GET", f"/operations/{op['L']}"),
        "hold summary of L": Request("GET", f"/operations/{op['L']}/hold"),
        "operations": Request("GET", "/operations"),
        "cases": Request("GET", "/cases"),
        "tasks": Request("GET", "/tasks"),
        "task H1 child check": Request("GET", f"/tasks/{task('H1', 'child_safety_check')}"),
        "accept child check": Request(
            "POST",
            "/tasks/{item}/accept",
            items=[task("H1", "child_safety_check"), task("H9", "child_safety_check")],
        ),
        "decline child check": Request(
            "POST",
            "/tasks/{item}/decline",
            {"reason_code": "no_capacity"},
            items=[task("H2", "child_safety_check"), task("H5", "child_safety_check")],
        ),
        "place H3 liaison with msd": Request(
            "POST",
            "/tasks/{item}/offer",
            {"to_agency": "msd"},
            items=[task("H3", "family_liaison_contact")],
        ),
        "assign H4 needs": Request(
            "POST",
            "/tasks/{item}/assign",
            {"worker_ref": "NAV-2"},
            items=[task("H4", "needs_assessment")],
        ),
        "start H5 needs": Request(
            "POST",
            "/tasks/{item}/start",
            items=[task("H5", "needs_assessment")],
        ),
        "consent on H7 needs": Request(
            "POST",
            "/tasks/{item}/consent",
            {"referral_agency": "health_nz", "consent": "given"},
            items=[task("H7", "needs_assessment")],
        ),
        "complete H6 needs": Request(
            "POST",
            "/tasks/{item}/complete",
            {"outcome": "referred to AOD treatment"},
            items=[task("H6", "needs_assessment")],
        ),
        "close H8 needs": Request(
            "POST",
            "/tasks/{item}/close",
            {"reason_code": "moved_away"},
            items=[task("H8", "needs_assessment")],
        ),
        "note on H9 needs": Request(
            "POST",
            "/tasks/{item}/note",
            {"text": "visited; all well"},
            items=[task("H9", "needs_assessment")],
        ),
        "note on H3 child check": Request(
            "POST",
            "/tasks/{item}/note",
            {"text": "not ours to write"},
            items=[task("H3", "child_safety_check")],
        ),
        "details of H4": Request("GET", f"/cases/{case['H4']}/personal", params=reason),
        "reads of H4": Request("GET", f"/cases/{case['H4']}/reads"),
        "erase HE": Request(
            "POST", "/households/HE/erasure", {"reason": "privacy request PR-2026-0042"}
        ),
        "playbooks": Request("GET", "/playbooks"),
        "adopt national playbook": Request(
            "POST", "/playbooks", {"toml": NATIONAL, "reason": "re-adopted"}
        ),
        "adopt Mataura playbook": Request(
            "POST",
            "/playbooks",
            {"toml": NATIONAL, "place": "Mataura", "reason": "local rules"},
        ),
        "timeline of L": Request("GET", "/audit/timeline", params={"operation_id": op["L"]}),
        "timeline of Mataura": Request("GET", "/audit/timeline", params={"place": "Mataura"}),
        "state of L now": Request(
            "GET",
            "/audit/as-of",
            params={"operation_id": op["L"], "at": "2030-01-01T00:00:00+13:00"},
        ),
        "figures of L": Request("GET", "/audit/figures", params={"operation_id": op["L"]}),
        "figures of Mataura": Request("GET", "/audit/figures", params={"place": "Mataura"}),
        "export of L": Request("GET", "/audit/export", params={"operation_id": op["L"]}),
        "verify": Request("GET", "/audit/verify"),
        "dead letters": Request("GET", "/dead-letters"),
        "indicators of Mataura": Request("GET", "/indicators", params={"place": "Mataura"}),
        "outcomes of Mataura": Request(
            "GET", "/places/Mataura/outcomes", params={"indicator": "wastewater_drug_load"}
        ),
        "plans": Request("GET", "/plans"),
        "plan of Mataura": Request("GET", "/plans/Mataura"),
        "milestones": Request("GET", "/milestones"),
        "add a milestone to Mataura": Request(
            "POST",
            "/plans/Mataura/milestones",
            {"label": "Council check", "owner_agency": "msd", "due_at": "2026-07-01T00:00:00Z"},
        ),
        "check in MSD's milestone": Request(
            "POST",
            f"/milestones/{extra['milestone']}/check-ins",
            {"status": "on_track", "note": "review booked"},
        ),
        "sign off Mataura's gate": Request("POST", "/plans/Mataura/gate/sign-offs"),
        "decide Mataura's gate": Request(
            "POST", "/plans/Mataura/gate", {"evidence": ["ROCC minutes 2026-05"]}
        ),
        "register a programme": Request(
            "POST",
            "/programmes",
            {
                "name": "Whanau navigation",
                "provider": "iwi_provider",
                "place": "Mataura",
                "focus_area": "methamphetamine_harm",
                "funding_source": "CRWS fund",
                "agreement_kind": "conditional_grant",
            },
        ),
        "vote on the programme": Request(
            "POST",
            f"/programmes/{extra['programme']}/panel-votes",
            {"decision": "approved", "amount": "500.00"},
        ),
        "decide the programme": Request(
            "POST",
            f"/programmes/{extra['programme']}/panel-decisions",
            {"decision": "approved", "amount": "500.00"},
        ),
        "spend on the programme": Request(
            "POST",
            f"/programmes/{extra['programme']}/spend",
            {"amount": "100.00", "period": "2026-Q2"},
        ),
        "results of the programme": Request(
            "POST",
            f"/programmes/{extra['programme']}/results",
            {"period": "2026-Q2", "people_engaged": 12},
        ),
        "programmes": Request("GET", "/programmes"),
        "start an import": Request(
            "POST", "/indicator-imports", {"file_name": "crime.csv", "rows_expected": 1}
        ),
        "rows for MSD's import": Request(
            "POST", f"/indicator-imports/{extra['import']}/rows", {"rows": [READING]}
        ),
        "commit MSD's import": Request("POST", f"/indicator-imports/{extra['import']}/commit"),
        "imports": Request("GET", "/indicator-imports"),
        "agencies": Request("GET", "/agencies"),
        "register an agency": Request(
            "POST",
            "/agencies",
            {
                "code": f"trust_{uuid4().hex[:8]}",
                "name": "Whānau Ora navigators",
                "kind": "community_provider",
                "places": ["Mataura"],
                "reason": "joined the leadership group in May",
            },
        ),
        "contacts of Oranga Tamariki": Request("GET", "/agencies/oranga_tamariki/contacts"),
        "add a contact to OT": Request(
            "POST",
            "/agencies/oranga_tamariki/contacts",
            {"url": "http://127.0.0.1:9/hooks/chb", "reason": "the intake desk's case system"},
        ),
        "notifications": Request("GET", "/notifications", params={"agency": "oranga_tamariki"}),
    }


def grid(text: str, columns: list[str]) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for line in text.strip().splitlines():
        (*words,) = line.split()
        name, answers = " ".join(words[: -len(columns)]), words[-len(columns) :]
        assert all(a in "AFN" for a in answers), line
        rows[name] = dict(zip(columns, answers, strict=True))
    return rows


def matches(expected: str, status: int) -> bool:
    if expected == "F":
        return status == 403
    if expected == "N":
        return status == 404
    return 200 <= status < 300 or status == 409


async def ask(system: InProcessSystem, who: Identity, request: Request) -> Any:
    return await system.api.request(
        request.method,
        request.url,
        json=request.body,
        params=request.params,
        headers=bearer(who),
    )


async def run(
    world: World, rows: dict[str, dict[str, str]], callers: dict[str, Identity]
) -> list[str]:
    """Each row's refusals first, each of which must leave its task as it was; then each
    caller allowed, on a task of its own where the row names several."""
    wrong = []
    made = requests(world)
    for name, answers in rows.items():
        request = made[name]
        task = request.items[0] if request.items else None
        before = await world.task_now(task) if task else None
        refused = [c for c, a in answers.items() if a != "A"]
        allowed = [c for c, a in answers.items() if a == "A"]
        for column in refused:
            response = await ask(world.system, callers[column], request.on(0))
            if not matches(answers[column], response.status_code):
                wrong.append(answer(name, column, answers[column], response))
        if task is not None and await world.task_now(task) != before:
            wrong.append(f"{name}: a refused request changed the task")
        for n, column in enumerate(allowed):
            response = await ask(world.system, callers[column], request.on(n))
            if not matches("A", response.status_code):
                wrong.append(answer(name, column, "A", response))
    return wrong


def answer(name: str, column: str, expected: str, response: Any) -> str:
    return (
        f"{name} as {column}: expected {expected}, got {response.status_code} {response.text[:160]}"
    )


@pytest.fixture
async def world(system: InProcessSystem) -> AsyncIterator[World]:
    yield await make_world(system)


async def test_every_role_action_relation_and_state_in_scope_gets_the_answer_written_here(
    world: World,
) -> None:
    wrong = await run(world, grid(IN_SCOPE, COLUMNS), CALLERS)
    assert not wrong, "\n".join(wrong)


async def test_outside_the_tokens_scope_an_item_is_not_found_and_nothing_can_be_done(
    world: World,
) -> None:
    wrong = await run(world, grid(OUT_OF_SCOPE, list(GORE)), GORE)
    assert not wrong, "\n".join(wrong)


async def test_a_hidden_item_is_answered_exactly_as_an_unknown_one(world: World) -> None:
    """Same status, same words: nothing in the answer tells a hidden task from a missing one,
    nor a planned operation outside the planning cell from an operation that never was."""
    hidden_task, unknown_task = world.task("H1", "child_safety_check"), str(uuid4())
    gore_worker = GORE["g_wOT"]
    for task_id in (hidden_task, unknown_task):
        response = await ask(world.system, gore_worker, Request("GET", f"/tasks/{task_id}"))
        assert (response.status_code, response.json()["detail"]) == (404, f"no task {task_id}")
    planned, unknown_op = world.operations["P"], str(uuid4())
    for op in (planned, unknown_op):
        for url in (f"/operations/{op}", f"/operations/{op}/arrests"):
            method = "POST" if url.endswith("arrests") else "GET"
            body = arrest_of("HZ") if method == "POST" else None
            response = await ask(world.system, CALLERS["plOT"], Request(method, url, body))
            assert (response.status_code, response.json()["detail"]) == (
                404,
                f"no operation {op}",
            ), url


async def test_lists_show_nothing_outside_the_tokens_scope(world: World) -> None:
    """Operations, cases, tasks, milestones, plans, programmes, playbooks and imports: a token
    limited to Gore lists Gore's alone (a playbook adopted for Mataura, or for one of its
    operations, and an import holding a Mataura reading, are not shown to it)."""
    chair = CALLERS["chair"]
    for body in (
        {"toml": NATIONAL, "place": "Mataura", "reason": "local rules"},
        {"toml": NATIONAL, "operation_id": world.operations["L"], "reason": "for this raid"},
    ):
        adopted = await ask(world.system, chair, Request("POST", "/playbooks", body))
        assert adopted.status_code == 201, adopted.text
    await world.wait_for("/playbooks", lambda found: sum(not p["default"] for p in found) >= 2)
    unscoped = await ask(world.system, chair, Request("GET", "/indicator-imports"))
    assert unscoped.status_code == 200
    for who in GORE.values():
        for url in (
            "/operations",
            "/cases",
            "/tasks",
            "/milestones",
            "/plans",
            "/programmes",
            "/playbooks",
            "/indicator-imports",
        ):
            response = await ask(world.system, who, Request("GET", url))
            if response.status_code == 403:
                continue
            assert response.status_code == 200, (who.subject, url, response.text)
            shown = response.json()
            places = {item["place"] for item in shown if "place" in item}
            assert places <= {"Gore"}, (who.subject, url, places)
            scopes = {item["scope"] for item in shown if "scope" in item}
            assert not any("mataura" in s or world.operations["L"] in s for s in scopes), scopes
            for item in shown:
                assert set(item.get("places", [])) <= {"Gore"}, (who.subject, url, item)
