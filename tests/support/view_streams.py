"""Hold's stream filled as its relay would fill it, for the views' tests: cases and tasks,
each message with its notification id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from nats.aio.client import Client

from contracts import Actor, SupportTaskChanged, SupportTaskOpened, WhanauCaseOpened, subject_for
from services.runtime.topology import H_NOTIFICATION_ID, stream_name

AT = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)


def messages(count: int, accepted: bool = False) -> list[tuple[str, bytes]]:
    """Hold's stream as its relay would fill it: a case opened, then its task (each carries
    its notification id when published: ``fill``), and with ``accepted`` the task accepted
    (a step appended to its history: applied twice, it would show twice)."""
    actor = Actor(id="x", agency="oranga_tamariki", role="agency_worker")
    out: list[tuple[str, bytes]] = []
    for n in range(count):
        env = {"occurred_at": AT, "recorded_at": AT, "operation_id": uuid4(), "actor": actor}
        case_id = uuid4()
        case = WhanauCaseOpened(
            **env, event_id=uuid4(), case_id=case_id, household_ref=f"HH-{n}", place="Mataura"
        )
        task = SupportTaskOpened(
            **env,
            event_id=uuid4(),
            task_id=uuid4(),
            case_id=case_id,
            kind="child_safety_check",
            lead_agency="oranga_tamariki",
            due_at=AT + timedelta(hours=2),
            playbook="national@v1",
            rule_id="r",
        )
        events: list[WhanauCaseOpened | SupportTaskOpened | SupportTaskChanged] = [case, task]
        if accepted:
            events.append(
                SupportTaskChanged(
                    **env,
                    event_id=uuid4(),
                    task_id=task.task_id,
                    change="accepted",
                    status="accepted",
                    agency="oranga_tamariki",
                )
            )
        for event in events:
            out.append((subject_for("hold", event.event_type), event.model_dump_json().encode()))
    return out


async def fill(nc: Client, batch: list[tuple[str, bytes]], first: int = 1) -> None:
    """Publish (not waiting for each to be stored, as fast as a relay's catch-up), then wait
    until hold's stream has stored them all."""
    for nid, (subject, body) in enumerate(batch, start=first):
        await nc.publish(subject, body, headers={H_NOTIFICATION_ID: str(nid)})
    await nc.flush()
    js = nc.jetstream()
    for _ in range(6000):
        if (await js.stream_info(stream_name("hold"))).state.last_seq >= first - 1 + len(batch):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("hold's stream did not store what was published")
