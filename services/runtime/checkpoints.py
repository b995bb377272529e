"""The notary: checkpoints a service's hash-chained history on NATS, apart from its store.

It follows the store's notification log (as the relay does) and, every second or every
``size`` notifications, publishes a ``HistoryCheckpoint`` with the leaves it read and the
chain's new head. Its position comes from its own last checkpoint on the stream, never from
the store, so a store that was changed behind its back cannot move it. Each publish expects
the subject's last sequence to be the checkpoint it extends: a stale or second notary is
refused instead of forking the chain.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog
from eventsourcing.application import Application
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts.audit import HistoryCheckpoint
from services.runtime.chain import GENESIS, extend, leaf
from services.runtime.clock import Clock
from services.runtime.follower import LogFollower
from services.runtime.topology import (
    AUDIT_STREAM,
    H_EXPECTED_LAST_SUBJECT_SEQ,
    H_MSG_ID,
    checkpoint_subject,
)

log = structlog.get_logger()


@dataclass
class NotaryPosition:
    notification_id: int = 0  # the last notification checkpointed
    head: str = GENESIS
    count: int = 0
    subject_sequence: int = 0  # the last checkpoint's sequence on the audit stream (0: none)


class Notary(LogFollower):
    what = "checkpoint"
    max_backoff_seconds = 5.0

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        service: str,
        clock: Clock,
        *,
        size: int = 1000,
        interval_seconds: float = 1.0,
    ) -> None:
        self.app = app
        self.service = service
        self.clock = clock
        self.size = size
        self.interval_seconds = interval_seconds
        self.subject = checkpoint_subject(service)
        self.position = NotaryPosition()
        self.synced = False

    async def resync(self, js: JetStreamContext) -> NotaryPosition:
        try:
            msg = await js.get_last_msg(AUDIT_STREAM, self.subject)
        except NotFoundError:
            self.position = NotaryPosition()
        else:
            last = HistoryCheckpoint.model_validate_json(msg.data or b"")
            self.position = NotaryPosition(
                last.last_notification_id, last.head, last.count, msg.seq or 0
            )
        self.synced = True
        log.info(
            "notary synced",
            service=self.service,
            notification_id=self.position.notification_id,
            count=self.position.count,
        )
        return self.position

    async def step(self, js: JetStreamContext) -> bool:
        return await self.checkpoint(js) >= self.size

    async def idle(self, stopping: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), self.interval_seconds)

    async def checkpoint(self, js: JetStreamContext) -> int:
        """Checkpoint what was recorded since the last checkpoint; returns how many."""
        position = self.position
        checkpoint = await asyncio.to_thread(self._next, position)
        if checkpoint is None:
            return 0
        ack = await js.publish(
            self.subject,
            checkpoint.model_dump_json().encode(),
            headers={
                H_MSG_ID: f"{self.service}:checkpoint:{checkpoint.last_notification_id}",
                H_EXPECTED_LAST_SUBJECT_SEQ: str(position.subject_sequence),
            },
        )
        self.position = NotaryPosition(
            checkpoint.last_notification_id, checkpoint.head, checkpoint.count, ack.seq
        )
        log.info(
            "history checkpointed",
            service=self.service,
            first_notification_id=checkpoint.first_notification_id,
            last_notification_id=checkpoint.last_notification_id,
            count=checkpoint.count,
        )
        return len(checkpoint.leaves)

    def _next(self, position: NotaryPosition) -> HistoryCheckpoint | None:
        notifications = self.app.recorder.select_notifications(
            position.notification_id + 1, self.size
        )
        if not notifications:
            return None
        leaves = [(n.id, leaf(n)) for n in notifications]
        return HistoryCheckpoint(
            service=self.service,
            first_notification_id=leaves[0][0],
            last_notification_id=leaves[-1][0],
            count=position.count + len(leaves),
            previous_head=position.head,
            head=extend(position.head, leaves),
            checkpointed_at=self.clock.now(),
            leaves=leaves,
        )
