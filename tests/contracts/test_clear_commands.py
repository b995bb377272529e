"""Clear's command handlers over NATS request/reply, on FastStream's in-memory broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from faststream.nats import NatsBroker, TestNatsBroker
from pydantic import BaseModel

from contracts.commands import (
    CommandReply,
    ConcludeOperation,
    GetOperation,
    LaunchOperation,
    PlanOperation,
    RecordArrest,
    RecordSeizure,
)
from contracts.envelope import Actor
from services.clear.application import ClearApplication
from services.clear.transport import build_router
from services.runtime.clock import SimulatedClock
from services.runtime.topology import command_subject

pytestmark = pytest.mark.contract

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
PLANNER = Actor(id="officer-0042", agency="police", role="planner")
SEALED = "chb-sealed:v1:" + "0" * 32 + ":c2VhbGVk"


class Clear:
    """The clear service's command side on an in-memory broker, and what it recorded."""

    def __init__(self, broker: NatsBroker, app: ClearApplication, clock: SimulatedClock):
        self.broker = broker
        self.app = app
        self.clock = clock
        self.recorded = 0

    def on_recorded(self) -> None:
        self.recorded += 1

    async def send(self, command: str, body: BaseModel | dict[str, Any]) -> CommandReply:
        response = await self.broker.request(body, command_subject("clear", command), timeout=5)
        return CommandReply.model_validate(await response.decode())

    async def plan(self) -> str:
        reply = await self.send(
            "plan_operation",
            PlanOperation(
                actor=PLANNER,
                reason="intelligence case 17",
                name="Operation Pakari",
                district="Southern",
                place="Mataura",
                target_group="meth supply network",
                planned_start=self.clock.now() + timedelta(days=2),
            ),
        )
        assert reply.status == 201, reply
        return str(reply.result["operation_id"])

    def arrest(self, operation_id: Any) -> RecordArrest:
        return RecordArrest(
            actor=PLANNER,
            operation_id=operation_id,
            person_ref="person-1",
            household_ref="household-1",
            charges=["supply methamphetamine"],
            children=[{"child_ref": "child-1"}],  # type: ignore[list-item]
            ages=SEALED,
            only_carer_present=True,
        )


@pytest.fixture
async def clear() -> AsyncIterator[Clear]:
    clock = SimulatedClock()
    app = ClearApplication(env=POPO, clock=clock)
    broker = NatsBroker()
    service = Clear(broker, app, clock)
    broker.include_router(build_router(app, service.on_recorded))
    async with TestNatsBroker(broker) as test_broker:
        service.broker = test_broker
        yield service


async def test_planning_replies_201_with_the_new_operation_id(clear: Clear):
    """PlanOperation is answered with 201 and the operation id, the operation is stored as
    planned, and the service is told something was recorded (to wake its relay)."""
    operation_id = await clear.plan()
    operation = clear.app.get_operation(UUID(operation_id))
    assert operation.status == "planned"
    assert operation.place == "Mataura"
    assert clear.recorded == 1


async def test_a_whole_operation_over_request_reply(clear: Clear):
    """Launch, arrest, seizure and conclusion each get their success reply, and
    get_operation shows the result."""
    operation_id = await clear.plan()
    launch = await clear.send(
        "launch_operation", LaunchOperation(actor=PLANNER, operation_id=operation_id)
    )
    assert (launch.status, launch.result["status"]) == (200, "launched")
    arrest = await clear.send("record_arrest", clear.arrest(operation_id))
    assert arrest.status == 201 and "arrest_id" in arrest.result
    seizure = await clear.send(
        "record_seizure",
        RecordSeizure(
            actor=PLANNER,
            operation_id=operation_id,
            kind="drugs",
            description="methamphetamine",
            quantity=0.5,
            unit="kg",
        ),
    )
    assert seizure.status == 201 and "seizure_id" in seizure.result
    conclude = await clear.send(
        "conclude_operation", ConcludeOperation(actor=PLANNER, operation_id=operation_id)
    )
    assert (conclude.status, conclude.result["status"]) == (200, "concluded")

    view = await clear.send("get_operation", GetOperation(operation_id=operation_id))
    assert view.status == 200
    assert view.result["operation_id"] == operation_id
    assert view.result["status"] == "concluded"
    assert (view.result["arrests"], view.result["seizures"]) == (1, 1)
    assert clear.recorded == 5


async def test_an_arrest_before_launch_is_refused_with_409(clear: Clear):
    """An arrest on a planned operation is answered 409 with the reason, and nothing is
    recorded."""
    operation_id = await clear.plan()
    reply = await clear.send("record_arrest", clear.arrest(operation_id))
    assert reply.status == 409
    assert reply.error is not None and "not launched" in reply.error
    assert clear.recorded == 1
    assert len(clear.app.recorder.select_notifications(start=1, limit=10)) == 1


async def test_launching_twice_is_refused_with_409(clear: Clear):
    """A second launch is answered 409."""
    operation_id = await clear.plan()
    command = LaunchOperation(actor=PLANNER, operation_id=operation_id, reason="go")
    assert (await clear.send("launch_operation", command)).status == 200
    reply = await clear.send("launch_operation", command)
    assert reply.status == 409
    assert reply.error is not None and "launched" in reply.error


@pytest.mark.parametrize(
    "command, body",
    [
        ("launch_operation", lambda op: LaunchOperation(actor=PLANNER, operation_id=op)),
        ("record_arrest", None),
        ("conclude_operation", lambda op: ConcludeOperation(actor=PLANNER, operation_id=op)),
        ("get_operation", lambda op: GetOperation(operation_id=op)),
    ],
)
async def test_an_unknown_operation_is_answered_404(clear: Clear, command: str, body: Any):
    """A command or query for an operation that does not exist is answered 404, naming it."""
    unknown = uuid4()
    message = clear.arrest(unknown) if body is None else body(unknown)
    reply = await clear.send(command, message)
    assert reply.status == 404
    assert reply.error is not None and str(unknown) in reply.error
    assert clear.recorded == 0


async def test_a_command_that_does_not_validate_is_answered_422_naming_the_field(clear: Clear):
    """Callers that bypass the HTTP API still get an answer, not a timeout: 422 and the field."""
    op = await clear.plan()
    reply = await clear.send(
        "record_arrest",
        {"operation_id": op, "person_ref": "P-1", "household_ref": "H-1", "charges": []},
    )
    assert reply.status == 422
    assert reply.error is not None and reply.error.startswith("charges: ")
    assert clear.recorded == 1, "nothing was recorded for the refused command"
