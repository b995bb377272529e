"""The agency register's part of the hold application: registering, changing and seeding
agencies (decided by each agency's aggregate, services/hold/agencies.py), and whether the
register holds a code, for the commands that name one.

A base of ``HoldApplication``, kept apart so the application module stays readable; the
application's ``handle`` passes the register's commands to the methods here.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, ProcessingEvent

from contracts.agencies import SEEDED_AGENCIES, SEEDED_CODES
from services.hold.agencies import Agency, AgencyNotRegistered
from services.hold.commands import ChangeAgency, RegisterAgency, SeedAgencies
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

    def register_agency(self, c: RegisterAgency, pe: ProcessingEvent[UUID]) -> None:
        d = c.details
        held = self.get_in_batch(pe, Agency.create_id(d.code), Agency)
        taken = d.code in SEEDED_CODES or held is not None
        agency = Agency.register(c.caller, d.code, d.name, d.kind, list(d.places), c.meta, taken)
        pe.collect_events(agency)

    def change_agency(self, c: ChangeAgency, pe: ProcessingEvent[UUID]) -> None:
        agency = self.get_in_batch(pe, Agency.create_id(c.code), Agency)
        if agency is None:
            raise AgencyNotRegistered(f"no agency {c.code}")
        places = list(c.places) if c.places is not None else None
        if agency.change(c.caller, c.meta, name=c.name, kind=c.kind, places=places):
            pe.collect_events(agency)

    def seed_missing(self, c: SeedAgencies, pe: ProcessingEvent[UUID]) -> None:
        for d in c.agencies:
            if self.get_in_batch(pe, Agency.create_id(d.code), Agency) is None:
                pe.collect_events(Agency.seed(d.code, d.name, d.kind, list(d.places), c.meta))

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
