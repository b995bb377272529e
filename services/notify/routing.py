"""Who is told of what, and what a message says: the rules the application applies, apart."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.notify.domain import LEADERSHIP

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
