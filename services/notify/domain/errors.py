"""Notify's refusals, by name: each derives from a kind in services/runtime/errors.py, which
says the status it is answered with; and the guards that raise them, checked before anything
changes."""

from __future__ import annotations

from typing import Any

from services.runtime.errors import Missing, RuleBroken

CHANNELS: tuple[str, ...] = ("webhook", "email")
# Who at an agency a contact point reaches. "worker" is one worker's address (its worker_ref).
PURPOSES: tuple[str, ...] = ("intake", "lead", "chair", "operators", "worker")
ACTIVE, DISABLED = "active", "disabled"


class ContactRuleBroken(RuleBroken):
    """A change the agency's contact points do not allow (HTTP 409)."""


class ContactNotFound(Missing):
    """No such contact point at this agency (HTTP 404)."""


def check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ContactRuleBroken(f"channel must be one of {', '.join(CHANNELS)}")


def check_purpose(purpose: str, worker_ref: str | None) -> None:
    if purpose not in PURPOSES:
        raise ContactRuleBroken(f"purpose must be one of {', '.join(PURPOSES)}")
    if (purpose == "worker") != bool(worker_ref):
        raise ContactRuleBroken("a worker_ref goes with purpose worker, and only with it")


def check_active(contact: dict[str, Any]) -> None:
    """A test delivery goes only to a contact point still in use."""
    if contact["status"] != ACTIVE:
        raise ContactNotFound(f"contact point {contact['contact_id']} is disabled")
