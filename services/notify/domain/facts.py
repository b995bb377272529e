"""What notify knows of the items it speaks of, noted from upstream events."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.runtime.meta import derived_id


class ItemFacts(Aggregate):
    """What notify knows of a task, a case or a milestone from upstream events: ids, codes,
    times and a place, the only things a notification may say."""

    class Noted(Aggregate.Created):
        item_id: UUID
        facts: dict[str, Any]

    class Updated(Aggregate.Event):
        facts: dict[str, Any]

    @staticmethod
    def create_id(item_id: UUID) -> UUID:
        return derived_id("notify-facts", item_id)

    @event(Noted)
    def __init__(self, item_id: UUID, facts: dict[str, Any]) -> None:
        self.item_id = item_id
        self.facts = dict(facts)

    def update(self, **changes: Any) -> None:
        changed = {k: v for k, v in changes.items() if self.facts.get(k) != v}
        if changed:
            self._updated(facts=changed)

    @event(Updated)
    def _updated(self, facts: dict[str, Any]) -> None:
        self.facts.update(facts)
