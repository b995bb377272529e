"""The notify application: agencies' contact points and the notifications decided for them.

Its commands are decided by the table in handlers.py through the runtime's one command path;
what calls for them is in policy.py. No I/O here: the dispatcher sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar
from uuid import UUID

from eventsourcing.application import ProcessingEvent

from contracts import SupportTaskChanged, SupportTaskOpened, WhanauCaseOpened
from services.notify.commands import FromUpstream
from services.notify.domain import AgencyContacts, ItemFacts, Notification, OfferWatch
from services.notify.handlers import HANDLERS
from services.notify.policy import Policy
from services.runtime.application import ServiceApplication, Unit, fetch
from services.runtime.clock import Clock
from services.runtime.deciding import Handlers


class NotifyApplication(ServiceApplication):
    name = "notify"
    handlers: ClassVar[Handlers] = HANDLERS
    # Every upstream event reads its agency's contact points and its case's facts, and every
    # attempt and outcome its notification. The cache keeps each of those from being replayed
    # from its first event every time; it is copied out, so a refused change cannot leave a
    # changed aggregate behind. It is not fast-forwarded from the store on each get (a select
    # per get, each waiting behind the other writer's transaction): this process is the one
    # writer of its store (deploy/README.md: one of each service), and the library puts what
    # each transaction recorded into the cache once it is committed.
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "10000",
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock | None = None,
        policy: Policy | None = None,
    ) -> None:
        super().__init__(env, clock)
        self.policy_of = policy or Policy()

    def foreseen(self, command: object) -> Iterable[UUID]:
        """What an offer looks for and makes, from the upstream event alone: what is known of
        the task and its case, the offer's watch and a notification per contact point of the
        agency (a new event's are not there: asked once for the batch, not once each)."""
        if not isinstance(command, FromUpstream):
            return ()
        e = command.event
        if isinstance(e, WhanauCaseOpened):
            return (ItemFacts.create_id(e.case_id),)
        if isinstance(e, SupportTaskOpened):
            ids = [ItemFacts.create_id(e.task_id), ItemFacts.create_id(e.case_id)]
            return [*ids, *self._offer_ids(e.event_id, e.lead_agency)]
        if isinstance(e, SupportTaskChanged) and e.change == "offered" and e.agency:
            return [ItemFacts.create_id(e.task_id), *self._offer_ids(e.event_id, e.agency)]
        return ()

    def _offer_ids(self, cause: UUID, agency: str) -> list[UUID]:
        contacts = Unit(self, ProcessingEvent[UUID]()).peek(
            AgencyContacts.create_id(agency), AgencyContacts
        )
        points = [*(contacts.contacts if contacts else ()), None]
        return [
            OfferWatch.create_id(cause),
            *(Notification.create_id(cause, "offered", agency, c) for c in points),
        ]

    def get_contacts(self, agency: str) -> AgencyContacts | None:
        return self.find(AgencyContacts.create_id(agency), AgencyContacts)

    def get_notification(self, notification_id: UUID) -> Notification:
        return fetch(self, notification_id, Notification)
