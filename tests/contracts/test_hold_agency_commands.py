"""Hold's agency register over NATS request/reply (FastStream's in-memory broker): registering
and changing agencies, what is refused and how, and the commands that name an agency (a
task's offer and referral, a playbook's adoption) checked against hold's own register."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking
from faststream.nats import NatsBroker, TestNatsBroker
from pydantic import BaseModel

from contracts import AffectedChild, AgencyChanged, AgencyRegistered, ArrestRecorded
from contracts.agencies import SEEDED_AGENCIES, SEEDED_CODES
from contracts.commands import AdoptPlaybook, ChangeAgency, ChangeTask, CommandReply, RegisterAgency
from contracts.envelope import Actor, Requester
from services.hold.application import HoldApplication
from services.hold.domain import Agency, SupportTask
from services.hold.playbook import national_playbook
from services.hold.policy import command_from
from services.hold.translation import translate
from services.hold.transport import build_router
from services.runtime.clock import SimulatedClock
from services.runtime.meta import SERVICE_ACTORS
from services.runtime.topology import command_subject

pytestmark = pytest.mark.contract

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
CHAIR = Requester(id="chair-1", agency="public_service_commission", role="leadership_group_chair")
WORKER = Requester(id="w-1", agency="msd", role="agency_worker")
NEW = {
    "code": "te_runanga_o_makaawhio",
    "name": "Te Rūnanga o Makaawhio",
    "kind": "iwi",
    "places": ["Hokitika"],
    "reason": "joins the West Coast leadership group",
}


class Hold:
    def __init__(self, broker: NatsBroker, app: HoldApplication) -> None:
        self.broker = broker
        self.app = app

    async def send(self, command: str, body: BaseModel | dict[str, Any]) -> CommandReply:
        response = await self.broker.request(body, command_subject("hold", command), timeout=5)
        return CommandReply.model_validate(await response.decode())

    def published(self) -> list[Any]:
        notifications = self.app.recorder.select_notifications(start=1, limit=1000)
        return [translate(self.app.mapper.to_domain_event(n)) for n in notifications]


@pytest.fixture
async def hold() -> AsyncIterator[Hold]:
    app = HoldApplication(env=POPO, clock=SimulatedClock())
    app.seed_agencies()
    broker = NatsBroker()
    broker.include_router(build_router(app, lambda: None))
    async with TestNatsBroker(broker) as test_broker:
        yield Hold(test_broker, app)


async def test_the_chair_registers_an_agency_and_hold_publishes_who_and_why(hold: Hold) -> None:
    reply = await hold.send("register_agency", RegisterAgency(**NEW, actor=CHAIR))
    assert (reply.status, reply.result) == (
        201,
        {
            "code": "te_runanga_o_makaawhio",
            "name": "Te Rūnanga o Makaawhio",
            "kind": "iwi",
            "places": ["Hokitika"],
        },
    )
    assert hold.app.agency_registered("te_runanga_o_makaawhio")
    registered = hold.published()[-1]
    assert isinstance(registered, AgencyRegistered)
    assert (registered.code, registered.places, registered.reason) == (
        "te_runanga_o_makaawhio",
        ("Hokitika",),
        NEW["reason"],
    )
    assert registered.actor == Actor(id="chair-1", agency=CHAIR.agency, role=CHAIR.role)


async def test_a_taken_code_is_409_a_worker_403_and_a_bad_kind_422(hold: Hold) -> None:
    assert (await hold.send("register_agency", RegisterAgency(**NEW, actor=CHAIR))).status == 201
    again = await hold.send("register_agency", RegisterAgency(**NEW, actor=CHAIR))
    assert again.status == 409 and "already registered" in (again.error or "")
    seeded = await hold.send(
        "register_agency", RegisterAgency(**{**NEW, "code": "msd"}, actor=CHAIR)
    )
    assert seeded.status == 409
    worker = await hold.send(
        "register_agency", RegisterAgency(**{**NEW, "code": "other"}, actor=WORKER)
    )
    assert worker.status == 403 and "chair" in (worker.error or "")
    bad = await hold.send(
        "register_agency",
        {**NEW, "code": "other", "kind": "gang", "actor": CHAIR.model_dump(mode="json")},
    )
    assert bad.status == 422 and (bad.error or "").startswith("kind:")


async def test_a_change_is_recorded_with_what_changed_and_an_unknown_code_is_404(
    hold: Hold,
) -> None:
    change = ChangeAgency(
        code="victim_support", places=("Greymouth",), reason="West Coast", actor=CHAIR
    )
    reply = await hold.send("change_agency", change)
    assert (reply.status, reply.result["places"]) == (200, ["Greymouth"])
    changed = hold.published()[-1]
    assert isinstance(changed, AgencyChanged)
    assert (changed.code, changed.changed, changed.reason) == (
        "victim_support",
        ("places",),
        "West Coast",
    )
    unknown = ChangeAgency(code="ministry_of_magic", name="Magic", reason="x", actor=CHAIR)
    assert (await hold.send("change_agency", unknown)).status == 404
    by_worker = ChangeAgency(code="msd", name="MSD", reason="x", actor=WORKER)
    assert (await hold.send("change_agency", by_worker)).status == 403


async def an_open_task(hold: Hold) -> UUID:
    """The child-safety check an arrest with a child opens (offered to Oranga Tamariki)."""
    clock = SimulatedClock()
    event = ArrestRecorded(
        event_id=uuid4(),
        occurred_at=clock.now(),
        recorded_at=clock.now(),
        operation_id=uuid4(),
        actor=Actor(id="officer-1", agency="police", role="planner"),
        arrest_id=uuid4(),
        place="Westport",
        person_ref="person-1",
        household_ref="household-1",
        charges=("supply methamphetamine",),
        children=(AffectedChild(child_ref="child-1"),),
        only_carer_present=True,
    )
    hold.app.process_batch([(command_from(event, clock), Tracking("clear", 1))])
    case_id = next(
        e.case_id for e in hold.published() if getattr(e, "kind", None) == "child_safety_check"
    )
    return SupportTask.create_id(case_id, "child_safety_check")


async def test_an_offer_or_a_referral_to_an_unknown_agency_is_422_naming_the_field(
    hold: Hold,
) -> None:
    task_id = await an_open_task(hold)
    offer = ChangeTask(task_id=task_id, action="offer", to_agency="ministry_of_magic", actor=CHAIR)
    refused = await hold.send("change_task", offer)
    assert refused.status == 422
    assert refused.result["errors"] == [
        {"field": "to_agency", "reason": "'ministry_of_magic' is not a registered agency"}
    ]
    assert hold.app.get_task(task_id).agency == "oranga_tamariki"  # nothing changed
    placed = ChangeTask(task_id=task_id, action="offer", to_agency="iwi_provider", actor=CHAIR)
    assert (await hold.send("change_task", placed)).status == 200
    worker = Requester(id="w-2", agency="iwi_provider", role="agency_worker")
    assert (
        await hold.send("change_task", ChangeTask(task_id=task_id, action="accept", actor=worker))
    ).status == 200
    consent = ChangeTask(
        task_id=task_id,
        action="consent",
        referral_agency="helth_nz",
        consent="given",
        actor=worker,
    )
    referral = await hold.send("change_task", consent)
    assert referral.status == 422
    assert referral.result["errors"][0]["field"] == "referral_agency"
    assert "did you mean health_nz?" in referral.result["errors"][0]["reason"]


async def test_a_playbook_naming_unknown_agencies_is_not_adopted_and_each_is_listed(
    hold: Hold,
) -> None:
    document = national_playbook().model_dump()
    document["rules"][0]["task"]["lead_agency"] = "ministry_of_magic"
    document["rules"][1]["task"]["fallback_agencies"] = ["iwi_provider", "oranga_tamarki"]
    reply = await hold.send("adopt_playbook", AdoptPlaybook(document=document, actor=CHAIR))
    assert reply.status == 422
    errors = reply.result["errors"]
    assert len(errors) == 2
    assert "task.lead_agency: 'ministry_of_magic' is not a registered agency" in errors[0]
    assert "task.fallback_agencies[1]: 'oranga_tamarki'" in errors[1]
    assert "did you mean oranga_tamariki?" in errors[1]
    assert hold.app.playbook_in_force(uuid4(), "Westport") == national_playbook()  # unchanged


async def test_an_agency_registered_later_may_be_named_at_once(hold: Hold) -> None:
    assert (await hold.send("register_agency", RegisterAgency(**NEW, actor=CHAIR))).status == 201
    document = national_playbook().model_dump()
    document["rules"][0]["task"]["fallback_agencies"] = ["te_runanga_o_makaawhio"]
    reply = await hold.send("adopt_playbook", AdoptPlaybook(document=document, actor=CHAIR))
    assert reply.status == 201, reply


@pytest.mark.application
def test_seeding_records_each_seeded_agency_once_as_hold_with_a_reason() -> None:
    app = HoldApplication(env=POPO, clock=SimulatedClock())
    assert app.seed_agencies() == len(SEEDED_AGENCIES)
    assert app.seed_agencies() == 0
    notifications = app.recorder.select_notifications(start=1, limit=1000)
    events = [app.mapper.to_domain_event(n) for n in notifications]
    assert sorted(e.code for e in events) == sorted(SEEDED_CODES)
    assert all(isinstance(e, Agency.Registered) for e in events)
    assert {e.meta.actor for e in events} == {SERVICE_ACTORS["hold"]}
    assert all((e.meta.reason or "").startswith("seeded") for e in events)


@pytest.mark.application
def test_two_hold_processes_seeding_one_store_at_once_neither_fails_nor_duplicates(
    tmp_path: Path,
) -> None:
    """The second has decided to record the seeded agencies when the first saves them; its
    save conflicts, it decides again on what is stored, and records nothing."""
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(tmp_path / "hold.sqlite"),
        "SQLITE_LOCK_TIMEOUT": "10",
    }
    first = HoldApplication(env=env, clock=SimulatedClock())
    second = HoldApplication(env=env, clock=SimulatedClock())
    record = second._record
    raced: list[int] = []

    def the_first_saves_just_before(processing_event: Any) -> Any:
        if not raced:
            raced.append(first.seed_agencies())
        return record(processing_event)

    second._record = the_first_saves_just_before  # type: ignore[method-assign]
    assert second.seed_agencies() == 0
    assert raced == [len(SEEDED_AGENCIES)]
    notifications = first.recorder.select_notifications(start=1, limit=1000)
    assert len(notifications) == len(SEEDED_AGENCIES)
    assert all(second.agency_registered(a.code) for a in SEEDED_AGENCIES)
    first.close()
    second.close()


def test_a_blank_name_or_reason_is_refused_and_the_schema_says_so() -> None:
    """What is refused for saying nothing (only spaces) is refused by the schema too, so a
    client reading the document, and the fuzzing, know it before sending (a fuzzed PATCH
    /agencies/{code} with a blank name was answered 422 for data its schema called valid)."""
    from contracts.commands import AgencyChange, ErasureDetails

    change = AgencyChange.model_json_schema()["properties"]
    erasure = ErasureDetails.model_json_schema()["properties"]
    # Written out by hand: the fields a person must fill with something.
    said = [
        change["name"]["anyOf"][0],
        change["reason"],
        erasure["reason"],
        RegisterAgency.model_json_schema()["properties"]["name"],
    ]
    assert [field.get("pattern") for field in said] == [r"\S", r"\S", r"\S", r"\S"]
    for blank in (" ", "\t\n"):
        with pytest.raises(ValueError):
            AgencyChange(name=blank, reason="renamed")
        with pytest.raises(ValueError):
            AgencyChange(name="A name", reason=blank)
        with pytest.raises(ValueError):
            ErasureDetails(reason=blank * 10)
