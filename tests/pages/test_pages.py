"""The pages in a real browser (Debian's chromium through Playwright), against the real system,
everyone signing in through a real OpenID Connect provider: one system for the module, each
person in a browser context of their own. axe-core checks every page shown."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from services.api.identity import Identity
from services.api.pages.render import NZ
from services.runtime.embedded_nats import EmbeddedNats
from tests.support.pages import PagesSystem, checked, pages_system, watched
from tests.support.system import eventually

pytestmark = [pytest.mark.pages, pytest.mark.integration]

PLANNER = Identity("planner-7", "planner", "police")
OT_WORKER = Identity("ot-worker-3", "agency_worker", "oranga_tamariki")
MSD_WORKER = Identity("msd-worker-5", "agency_worker", "msd")
POLICE_WORKER = Identity("police-worker-2", "agency_worker", "police")
IWI_WORKER = Identity("iwi-worker-4", "agency_worker", "iwi_provider")
CHAIR = Identity("chair-1", "leadership_group_chair", "public_service_commission")
AUDITOR = Identity("auditor-9", "auditor", "oversight")
COUNCIL = Identity("council-lead-1", "agency_lead", "grey_district_council")
IWI_MEMBER = Identity("lg-iwi-1", "leadership_group_member", "iwi")
POLICE_MEMBER = Identity("lg-police-1", "leadership_group_member", "police")


@pytest.fixture(scope="module")
async def pages(
    nats_server: EmbeddedNats, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PagesSystem]:
    async with pages_system(nats_server, tmp_path_factory.mktemp("pages")) as running:
        yield running


async def test_an_arrest_reaches_the_inbox_and_is_worked_to_the_end(pages: PagesSystem) -> None:
    _, planner = await pages.person(PLANNER)
    await checked(planner, "home")
    await planner.get_by_role("link", name="Operations").first.click()
    await checked(planner, "operations")
    await planner.fill("#o-name", "Operation Pakari")
    await planner.fill("#o-district", "Grey")
    await planner.fill("#o-place", "Greymouth")
    await planner.fill("#o-target", "supply network")
    await planner.fill("#o-start", "2026-03-01T05:00")
    await planner.get_by_role("button", name="Plan", exact=True).click()
    await expect(planner.locator("h1")).to_have_text("Operation Pakari")
    await expect(planner.locator(".facts").first).to_contain_text("NZDT")
    await planner.fill("#st-household", "HH-9")
    await planner.fill("#st-children", "2")
    await planner.click("button:has-text('Stage support')")
    await expect(planner.locator(".facts").first).to_contain_text("Planned")
    await planner.click("button:has-text('Launch')")
    await expect(planner.locator(".facts").first).to_contain_text("Launched")
    await checked(planner, "operation")

    # Oranga Tamariki's worker has the inbox open before the arrest.
    _, ot = await pages.person(OT_WORKER)
    await ot.goto(f"{pages.base_url}/inbox")
    # The agency by its name in the register, not its code.
    await expect(ot.locator("h1")).to_contain_text("Oranga Tamariki, Ministry for Children")
    # So is the header every page carries.
    await expect(ot.locator(".whoami")).to_have_text(
        "Agency worker, Oranga Tamariki, Ministry for Children"
    )
    # The support staged for HH-9 became a task of its own at launch.
    await expect(ot.locator("#inbox-list caption")).to_contain_text("1 task,")

    await planner.fill("#a-person", "P-1")
    await planner.fill("#a-household", "HH-7")
    await planner.fill("#a-charges", "supply methamphetamine")
    await planner.fill("#a-child-0", "C-1")
    await planner.fill("#a-age-0", "6")
    await planner.check("#a-only")
    await planner.click("button:has-text('Record arrest')")
    await expect(planner.locator("h1")).to_have_text("Operation Pakari")
    recorded = time.monotonic()
    # Without a reload: the events stream says the inbox changed, htmx fetches the list.
    await expect(ot.locator("#inbox-list caption")).to_contain_text("2 tasks", timeout=2000)
    assert time.monotonic() - recorded < 2.0
    await checked(ot, "inbox")

    await planner.select_option("#s-kind", "drugs")
    await planner.fill("#s-desc", "methamphetamine")
    await planner.fill("#s-qty", "1.2")
    await planner.fill("#s-unit", "kg")
    await planner.click("button:has-text('Record seizure')")
    await expect(planner.locator("h1")).to_have_text("Operation Pakari")

    # Soonest due first: HH-7's check, due in 2 hours (the only carer was arrested).
    await ot.get_by_role("link", name="Child safety check").first.click()
    await expect(ot.locator("h1")).to_have_text("Child safety check")
    await checked(ot, "task-offered")
    task_url = ot.url
    await ot.click("button:has-text('Accept')")
    await expect(ot.locator(".facts").first).to_contain_text("Accepted")
    await ot.click("button:has-text('Assign')")  # to the worker: the field holds their own ref
    await expect(ot.locator(".facts").first).to_contain_text(OT_WORKER.subject)
    await ot.click("button:has-text('Start')")
    await ot.fill("#complete-outcome", "children safe with their aunt")
    await ot.click("button:has-text('Complete')")
    await expect(ot.locator(".facts").first).to_contain_text("Completed")
    history = ot.locator(".history")
    for step in ("Opened", "Accepted", "Assigned", "Started", "Completed"):
        await expect(history).to_contain_text(step)
    await expect(history).to_contain_text("withheld")  # the outcome is personal
    await checked(ot, "task-completed")

    # The household: tasks with agency and status only, personal details after a reason.
    await ot.click("text=The household")
    await expect(ot.locator("table")).to_contain_text("Needs assessment")
    await checked(ot, "household")
    await ot.fill("#read-reason", "planning the follow-up visit")
    await ot.click("button:has-text('Show personal details')")
    await expect(ot.locator("main")).to_contain_text("Your read was recorded")
    await expect(ot.locator("main")).to_contain_text("children safe with their aunt")
    await checked(ot, "household-read")

    # MSD never sees the child-safety check, and may not open the household.
    _, msd = await pages.person(MSD_WORKER)
    await msd.goto(f"{pages.base_url}/inbox")
    await expect(msd.locator("#inbox-list")).not_to_contain_text("Child safety check")
    household_url = ot.url
    refused = await msd.goto(household_url)
    assert refused is not None and refused.status == 403
    await checked(msd, "refused")

    # A form posted without the session's CSRF token is refused, and nothing is done.
    forged = await ot.request.post(
        task_url.replace("#history", "") + "/note", form={"text": "forged"}
    )
    assert forged.status == 403
    task_id = task_url.rsplit("/", 1)[-1].split("#")[0]
    task = await pages.api_get(AUDITOR, f"/tasks/{task_id}")
    assert [s["change"] for s in task["history"]][-1] == "completed"

    # The auditor finds the steps on the timeline, and who read the household.
    _, auditor = await pages.person(AUDITOR)
    operation_id = await operation_of(pages)
    await auditor.goto(f"{pages.base_url}/auditor?operation={operation_id}")
    for change in ("accepted", "assigned", "completed"):
        await expect(auditor.locator("table")).to_contain_text(f"SupportTaskChanged ({change})")
    await checked(auditor, "audit-timeline")
    export = await auditor.request.get(
        f"{pages.base_url}/auditor/export?operation={operation_id}&format=csv"
    )
    assert export.ok and export.headers["repr-digest"].startswith("sha-256=:")
    assert "SupportTaskChanged" in await export.text()
    case_id = household_url.rsplit("/", 1)[-1]
    await auditor.goto(f"{pages.base_url}/auditor/reads?case={case_id}")
    await expect(auditor.locator("table")).to_contain_text("planning the follow-up visit")
    await checked(auditor, "audit-reads")
    await auditor.goto(f"{pages.base_url}/auditor/verify")
    await expect(auditor.locator("main")).to_contain_text("matches its hash chain")
    await checked(auditor, "audit-verify")

    # The operation ends: Build opens Greymouth's resilience plan (the board shows it).
    await planner.click("button:has-text('Conclude the operation')")
    await expect(planner.locator(".facts").first).to_contain_text("Concluded")
    await auditor.goto(f"{pages.base_url}/auditor/as-of?operation={operation_id}&at={nz_now()}")
    await expect(auditor.locator("main")).to_contain_text("Child safety check")
    await checked(auditor, "audit-as-of")


def nz_now() -> str:
    """Now as a datetime-local field holds it: New Zealand time, no zone."""
    return datetime.now(NZ).strftime("%Y-%m-%dT%H:%M:%S")


async def operation_of(pages: PagesSystem) -> str:
    operations: list[dict[str, Any]] = await pages.api_get(AUDITOR, "/operations")
    return str(operations[0]["operation_id"])


async def test_the_chair_places_an_unplaced_task(pages: PagesSystem) -> None:
    """Police and the iwi provider both decline the family-liaison contact: it is unplaced
    until the chair places it from the board."""
    tasks = await eventually(
        lambda: pages.api_get(AUDITOR, "/tasks"),
        lambda found: any(t["kind"] == "family_liaison_contact" for t in found),
        what="the family-liaison task",
    )
    liaison = next(t for t in tasks if t["kind"] == "family_liaison_contact")
    url = f"/tasks/{liaison['task_id']}/decline"
    await pages.api_post(POLICE_WORKER, url, {"reason_code": "no_capacity"})
    # The iwi provider declines on the task's page, with a coded reason and words.
    _, iwi = await pages.person(IWI_WORKER)
    await iwi.goto(f"{pages.base_url}/inbox/tasks/{liaison['task_id']}")
    await iwi.select_option("#decline-code", "other")
    await iwi.fill("#decline-reason", "whanau asked for a different provider")
    await iwi.click("button:has-text('Decline')")
    await expect(iwi.locator(".facts").first).to_contain_text("Unplaced")
    programme = {
        "name": "Rangatahi pathway",
        "provider": "iwi_provider",
        "place": "Greymouth",
        "focus_area": "rangatahi_pathway",
        "funding_source": "Proceeds of Crime Fund",
        "agreement_kind": "outcome_agreement",
    }
    await pages.api_post(CHAIR, "/programmes", programme)
    _, chair = await pages.person(CHAIR)
    await chair.goto(f"{pages.base_url}/board")
    await expect(chair.locator("#unplaced-h")).to_contain_text("(1)")
    await expect(chair.locator("main")).to_contain_text("Median hours from an offer")
    await expect(chair.locator("main")).to_contain_text("Rangatahi pathway")
    await checked(chair, "board")
    await chair.select_option(f"#offer-{liaison['task_id']}", "victim_support")
    await chair.click(f"form:has(#offer-{liaison['task_id']}) button")
    await expect(chair.locator(".facts").first).to_contain_text("victim_support")
    await chair.goto(f"{pages.base_url}/board")
    await expect(chair.locator("#unplaced-h")).to_contain_text("(0)")

    # The plan Build opened when the operation concluded: a milestone added from its page.
    await chair.get_by_role("link", name="Greymouth").click()
    await chair.fill("#m-label", "Youth hub open")
    await chair.select_option("#m-owner", "grey_district_council")
    await chair.fill("#m-due", "2027-03-01T09:00")
    await chair.click("button:has-text('Add milestone')")
    milestones = chair.locator("table").first  # the outcomes' table follows, once there are any
    await expect(milestones).to_contain_text("Youth hub open")
    await expect(milestones).to_contain_text("Mon 1 Mar 2027, 09:00 NZDT")
    await checked(chair, "plan")


async def test_the_gate_is_signed_off_and_decided_and_a_milestone_checked_in(
    pages: PagesSystem,
) -> None:
    """On Greymouth's plan page (the plan the first test's operation opened, the milestone the
    chair added): the owner agency's lead checks the milestone in; members of three agencies,
    iwi among them, and the chair sign off, each signed in as themselves; the chair moves the
    plan to Build on the evidence. A panel member votes on the programme's page."""
    plan_url = f"{pages.base_url}/board/plans/Greymouth"
    _, lead = await pages.person(COUNCIL)
    await lead.goto(plan_url)
    check_in = lead.locator("form:has-text('Check in: Youth hub open')")
    await check_in.locator("select").select_option("at_risk")
    await check_in.locator("textarea").fill("builder pulled out; new tender in January")
    await check_in.locator("button").click()
    await expect(lead.locator("table").first).to_contain_text("At risk")
    await checked(lead, "plan-check-in")

    chair = lead
    for member in (IWI_MEMBER, POLICE_MEMBER, CHAIR):
        _, chair = await pages.person(member)
        await chair.goto(plan_url)
        await chair.click("button:has-text('Sign off the move to Build')")
        await expect(chair.locator("#sign-offs")).to_contain_text(member.subject)
    await checked(chair, "plan-gate")
    await chair.fill("#g-evidence", "Council minutes 2027-02-01, item 4\nIwi hui record, Feb")
    await chair.get_by_role("button", name="Move to Build", exact=True).click()
    await expect(chair.locator(".facts").first).to_contain_text("Build")
    await expect(chair.locator("main")).to_contain_text("Iwi hui record, Feb")

    _, member = await pages.person(IWI_MEMBER)
    await member.goto(f"{pages.base_url}/board")
    await member.get_by_role("link", name="Rangatahi pathway").click()
    await member.fill("#v-amount", "50000")
    await member.click("button:has-text('Vote')")
    await expect(member.locator("main")).to_contain_text("lg-iwi-1 (iwi")
    await checked(member, "programme")


