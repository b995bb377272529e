"""The resilience plan's template: what follows an operation, and when."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MilestoneTemplate:
    days: int
    label: str
    owner_agency: str


TEMPLATE = (
    MilestoneTemplate(
        30, "Hold review: every affected household supported", "rocc_leadership_group"
    ),
    MilestoneTemplate(90, "Build plan agreed and programmes commissioned", "rocc_leadership_group"),
    MilestoneTemplate(180, "Programmes under way; first outcome check-in", "msd"),
    MilestoneTemplate(
        365, "Outcomes reviewed against the pre-operation baseline", "rocc_leadership_group"
    ),
)
