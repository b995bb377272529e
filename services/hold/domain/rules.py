"""What an arrest sets in motion for the household it affects, as the playbook in force says.

Due times run from the moment of the arrest (its ``occurred_at``), not from when hold happened to
process it, so a hold service that was down does not push deadlines back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

from services.hold.commands import SupportArrestedPersonsHousehold, SupportHousehold
from services.hold.playbook import Facts, Playbook, national_playbook, parse_duration

log = structlog.get_logger()


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


def arrest_facts(c: SupportArrestedPersonsHousehold) -> Facts:
    """The arrest as the playbook's rules see it, ages included, in memory only.

    Sealed ages that could not be opened (the household was erased before Hold saw the arrest)
    give the protective reading: each child counts as young and the arrested person as a young
    person, so the household gets every task an age could call for; an agency closes any that
    turn out not to be needed. A child with no age at all (a command that carried none) is
    likewise counted as young."""
    ages, unreadable = _children_ages(c, arrest_id=str(c.arrest_id))
    return Facts(
        "arrest",
        ages,
        c.only_carer_present,
        person_age=c.opened.person_age if c.opened is not None else None,
        ages_unreadable=unreadable,
    )


def household_facts(c: SupportHousehold) -> Facts:
    """A seizure in the household's home or a witness living there, as the rules see it: the
    children's ages opened in memory as for an arrest, with the same protective reading (every
    child counts as young) when they cannot be opened."""
    ages, unreadable = _children_ages(c, on=c.event, operation_id=str(c.meta.operation_id))
    return Facts(c.event, ages, seizure_kind=c.seizure_kind, ages_unreadable=unreadable)


def _children_ages(
    c: SupportArrestedPersonsHousehold | SupportHousehold, **context: str
) -> tuple[tuple[int | None, ...], bool]:
    """Each child's age from the opened ages (None where it is not known), and whether sealed
    ages were given but could not be opened (logged, never the ages themselves)."""
    refs = [child["child_ref"] for child in c.children]
    unreadable = c.ages is not None and c.opened is None
    if unreadable:
        log.warning("sealed ages unreadable: protective reading", **context)
    known = c.opened.children if c.opened is not None else {}
    return tuple(known.get(ref) for ref in refs), unreadable
