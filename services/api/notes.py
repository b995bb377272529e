"""A milestone's check-in notes, which may name people: sealed with the place's key when they
are written, opened for the leadership group, the owner agency and auditors, and otherwise
only said to exist."""

from __future__ import annotations

from typing import Any

from services.api.door import FrontDoor
from services.runtime.authorization import Caller
from services.runtime.sealing import is_sealed

# Who reads a check-in's note beside the owner agency: the leadership group and auditors.
NOTE_READERS = frozenset({"leadership_group_member", "leadership_group_chair", "auditor"})
WITHHELD = {"withheld": "may name people: for the leadership group and the owner agency"}


async def with_notes(
    door: FrontDoor, who: Caller, milestones: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Milestones as this caller may see them: a check-in's note, which may name people, is
    opened for the leadership group, the owner agency and auditors, and otherwise only said
    to exist."""
    opener = door.keys.opener()
    shown = []
    for milestone in milestones:
        may_read = who.role in NOTE_READERS or who.agency == milestone["owner_agency"]
        history = []
        for step in milestone.get("history", []):
            detail = dict(step["detail"])
            if is_sealed(detail.get("note")):
                detail["note"] = await opener.text(detail["note"]) if may_read else WITHHELD
            history.append({**step, "detail": detail})
        shown.append({**milestone, "history": history} if "history" in milestone else milestone)
    return shown
