"""What hold does about its upstream's events: the command each calls for (an arrest, a
seizure in a household's home, a key witness, a launch releasing staged support), with the
event's sealed ages opened for the playbook's rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from eventsourcing.persistence import PersistenceError
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from contracts import (
    ArrestAges,
    ArrestRecorded,
    IntegrationEvent,
    OperationLaunched,
    SeizureRecorded,
    WitnessRegistered,
)
from services.hold.commands import (
    OpenedAges,
    ReleaseStagedSupport,
    SupportArrestedPersonsHousehold,
    SupportHousehold,
)
from services.runtime.clock import Clock
from services.runtime.sealing import HouseholdKeys
from services.runtime.translation import caused_by


def command_from(event: IntegrationEvent, clock: Clock) -> object | None:
    """The hold command an upstream event calls for, if any."""
    if isinstance(event, ArrestRecorded):
        return SupportArrestedPersonsHousehold(
            arrest_id=event.arrest_id,
            household_ref=event.household_ref,
            place=event.place,
            arrested_at=event.occurred_at,
            children=[child.model_dump() for child in event.children],
            only_carer_present=event.only_carer_present,
            meta=caused_by(event, "hold", clock),
            ages=event.ages,
        )
    if isinstance(event, SeizureRecorded) and event.household_ref:
        return SupportHousehold(
            event="seizure",
            household_ref=event.household_ref,
            place=event.place,
            at=event.occurred_at,
            children=[child.model_dump() for child in event.children],
            meta=caused_by(event, "hold", clock),
            seizure_kind=event.kind,
            ages=event.ages,
        )
    if isinstance(event, WitnessRegistered):
        return SupportHousehold(
            event="witness_registered",
            household_ref=event.household_ref,
            place=event.place,
            at=event.occurred_at,
            children=[child.model_dump() for child in event.children],
            meta=caused_by(event, "hold", clock),
            ages=event.ages,
        )
    if isinstance(event, OperationLaunched) and event.staged_support:
        return ReleaseStagedSupport(
            place=event.place,
            launched_at=event.occurred_at,
            households=[h.model_dump() for h in event.staged_support],
            meta=caused_by(event, "hold", clock),
        )
    return None


class KeysUnavailable(PersistenceError):
    """The household keys could not be asked (NATS is away). Not the message's fault: the
    tracked consumer retries a PersistenceError for as long as it takes, and never
    dead-letters the arrest for it."""


class AgeOpener:
    """Opens sealed ages (an arrest's, a seizure's, a witness's) for the playbook's rules, in
    memory only.

    Hold may read the household keys and nothing more (services/runtime/nats_permissions.py).
    No key is kept between arrests, so an erasure takes effect from the next arrest on.
    """

    def __init__(self, jetstream: Callable[[], JetStreamContext]) -> None:
        self._jetstream = jetstream
        self._keys: HouseholdKeys | None = None

    async def open(self, sealed: str) -> OpenedAges | None:
        """The ages, or None when they cannot be read (the household's key is gone)."""
        try:
            if self._keys is None:
                self._keys = await HouseholdKeys.existing(self._jetstream())
            if self._keys is None:
                return None  # no bucket, so no key was ever made: nothing can open them
            opened = await self._keys.opener().text(sealed)
        except (NatsError, TimeoutError) as error:
            raise KeysUnavailable(f"household keys unavailable: {error!r}") from error
        if not isinstance(opened, str):
            return None
        # ChildrenAges (a seizure's, a witness's) read as ArrestAges with no person_age.
        ages = ArrestAges.model_validate_json(opened)
        return OpenedAges(ages.person_age, {child.child_ref: child.age for child in ages.children})

    async def command_from(self, event: IntegrationEvent, clock: Clock) -> object | None:
        """``command_from``, with the event's sealed ages opened for the rules."""
        command = command_from(event, clock)
        if (
            isinstance(command, SupportArrestedPersonsHousehold | SupportHousehold)
            and command.ages is not None
        ):
            command = replace(command, opened=await self.open(command.ages))
        return command
