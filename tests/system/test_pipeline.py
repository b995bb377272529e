"""The pipeline end to end in one process: real nats-server, real SQLite and PostgreSQL stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest

from contracts import IntegrationEvent, SeizureRecorded
from services.clear.translation import translate as clear_translate
from services.runtime.provisioning import ensure_consumer
from services.runtime.relay import Relay, RelayPosition
from services.runtime.settings import Settings
from services.runtime.topology import durable_name, stream_name
from tests.support.flows import START, arrest, plan_and_launch, stream_count
from tests.support.nats_users import connect_as
from tests.support.system import AUDITOR, eventually, running_system

pytestmark = pytest.mark.integration


async def test_an_arrest_sets_support_in_motion_and_a_conclusion_starts_the_plan(
    settings: Settings,
) -> None:
    """An arrest opens one whanau case per household with timed tasks; concluding the
    operation opens the place's plan with four milestones; every item names its causation and
    its operation."""
    async with running_system(settings) as system:
        op = await plan_and_launch(system)
        await arrest(system, op, "P-1", "HH-1", [{"child_ref": "C-1", "age": 3}], only_carer=False)
        await arrest(system, op, "P-2", "HH-1", [{"child_ref": "C-1", "age": 3}], only_carer=True)
        await arrest(system, op, "P-3", "HH-2")

        tasks = await eventually(
            lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 5, what="5 tasks"
        )
        cases = await system.get("/cases", operation_id=op)
        assert len(cases) == 2, "two households, two cases: the shared household has one"
        shared = next(c for c in cases if c["household_ref"] == "HH-1")
        assert len(shared["arrest_ids"]) == 2 and shared["children"] == 1
        kinds = sorted(t["kind"] for t in tasks if t["case_id"] == shared["case_id"])
        assert kinds == ["child_safety_check", "family_liaison_contact", "needs_assessment"]
        assert all(t["correlation_id"] == op and t["causation_id"] for t in tasks)

        child_check = next(t for t in tasks if t["kind"] == "child_safety_check")
        assert (await system.get("/tasks", operation_id=op, agency="oranga_tamariki")) == [
            child_check
        ]
        # The second carer's arrest left the child alone: due two hours after it, not 24.
        due = datetime.fromisoformat(child_check["due_at"])
        assert timedelta(hours=1, minutes=59) < due - datetime.now(UTC) <= timedelta(hours=2)

        assert (await system.api.post(f"/operations/{op}/conclude")).status_code == 200
        milestones = await eventually(
            lambda: system.get("/milestones", operation_id=op),
            lambda m: len(m) == 4,
            what="4 milestones",
        )
        assert sorted(m["days_after_conclusion"] for m in milestones) == [30, 90, 180, 365]
        assert all(m["correlation_id"] == op and m["causation_id"] for m in milestones)

        operation = (await system.api.get(f"/operations/{op}")).json()
        assert operation["status"] == "concluded" and operation["arrests"] == 3
        assert operation["correlation_id"] == op


async def test_bad_commands_are_refused_with_the_field_or_the_reason(settings: Settings) -> None:
    """A malformed command gets 422 naming the field; a command the operation's state does not
    allow gets 409 with the reason; an unknown operation 404."""
    async with running_system(settings) as system:
        response = await system.api.post(
            "/operations",
            json={
                "name": "x",
                "district": "y",
                "place": "z",
                "target_group": "t",
                "planned_start": "soon",
            },
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "planned_start"]

        planned = await system.api.post(
            "/operations",
            json={
                "name": "x",
                "district": "y",
                "place": "z",
                "target_group": "t",
                "planned_start": START,
            },
        )
        op = planned.json()["operation_id"]
        early = await system.api.post(
            f"/operations/{op}/arrests",
            json={"person_ref": "P-1", "household_ref": "H-1", "charges": ["c"]},
        )
        assert early.status_code == 409 and "not launched" in early.json()["detail"]

        bad_child = await system.api.post(
            f"/operations/{op}/arrests",
            json={
                "person_ref": "P-1",
                "household_ref": "H-1",
                "charges": ["c"],
                "children": [{"child_ref": "C-1", "age": 30}],
            },
        )
        assert bad_child.status_code == 422
        assert bad_child.json()["errors"][0]["field"] == "children[0].age"

        await system.api.post(f"/operations/{op}/launch")
        assert (await system.api.post(f"/operations/{op}/conclude")).status_code == 200
        again = await system.api.post(f"/operations/{op}/conclude")
        assert again.status_code == 409 and "concluded" in again.json()["detail"]

        missing = await system.api.post("/operations/00000000-0000-4000-8000-000000000000/launch")
        assert missing.status_code == 404


class _Unreadable:
    """Stands in for a producer bug or a newer producer: serialises to something unreadable."""

    def __init__(self, event: IntegrationEvent, body: bytes) -> None:
        self.event_type = event.event_type
        self.event_id = event.event_id
        self.operation_id = event.operation_id
        self.causation_id = event.causation_id
        self._body = body

    def model_dump_json(self) -> str:
        return self._body.decode()


def translate_seizures_badly(domain_event: Any) -> Any:
    """Seizures of cash go out as an unknown schema version, firearms as broken JSON."""
    event = clear_translate(domain_event)
    if isinstance(event, SeizureRecorded):
        if event.kind == "cash":
            raw = json.loads(event.model_dump_json()) | {"schema_version": 99}
            return _Unreadable(event, json.dumps(raw).encode())
        if event.kind == "firearm":
            return _Unreadable(event, b"{not json")
    return event


async def test_unreadable_messages_are_dead_lettered_and_the_consumers_go_on(
    settings: Settings,
) -> None:
    """A message of an unknown version, a malformed one, and one with no place in the chain are
    each kept as a dead letter with the reason; the consumers process what follows."""
    async with running_system(settings, translate=translate_seizures_badly) as system:
        op = await plan_and_launch(system)
        for kind in ("cash", "firearm"):
            response = await system.api.post(
                f"/operations/{op}/seizures",
                json={"kind": kind, "description": "seized", "quantity": 1, "unit": "item"},
            )
            assert response.status_code == 201
        nc = await connect_as(settings)
        await nc.jetstream().publish("chb.clear.arrest_recorded", b"junk with no headers")
        await nc.close()

        await arrest(system, op, "P-9", "HH-9")
        await eventually(
            lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 2, what="tasks"
        )
        letters = await eventually(
            lambda: system.get("/dead-letters", as_=AUDITOR),
            lambda d: len(d) == 6,
            what="6 dead letters",
        )
        by_consumer: dict[str, list[str]] = {}
        for letter in letters:
            by_consumer.setdefault(letter["consumer"], []).append(letter["error"])
        for consumer in (durable_name("clear", "hold"), durable_name("clear", "build")):
            errors = sorted(by_consumer[consumer])
            assert len(errors) == 3
            assert any("schema_version 99 is not supported" in e for e in errors)
            assert any("not JSON" in e for e in errors)
            assert any("missing chain headers" in e for e in errors)


async def test_redelivered_messages_that_were_processed_change_nothing(settings: Settings) -> None:
    """Every message delivered again (the consumer recreated from the start of the stream) is
    recognised by the tracking record, acked, and causes no new event."""
    async with running_system(settings) as system:
        op = await plan_and_launch(system)
        for i in range(5):
            await arrest(system, op, f"P-{i}", f"HH-{i}", [{"child_ref": f"C-{i}", "age": 5}])
        await eventually(
            lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 15, what="tasks"
        )
        await system.stop_service("hold")
        hold_events_before = await stream_count(settings, "hold")

        nc = await connect_as(settings)
        js = nc.jetstream()
        await js.delete_consumer(stream_name("clear"), durable_name("clear", "hold"))
        await ensure_consumer(js, "clear", "hold", settings)
        await nc.close()

        hold = await system.start_service("hold")
        consumer = hold.consumers[0]
        await eventually(
            lambda: _value(consumer.duplicates), lambda n: n == 7, what="7 duplicates acked"
        )
        assert consumer.processed == 0
        await arrest(system, op, "P-new", "HH-new")
        await eventually(
            lambda: system.get("/tasks", operation_id=op), lambda t: len(t) == 17, what="tasks"
        )
        # Only the new arrest had effects: case opened, where the household's cases are, arrest
        # linked, the case's tasks, two tasks (no children).
        assert await stream_count(settings, "hold") == hold_events_before + 6


async def test_a_relay_rerun_from_scratch_publishes_nothing_twice(settings: Settings) -> None:
    """A new relay finds its place from the stream and publishes nothing again; a relay that
    wrongly believes it is at the start is refused by the expected-sequence check."""
    async with running_system(settings) as system:
        op = await plan_and_launch(system)
        await arrest(system, op, "P-1", "HH-1")
        clear = system.services["clear"]
        await eventually(
            lambda: _value(clear.relay.position.stream_sequence),
            lambda n: n == 3,
            what="3 published",
        )
        nc = await connect_as(settings)
        js = nc.jetstream()

        fresh = Relay(clear.app, "clear", clear_translate)
        await fresh.resync(js)
        assert await fresh.publish_pending(js) == 0
        assert fresh.position.published_id == clear.relay.position.published_id

        stale = Relay(clear.app, "clear", clear_translate)
        stale.position, stale.synced = RelayPosition(), True
        # Refused whole by the message ids it repeats (or, past the dedupe window, by the
        # expected last sequence: tests/runtime/test_relay_batches.py).
        with pytest.raises(
            nats.js.errors.BadRequestError, match=r"duplicate message id|wrong last"
        ):
            await stale.publish_pending(js)
        await nc.close()
        assert await stream_count(settings, "clear") == 3


async def _value(value: int) -> int:
    return value
