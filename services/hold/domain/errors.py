"""Hold's refusals, by name: each derives from a kind in services/runtime/errors.py, which
says the status it is answered with. The agency register's are beside it (agency.py)."""

from __future__ import annotations

from services.runtime.errors import Invalid, Missing, RuleBroken


class TaskRuleBroken(RuleBroken):
    """A change the task's state does not allow (HTTP 409)."""


class TaskNotFound(Missing):
    pass


class TaskFinished(TaskRuleBroken):
    pass


class NotOfferedToThisAgency(TaskRuleBroken):
    pass


class WrongTaskState(TaskRuleBroken):
    pass


class ConsentRequired(TaskRuleBroken):
    pass


class ReasonRequired(Invalid, ValueError):
    pass


class CaseNotFound(Missing):
    pass
