"""Clear's refusals, by name: each derives from a kind in services/runtime/errors.py, which
says the status it is answered with."""

from __future__ import annotations

from services.runtime.errors import Missing, RuleBroken


class OperationNotFound(Missing):
    pass


class OperationRuleBroken(RuleBroken):
    """A command that the operation's state does not allow (HTTP 409)."""


class OperationNotLaunched(OperationRuleBroken):
    pass


class OperationAlreadyLaunched(OperationRuleBroken):
    pass


class OperationAlreadyConcluded(OperationRuleBroken):
    pass
