"""The playbooks in force, by scope, as the views show them; and a playbook's text checked as
hold would check it, so the front door can refuse a bad one with every error listed.

Reading a playbook is hold's own code (``services/hold/playbook.py``), taken from there so the
front door and hold agree; the front door reaches it here, never in hold itself."""

from __future__ import annotations

from collections.abc import Callable, Container
from uuid import UUID

from services.hold.domain import playbook_scope
from services.hold.playbook import Playbook, PlaybookInvalid, load_playbook_text, national_playbook
from services.views.read_model import ReadModel
from services.views.rows import PlaybookRow

__all__ = ["PlaybookInvalid", "check_playbook", "in_force", "scope_of"]


def scope_of(place: str | None = None, operation_id: UUID | None = None) -> str:
    """The scope a playbook is adopted for, as hold names it."""
    return playbook_scope(place=place, operation_id=operation_id)


def check_playbook(text: str, agencies: Container[str]) -> Playbook:
    """The playbook in ``text``, its agencies checked against ``agencies``; raises
    ``PlaybookInvalid`` listing every error."""
    return load_playbook_text(text, agencies=agencies)


def in_force(model: ReadModel, visible: Callable[[PlaybookRow], bool]) -> list[PlaybookRow]:
    """The playbooks adopted that ``visible`` lets the caller see; and, until a national one
    is adopted, the national default that ships with hold, which is in force meanwhile
    (``default`` true, adopted by no one)."""
    adopted = [p for p in model.playbooks.values() if visible(p)]
    if "national" in model.playbooks:
        return adopted
    default = national_playbook()
    national = PlaybookRow(
        scope="national",
        playbook=default.label,
        rules=len(default.rules),
        adopted_at=None,
        adopted_by=None,
        default=True,
        event_id=None,
        causation_id=None,
        correlation_id=None,
    )
    return [national, *adopted]
