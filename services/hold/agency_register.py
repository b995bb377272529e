"""The agency register's part of the hold application: registering, changing and seeding
agencies (decided by each agency's aggregate, services/hold/domain/agency.py), and whether the
register holds a code, for the commands that name one.

A base of ``HoldApplication``, kept apart so the application module stays readable; the
register's commands are decided in services/hold/handlers.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import structlog
from eventsourcing.application import AggregateNotFoundError

from contracts.agencies import SEEDED_AGENCIES, SEEDED_CODES
from services.hold.commands import SeedAgencies
from services.hold.domain import Agency
from services.runtime.application import ServiceApplication, fetch
from services.runtime.clock import Clock
from services.runtime.commands import with_retry_on_conflict
from services.runtime.dead_letters import NIL
from services.runtime.meta import SERVICE_ACTORS, Meta

log = structlog.get_logger()


class AgencyRegister(ServiceApplication):
    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        super().__init__(env, clock)
        # Codes known to be in the register. Agencies are never removed, so what is found
        # stays true; a code not found is looked up again (another hold process may have
        # registered it since).
        self._agencies: set[str] = set(SEEDED_CODES)

    @staticmethod
    def is_seeded(code: str) -> bool:
        return code in SEEDED_CODES

    def seed_agencies(self) -> int:
        """Record the seeded agencies the store does not hold yet; idempotent. Two hold
        processes starting at once may both try: the second's save conflicts, and on the
        retry it finds them recorded and records nothing."""
        meta = Meta(
            occurred_at=self.clock.now(),
            operation_id=NIL,
            actor=SERVICE_ACTORS["hold"],
            reason="seeded: the ROCC leadership groups' agencies and those the playbooks name",
        )

        def seed() -> int:
            missing = tuple(a for a in SEEDED_AGENCIES if self.get_agency(a.code) is None)
            return self.process_batch([(SeedAgencies(missing, meta), None)]) if missing else 0

        recorded: int = with_retry_on_conflict(seed)
        if recorded:
            log.info("seeded agencies recorded", agencies=recorded)
        return recorded

    def get_agency(self, code: str) -> Agency | None:
        try:
            return fetch(self, Agency.create_id(code), Agency)
        except AggregateNotFoundError:
            return None

    @property
    def known_agencies(self) -> frozenset[str]:
        """The codes this process has seen in the register (the seeded ones at least)."""
        return frozenset(self._agencies)

    def agency_registered(self, code: str) -> bool:
        """Whether the register holds ``code``: the seeded agencies, and those in the store."""
        if code in self._agencies:
            return True
        if self.get_agency(code) is None:
            return False
        self._agencies.add(code)
        return True


class RegisteredAgencies:
    """Hold's register as a container of codes (for the playbook's validation)."""

    def __init__(self, app: AgencyRegister) -> None:
        self._app = app

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self._app.agency_registered(code)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._app.known_agencies))
