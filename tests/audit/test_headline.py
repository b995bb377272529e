"""A timeline entry's headline says what a step did, not only that something changed."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from contracts import Actor, SupportTaskChanged, WhanauCaseOpened
from services.audit.timeline import Entry

pytestmark = pytest.mark.domain

AT = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
ACTOR = Actor(id="x", agency="iwi_provider", role="agency_worker")


def envelope() -> dict[str, object]:
    return {
        "event_id": uuid4(),
        "occurred_at": AT,
        "recorded_at": AT,
        "operation_id": uuid4(),
        "actor": ACTOR,
    }


def step(change: str, status: str | None, agency: str | None) -> Entry:
    event = SupportTaskChanged(
        **envelope(),  # type: ignore[arg-type]
        task_id=uuid4(),
        change=change,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        agency=agency,
    )
    return Entry.of("hold", 1, event)


def test_a_task_step_names_the_change_the_agency_and_the_status_it_left() -> None:
    assert step("accepted", "accepted", "iwi_provider").headline == (
        "SupportTaskChanged: accepted (iwi_provider)"
    )
    assert step("started", "in_progress", "iwi_provider").headline == (
        "SupportTaskChanged: started (iwi_provider), now in_progress"
    )
    assert step("note_added", None, None).headline == "SupportTaskChanged: note_added"


def test_an_event_without_steps_is_headed_by_its_type() -> None:
    opened = WhanauCaseOpened(
        **envelope(),  # type: ignore[arg-type]
        case_id=uuid4(),
        household_ref="HH-1",
        place="Mataura",
    )
    assert Entry.of("hold", 1, opened).headline == "WhanauCaseOpened"
