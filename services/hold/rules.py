"""What an arrest sets in motion for the household it affects.

Due times run from the moment of the arrest (its ``occurred_at``), not from when hold happened to
process it, so a hold service that was down does not push deadlines back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class TaskPlan:
    kind: str
    lead_agency: str
    due_at: datetime


CHILD_SAFETY_ONLY_CARER = timedelta(hours=2)
CHILD_SAFETY_OTHER_CARER = timedelta(hours=24)
FAMILY_LIAISON_WITH_CHILDREN = timedelta(hours=4)
FAMILY_LIAISON_NO_CHILDREN = timedelta(hours=24)
NEEDS_ASSESSMENT = timedelta(hours=72)


def tasks_for_arrest(
    arrested_at: datetime, children: int, only_carer_present: bool
) -> list[TaskPlan]:
    tasks = []
    if children:
        wait = CHILD_SAFETY_ONLY_CARER if only_carer_present else CHILD_SAFETY_OTHER_CARER
        tasks.append(TaskPlan("child_safety_check", "oranga_tamariki", arrested_at + wait))
    liaison = FAMILY_LIAISON_WITH_CHILDREN if children else FAMILY_LIAISON_NO_CHILDREN
    tasks.append(TaskPlan("family_liaison_contact", "police", arrested_at + liaison))
    tasks.append(TaskPlan("needs_assessment", "iwi_provider", arrested_at + NEEDS_ASSESSMENT))
    return tasks
