"""Facts of an arrest and the tasks a playbook opens for them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from services.hold.application import HoldApplication
from services.hold.playbook import Playbook, load_playbook_file
from services.runtime.meta import SERVICE_ACTORS, Meta

AT = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)


def meta() -> Meta:
    return Meta(occurred_at=AT, operation_id=uuid4(), actor=SERVICE_ACTORS["hold"])


def opened(app: HoldApplication) -> list[str]:
    return [
        app.mapper.to_domain_event(n).kind
        for n in app.recorder.select_notifications(1, 1000)
        if n.topic.endswith("SupportTask.Opened")
    ]


YOUNG_CHILD_AT_HOME = {
    "name": "young-children-at-home",
    "version": 1,
    "rules": [
        {
            "id": f"under-five-{event.replace('_', '-')}",
            "when": {"event": event, "youngest_under": 5},
            "task": {
                "kind": f"early_years_check_{event}",
                "lead_agency": "oranga_tamariki",
                "due_within": "1h",
            },
        }
        for event in ("seizure", "witness_registered")
    ],
}


def hold_tests_playbook() -> Playbook:
    """Hold's domain tests' own playbook (tests/support/hold_playbook.toml)."""
    return load_playbook_file(Path(__file__).with_name("hold_playbook.toml"))
