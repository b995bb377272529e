"""The refusals a command can meet, by kind: each names the status the front door answers with.

Every service's own errors derive from one of these, so one mapping (``refusal_reply`` in
services/runtime/commands.py) turns any refusal into its reply, and the front door into its
problem document; nothing else decides a status.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A command refused for a reason its sender can act on. Refused commands record nothing;
    the others of their batch are recorded as if it had not been sent."""

    status: ClassVar[int] = 409
    # Every problem found, where a refusal lists several (an invalid playbook).
    errors: list[Any] | None = None


class Missing(DomainError, LookupError):
    """No such item (or one the caller may not see: answered alike)."""

    status = 404


class RuleBroken(DomainError):
    """The item's rules refuse the step in its present state."""

    status = 409


class Invalid(DomainError):
    """What the command carries is not acceptable, whatever the item's state."""

    status = 422
