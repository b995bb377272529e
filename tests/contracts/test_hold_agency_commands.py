"""Hold's agency register over NATS request/reply (FastStream's in-memory broker): registering
and changing agencies, what is refused and how; and seeding it at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from faststream.nats import NatsBroker, TestNatsBroker
from pydantic import BaseModel

from contracts import AgencyChanged, AgencyRegistered
from contracts.agencies import SEEDED_AGENCIES, SEEDED_CODES
from contracts.commands import (
    ChangeAgency,
    CommandReply,
    RegisterAgency,
)
from contracts.envelope import Actor, Requester
from services.hold.agencies import Agency
from services.hold.application import HoldApplication
from services.hold.transport import build_router, translate
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
