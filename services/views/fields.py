"""Fields every view of the read model shares, whichever service's events built it."""

from __future__ import annotations

from typing import Any

from contracts import IntegrationEvent


def trace(event: IntegrationEvent) -> dict[str, Any]:
    """Why an item exists: the event that made it, what caused that, the operation it is in."""
    return {
        "event_id": str(event.event_id),
        "causation_id": str(event.causation_id) if event.causation_id else None,
        "correlation_id": str(event.operation_id),
    }


def match(item: object, **criteria: Any) -> bool:
    """Whether a row's fields equal each criterion given (as text; None matches anything)."""
    return all(value is None or getattr(item, key) == str(value) for key, value in criteria.items())
