"""Build's refusals, by name: each derives from a kind in services/runtime/errors.py, which
says the status it is answered with. A not-found is answered alike whether the item does not
exist or the caller's token hides it (services/build/access.py words both)."""

from __future__ import annotations

from services.runtime.authorization import NotFound
from services.runtime.errors import RuleBroken


class PlanRuleBroken(RuleBroken):
    """A change the plan, a milestone or an import does not allow (HTTP 409)."""


class MilestoneTaken(PlanRuleBroken):
    """The plan already has a milestone of that label."""


class ImportAlreadyStarted(PlanRuleBroken):
    pass


class PlanNotFound(NotFound):
    pass


class MilestoneNotFound(NotFound):
    pass


class ImportNotFound(NotFound):
    pass


class GateSignOffMissing(PlanRuleBroken):
    pass


class GateEvidenceMissing(PlanRuleBroken):
    pass


class ProgrammeRuleBroken(RuleBroken):
    """A change the programme does not allow (HTTP 409)."""


class ProgrammeAlreadyRegistered(ProgrammeRuleBroken):
    pass


class ProgrammeNotFound(NotFound):
    """No such programme, or one hidden from the caller's token: answered alike."""


class PanelQuorumMissing(ProgrammeRuleBroken):
    pass
