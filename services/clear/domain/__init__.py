"""Clear's domain: the operation aggregate, the facts it records and its named errors."""

from __future__ import annotations

from services.clear.domain.errors import (
    OperationAlreadyConcluded,
    OperationAlreadyLaunched,
    OperationNotFound,
    OperationNotLaunched,
    OperationRuleBroken,
)
from services.clear.domain.operation import (
    CONCLUDED,
    LAUNCHED,
    PLANNED,
    RECEIPTS,
    ArrestFacts,
    Children,
    CommandReceipt,
    Operation,
    SeizureFacts,
    StagedHousehold,
    WitnessFacts,
)

__all__ = [
    "CONCLUDED",
    "LAUNCHED",
    "PLANNED",
    "RECEIPTS",
    "ArrestFacts",
    "Children",
    "CommandReceipt",
    "Operation",
    "OperationAlreadyConcluded",
    "OperationAlreadyLaunched",
    "OperationNotFound",
    "OperationNotLaunched",
    "OperationRuleBroken",
    "SeizureFacts",
    "StagedHousehold",
    "WitnessFacts",
]
