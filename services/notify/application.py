"""The notify application: agencies' contact points and the notifications decided for them.

Its commands are decided by the table in handlers.py through the runtime's one command path;
what calls for them is in policy.py. No I/O here: the dispatcher sends.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from services.notify.domain import AgencyContacts, Notification
from services.notify.handlers import HANDLERS
from services.notify.policy import Policy
from services.runtime.application import ServiceApplication, fetch
from services.runtime.clock import Clock
from services.runtime.deciding import Handlers


class NotifyApplication(ServiceApplication):
    name = "notify"
    handlers: ClassVar[Handlers] = HANDLERS
    # Every upstream event reads its agency's contact points and its case's facts, and every
    # attempt and outcome its notification. The cache (fast-forwarded from the store on each
    # get, and copied out so a refused change cannot leave a changed aggregate behind) keeps
    # each of those from being replayed from its first event every time.
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "5000"}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        clock: Clock | None = None,
        policy: Policy | None = None,
    ) -> None:
        super().__init__(env, clock)
        self.policy_of = policy or Policy()

    def get_contacts(self, agency: str) -> AgencyContacts | None:
        return self.find(AgencyContacts.create_id(agency), AgencyContacts)

    def get_notification(self, notification_id: UUID) -> Notification:
        return fetch(self, notification_id, Notification)
