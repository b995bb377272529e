"""What an arrest sets in motion for the household it affects, as the playbook in force says.

Due times run from the moment of the arrest (its ``occurred_at``), not from when hold happened to
process it, so a hold service that was down does not push deadlines back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.hold.playbook import Facts, Playbook, national_playbook, parse_duration


@dataclass(frozen=True)
class TaskPlan:
    kind: str
    lead_agency: str
    fallback_agencies: list[str]
    due_at: datetime
    reminders_before: list[int]  # seconds before the due time
    escalations_after: list[int]  # seconds after the due time
    playbook: str
    rule_id: str


def tasks_for(facts: Facts, since: datetime, playbook: Playbook | None = None) -> list[TaskPlan]:
    """The tasks the playbook asks for, due from ``since`` (the moment of the event)."""
    playbook = playbook or national_playbook()
    return [
        TaskPlan(
            kind=kind,
            lead_agency=template.lead_agency,
            fallback_agencies=list(template.fallback_agencies),
            due_at=since + template.due,
            reminders_before=[int(parse_duration(r).total_seconds()) for r in template.reminders],
            escalations_after=[
                int(parse_duration(e).total_seconds()) for e in template.escalations
            ],
            playbook=playbook.label,
            rule_id=rule.id,
        )
        for kind, (rule, template) in playbook.tasks_for(facts).items()
    ]