async def test_the_public_page_shows_small_counts_as_under_five(pages: PagesSystem) -> None:
    made = await pages.api_post(
        COUNCIL, "/indicator-imports", {"file_name": "greymouth.csv", "rows_expected": 2}
    )
    rows = [
        {
            "place": "Greymouth",
            "indicator": indicator,
            # In the six months before the first test's operation launched: its baseline.
            "period_start": (date.today() - timedelta(days=45)).replace(day=1).isoformat(),
            "value": value,
            "unit": "count",
            "source": "council",
        }
        for indicator, value in (("referrals_made", 3), ("recorded_crime", 12))
    ]
    await pages.api_post(COUNCIL, f"/indicator-imports/{made['import_id']}/rows", {"rows": rows})
    await pages.api_post(COUNCIL, f"/indicator-imports/{made['import_id']}/commit")
    context = await pages.browser.new_context(viewport={"width": 320, "height": 800})
    page = await watched(context)
    await page.goto(f"{pages.base_url}/public")
    await checked(page, "public-index")
    await page.fill("#p-place", "Greymouth")
    await page.click("button:has-text('Show')")
    latest = page.locator("table").first
    await expect(latest).to_contain_text("<5")
    await expect(latest).to_contain_text("12")
    await expect(latest).not_to_contain_text("3.")
    # Before and after the operation concluded by the first test: charted, the small count
    # neither drawn nor told, in the chart or its table.
    charts = page.locator("svg.chart-svg")
    await expect(charts.first).to_be_visible()
    for svg in await charts.all():
        described = await svg.locator("desc").text_content() or ""
        assert "Before" in described and "3." not in described and ": 3;" not in described
    await expect(page.locator("table").last).not_to_contain_text("3.000")
    await checked(page, "public-320px")


async def test_a_person_whose_claims_name_no_role_is_told_so(pages: PagesSystem) -> None:
    _, page = await pages.at_provider("no-role-1", {"chb_agency": "msd"})
    await expect(page.locator("main")).to_contain_text("your account names no role")
    await checked(page, "no-access")
    _, page = await pages.at_provider(
        "other-agency-1", {"chb_role": "agency_worker", "chb_agency": "acme_security"}
    )
    await expect(page.locator("main")).to_contain_text("not in the agency register")
