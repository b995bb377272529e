"""The clear application: its store of operations, and the table its commands are decided by
(services/clear/handlers.py) on the one command path (services/runtime/application.py)."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from services.clear.domain import Operation, OperationNotFound
from services.clear.handlers import HANDLERS
from services.runtime.application import ServiceApplication
from services.runtime.deciding import Handlers

__all__ = ["ClearApplication", "OperationNotFound"]


class ClearApplication(ServiceApplication):
    name = "clear"
    handlers: ClassVar[Handlers] = HANDLERS
    # Every arrest loads its operation. The cache (fast-forwarded from the store on each get, and
    # copied out so a failed save cannot leave a changed aggregate behind) keeps that from
    # replaying the operation's whole history; snapshots bound the replay after a restart.
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "1000"}
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Operation: 100}

    def get_operation(self, operation_id: UUID) -> Operation:
        operation = self.find(operation_id, Operation)
        if operation is None:
            raise OperationNotFound(f"no operation {operation_id}")
        return operation
