"""What one command sees and changes while its batch is decided.

A batch of commands is decided in order, each seeing what the ones before it changed, and
recorded in one transaction (services/runtime/application.py). A command the domain refuses
must leave no trace in it: its changes are kept in its own ``Unit`` and only join the batch
when it is decided.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate

from services.runtime.authorization import Caller, caller_from
from services.runtime.meta import Actor

if TYPE_CHECKING:
    from eventsourcing.application import Application

TAggregate = TypeVar("TAggregate", bound=Aggregate)


def fetch(app: Application[UUID], aggregate_id: UUID, cls: type[TAggregate]) -> TAggregate:
    """The stored aggregate, typed; raises ``AggregateNotFoundError`` if there is none."""
    stored: object = app.repository.get(aggregate_id)
    if not isinstance(stored, cls):
        raise TypeError(f"{aggregate_id} is a {type(stored).__name__}, not a {cls.__name__}")
    return stored


class Unit:
    """One command's view of its batch: an aggregate as this command has it, else as the
    batch has left it, else as stored; and what the command changes, kept apart until it is
    decided (``accept``)."""

    def __init__(
        self,
        app: Application[UUID],
        batch: ProcessingEvent[UUID],
        absent: Set[UUID] = frozenset(),
    ) -> None:
        self._app = app
        self._batch = batch
        # Ids the store was asked for at the start of the batch and does not hold: "not
        # there" unless the batch made them since, without a read each.
        self._absent = absent
        self._own = ProcessingEvent[UUID]()
        # Aggregates this command read from the store: the same object on a second read.
        self._read: dict[UUID, Aggregate] = {}
        # Aggregates the batch lent it, with their versions then: a refusal that changed one
        # of them (it should check before it changes) cannot be undone in this batch.
        self._lent: dict[UUID, int] = {}

    def get(self, aggregate_id: UUID, cls: type[TAggregate]) -> TAggregate | None:
        found: object = None
        for known in (self._own.aggregates, self._read, self._batch.aggregates):
            if aggregate_id in known:
                found = known[aggregate_id]
                break
        if found is None:
            if aggregate_id in self._absent:
                return None
            try:
                found = fetch(self._app, aggregate_id, cls)
            except AggregateNotFoundError:
                return None
            self._read[aggregate_id] = found
        if not isinstance(found, cls):
            raise TypeError(f"{aggregate_id} is a {type(found).__name__}, not a {cls.__name__}")
        if aggregate_id in self._batch.aggregates and aggregate_id not in self._lent:
            self._lent[aggregate_id] = found.version
        return found

    def peek(self, aggregate_id: UUID, cls: type[TAggregate]) -> TAggregate | None:
        """An aggregate to read and nothing else: as ``get``, but as the store last recorded
        it straight from the application's cache, not a copy (the copy is what ``get`` pays
        for, so that a refused change leaves nothing behind). Never change what this gives."""
        for known in (self._own.aggregates, self._read, self._batch.aggregates):
            if aggregate_id in known:
                return self.get(aggregate_id, cls)
        if aggregate_id in self._absent:
            return None
        try:
            found: object = self._app.repository.get(aggregate_id, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, cls):
            raise TypeError(f"{aggregate_id} is a {type(found).__name__}, not a {cls.__name__}")
        return found

    def collect(self, *changed: Aggregate | None) -> None:
        """Take the new events of ``changed`` (aggregates, or ``None`` for nothing)."""
        # What ProcessingEvent.collect_events does for aggregates, without its isinstance
        # checks against runtime protocols (typing's are slow: ~3% of a notifier's CPU).
        own = self._own
        for aggregate in changed:
            if aggregate is not None:
                own.events.extend(aggregate.collect_events())
                own.aggregates[aggregate.id] = aggregate

    @property
    def events(self) -> int:
        return len(self._own.events)

    def accept(self) -> None:
        """The command is decided: its changes join the batch."""
        self._batch.events.extend(self._own.events)
        self._batch.aggregates.update(self._own.aggregates)

    def spoilt(self) -> bool:
        """Whether a refused command changed an aggregate of the batch before it refused."""
        return any(
            self._batch.aggregates[i].version != version for i, version in self._lent.items()
        )


# A handler decides one command: it reads and changes aggregates through the unit and returns
# what the sender is answered with (an id it made, or None). The application it is given is
# the service's own (typed as such in each service's handlers.py).
Handler = Callable[[Any, Any, Unit], object]
Handlers = Mapping[type, Handler]


@dataclass
class CommandBatch:
    """Commands decided together, as the library's ``process_event`` is given them (our
    "domain event" for it). ``each`` refuses commands one by one (people's commands); without
    it one refusal fails the batch (a tracked consumer's: it retries, then dead-letters)."""

    commands: Sequence[object]
    each: bool
    # The context each command was sent in (its trace span, its log bindings), if given.
    contexts: Sequence[contextvars.Context] | None = None
    outcomes: list[object] = field(default_factory=list)
    recorded: int = 0


@dataclass(frozen=True)
class Sender:
    """Who sent a person's command, and why: the application stamps the events' meta from it
    (services/runtime/application.py ``stamp``), the sender never does. ``caller`` is who
    they are to the authorization table, with their token's scope (None: the actor alone,
    limited to nothing)."""

    actor: Actor
    caller: Caller | None = None
    reason: str | None = None

    @property
    def as_caller(self) -> Caller:
        return self.caller or caller_from(self.actor)
