"""Upstream events and contact points for notify's tests: ids and codes only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from contracts import IntegrationEvent, SupportTaskChanged, SupportTaskOpened, WhanauCaseOpened
from services.notify.application import NotifyApplication
from services.notify.commands import AddContact, FromUpstream
from services.runtime.meta import SERVICE_ACTORS, Actor, Meta
from services.runtime.sealing import seal_with

OPERATION = UUID("5fcf55ff-bb0b-43c9-80db-9a047c3a90c1")
# A fixed AES key for sealing targets in tests without a NATS key bucket.
TEST_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
ADMIN = Actor(id="admin-1", agency="chb", role="admin")


def envelope(at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": uuid4(),
        "occurred_at": at,
        "recorded_at": at,
        "operation_id": OPERATION,
        "actor": {"id": "hold-service", "agency": "chb", "role": "service"},
        **extra,
    }


def case_opened(at: datetime, case_id: UUID, place: str = "Mataura") -> WhanauCaseOpened:
    return WhanauCaseOpened(**envelope(at), case_id=case_id, household_ref="HH-7", place=place)


def task_opened(
    at: datetime, task_id: UUID, case_id: UUID, agency: str = "oranga_tamariki", hours: float = 2
) -> SupportTaskOpened:
    return SupportTaskOpened(
        **envelope(at),
        task_id=task_id,
        case_id=case_id,
        kind="child_safety_check",
        lead_agency=agency,
        due_at=at + timedelta(hours=hours),
        playbook="default v1",
        rule_id="only-carer",
    )


def task_changed(at: datetime, task_id: UUID, change: str, **fields: Any) -> SupportTaskChanged:
    fields = {"status": None, "agency": None, **fields}
    return SupportTaskChanged(**envelope(at), task_id=task_id, change=change, **fields)


def upstream(app: NotifyApplication, event: IntegrationEvent) -> None:
    meta = Meta(app.clock.now(), event.operation_id, SERVICE_ACTORS["notify"], event.event_id)
    app.process_batch([(FromUpstream(event, meta), None)])


def add_contact(
    app: NotifyApplication,
    agency: str,
    purpose: str = "intake",
    channel: str = "webhook",
    target: str = '{"url": "http://127.0.0.1:9/hook", "secret": "whsec_MDEyMzQ1Njc4OQ=="}',
    worker_ref: str | None = None,
) -> UUID:
    contact_id = uuid4()
    sealed = seal_with(TEST_KEY, f"contact/{contact_id}", target.encode())
    meta = Meta(app.clock.now(), UUID(int=0), ADMIN, reason="added in a test")
    command = AddContact(
        agency, contact_id, channel, purpose, sealed, "127.0.0.1", worker_ref, meta
    )
    app.process_batch([(command, None)])
    return contact_id
