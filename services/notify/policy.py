"""What notify does about its upstream's events, and who is told of what.

``command_from`` says which of hold's and build's events call for a decision (a task's offer,
reminder, escalation or unplacing; a milestone's escalation; a dead letter) or carry a fact a
later message needs (a case's place, a task's new due time). The routing rules say whose
contact points, for what purpose; ``message_of`` what a message says. ``Policy`` holds the
knobs of what is decided when, read from the settings by the factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from contracts import (
    DeadLetterRecorded,
    IntegrationEvent,
    MilestoneChanged,
    MilestoneScheduled,
    SupportTaskChanged,
    SupportTaskOpened,
    SupportTaskRescheduled,
    WhanauCaseOpened,
)
from services.notify.commands import FromUpstream
from services.notify.domain import LEADERSHIP
from services.runtime.clock import Clock
from services.runtime.translation import caused_by


@dataclass(frozen=True)
class Policy:
    """The knobs of what is decided when (read from the settings by the factory)."""

    link_base: str = "http://127.0.0.1:8080"
    # An offer no contact point accepted within this long tells the leadership group: the
    # short wait for a task due within ``urgent_within``, the long one otherwise.
    offer_wait_urgent: timedelta = timedelta(minutes=15)
    offer_wait: timedelta = timedelta(hours=1)
    urgent_within: timedelta = timedelta(hours=4)
    retry_base_seconds: float = 10.0
    retry_cap_seconds: float = 3600.0
    # A notification not delivered within this long is given up; a contact point that has
    # failed for this long is disabled and the leadership group told.
    retry_window: timedelta = timedelta(days=1)
    contact_fail_window: timedelta = timedelta(days=1)


FOLLOWED = (
    WhanauCaseOpened,
    SupportTaskOpened,
    SupportTaskRescheduled,
    SupportTaskChanged,
    MilestoneScheduled,
    MilestoneChanged,
    DeadLetterRecorded,
)
# The steps of a task notify says something about (or must know, for what it says later).
TASK_CHANGES = ("offered", "accepted", "assigned", "unplaced", "reminded", "escalated")


def command_from(event: IntegrationEvent, clock: Clock) -> object | None:
    """The notify command an upstream event calls for, if any."""
    if not isinstance(event, FOLLOWED):
        return None
    if isinstance(event, SupportTaskChanged) and event.change not in TASK_CHANGES:
        return None
    if isinstance(event, MilestoneChanged) and event.change != "escalated":
        return None
    return FromUpstream(event, caused_by(event, "notify", clock))


# Who is told that the leadership group must act: its own contact points but its operators'.
LEADERSHIP_PURPOSES = ("intake", "lead", "chair")
# An escalation step's level (hold's and build's) → whose contact points, for what purpose.
HOLDER_LEVELS = ("worker",)
LEAD_LEVELS = ("agency_lead", "owner_agency_lead")
CHAIR_LEVELS = ("leadership_group_chair",)


def escalation_to(level: str, agency: str | None) -> tuple[str, tuple[str, ...]]:
    """An escalation step above the holder: the agency's lead, or the leadership group's
    chair (also where no agency holds the item any more)."""
    if level in CHAIR_LEVELS or not agency:
        return LEADERSHIP, ("chair",)
    return agency, ("lead",)


def message_of(
    kind: str, item_id: UUID | None, facts: dict[str, Any], link_base: str
) -> dict[str, Any]:
    """All a notification says: codes, ids, times, a place and a link (never a worker's
    reference: it names no one, but it is not the receiver's business either)."""
    said = {k: v for k, v in facts.items() if k != "worker_ref" and v is not None}
    said["event"] = kind
    if item_id is not None:
        item = facts.get("item", "task")
        said["link"] = f"{link_base}/{item}s/{item_id}"
    return said
