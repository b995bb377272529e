"""A support task in hold's domain, made the way the tests need it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from services.hold.domain import (
    SupportTask,
)
from services.runtime.meta import Actor, Meta

NOW = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def meta(agency: str = "oranga_tamariki", role: str = "agency_worker") -> Meta:
    return Meta(occurred_at=NOW, operation_id=uuid4(), actor=Actor("w-1", agency, role))


def new_task(
    due_at: datetime = NOW + timedelta(hours=2),
    lead: str = "oranga_tamariki",
    fallback: tuple[str, ...] = ("iwi_provider", "police"),
    kind: str = "child_safety_check",
    meta: Meta | None = None,
) -> SupportTask:
    return SupportTask(
        case_id=uuid4(),
        kind=kind,
        lead_agency=lead,
        fallback_agencies=list(fallback),
        due_at=due_at,
        reminders_before=[1800],
        escalations_after=[900, 3600, 7200],
        playbook="national@v1",
        rule_id="child-safety-no-carer-left",
        meta=meta or globals()["meta"](),
    )


SEALED = "chb-sealed:v1:" + "0" * 32 + ":c2VhbGVk"
