"""Verify a service's store against its checkpoints: the first event altered, removed,
inserted or reordered, or the first checkpoint that does not follow.

Both sides are streamed (the store page by page, the checkpoints one by one), merged by
notification id and compared leaf by leaf; memory holds one page and, at the first
difference, a bounded window either side to tell the four kinds of tampering apart:

- *altered*: an event's content differs and it appears nowhere else;
- *removed*: a checkpointed event is missing (whether or not later ids were renumbered);
- *inserted*: an event the checkpoints never covered appears among ones they did;
- *reordered*: a checkpointed event sits at another place in the log.

Events recorded after the last checkpoint (or, with none, every event) are counted as the
*unverified tail*, a warning rather than a finding (services/audit/verification.py): a running
system always has a second's worth, a clean stop leaves none, and a killed service leaves what
its notary had not yet reached. An audit stream that is not there at all is a finding.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

import nats
from eventsourcing.application import Application
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from contracts.audit import HistoryCheckpoint
from services.audit.verification import Finding, Kind, ServiceVerification, Verification
from services.runtime.chain import GENESIS, extend, leaf, link
from services.runtime.settings import Settings
from services.runtime.topology import ALL_SERVICES, AUDIT_STREAM, checkpoint_subject
from services.views.stores import connect_once, open_store, pages

PAGE = 5000
WINDOW = 4096  # how far either side looks to tell a move from a change

Leaf = tuple[int, str]


class CheckpointBroken(Exception):
    """The checkpoint record itself does not hold together."""

    kind: Kind = "checkpoint"

    def __init__(self, notification_id: int | None, detail: str) -> None:
        super().__init__(detail)
        self.notification_id = notification_id
        self.detail = detail


class AuditStreamMissing(CheckpointBroken):
    """No audit stream at all. Every deployment makes it before any service starts and it
    refuses deletes and purges, so its absence means it was deleted (or this is the wrong
    NATS): not to be confused with a service that has no checkpoint yet, a mere warning."""

    kind: Kind = "no-audit-stream"


T = TypeVar("T")


class Lookahead(Iterator[T]):
    """An iterator one can peek into, up to a bounded window."""

    def __init__(self, items: Iterable[T]) -> None:
        self._items = iter(items)
        self.buffer: deque[T] = deque()

    def fill(self, n: int) -> int:
        while len(self.buffer) < n:
            try:
                self.buffer.append(next(self._items))
            except StopIteration:
                break
        return len(self.buffer)

    def peek(self) -> T | None:
        return self.buffer[0] if self.fill(1) else None

    def __next__(self) -> T:
        if not self.fill(1):
            raise StopIteration
        return self.buffer.popleft()


def store_leaves(
    app: Application[UUID], progress: Callable[[int], None] = lambda n: None
) -> Iterator[Leaf]:
    for notifications in pages(app, 1, PAGE):
        for notification in notifications:
            yield notification.id, leaf(notification)
        progress(len(notifications))


def checkpointed_leaves(
    checkpoints: Iterable[bytes], report: ServiceVerification
) -> Iterator[Leaf]:
    """Every leaf the checkpoints hold, in order, checking that each checkpoint follows the
    one before (same head, counts adding up) and that its leaves give its head."""
    head, count, last_id = GENESIS, 0, 0
    for number, raw in enumerate(checkpoints, 1):
        try:
            checkpoint = HistoryCheckpoint.model_validate_json(raw)
        except ValidationError as error:
            raise CheckpointBroken(
                last_id + 1, f"checkpoint {number} is unreadable: {error.errors()[0]['msg']}"
            ) from None
        span = f"checkpoint {number} (notifications {checkpoint.first_notification_id}-"
        span += f"{checkpoint.last_notification_id})"
        ids = [i for i, _ in checkpoint.leaves]
        if checkpoint.previous_head != head or checkpoint.count != count + len(ids):
            raise CheckpointBroken(
                checkpoint.first_notification_id,
                f"{span} does not follow the checkpoint before it: a checkpoint is missing "
                "or was altered",
            )
        if (
            ids[0] <= last_id
            or ids != sorted(set(ids))
            or (ids[0], ids[-1])
            != (checkpoint.first_notification_id, checkpoint.last_notification_id)
            or extend(head, checkpoint.leaves) != checkpoint.head
        ):
            raise CheckpointBroken(
                checkpoint.first_notification_id,
                f"{span} does not hold together (its leaves do not give its head): "
                "the checkpoint was altered",
            )
        head, count, last_id = checkpoint.head, checkpoint.count, ids[-1]
        report.checkpoints = number
        report.last_checkpoint_at = checkpoint.checkpointed_at.isoformat()
        yield from checkpoint.leaves


def check(
    service: str, store: Iterable[Leaf], checkpoints: Iterable[bytes], window: int = WINDOW
) -> ServiceVerification:
    """Walk the store and the checkpoints together; the report names the first difference."""
    report = ServiceVerification(service)
    held = Lookahead(store)
    expected = Lookahead(checkpointed_leaves(checkpoints, report))
    try:
        while (want := expected.peek()) is not None:
            have = held.peek()
            if have is None:
                report.finding = Finding(
                    "removed",
                    want[0],
                    f"the store ends before notification {want[0]}: every checkpointed event "
                    "from there on is gone",
                )
                return report
            if have != want:
                report.finding = _classify(held, expected, window)
                return report
            next(held), next(expected)
            report.verified += 1
            report.verified_through = have[0]
            report.head = link(report.head, *have)
    except CheckpointBroken as broken:
        report.finding = Finding(broken.kind, broken.notification_id, broken.detail)
        return report
    # Whatever is left was never checkpointed (all of it, when there is no checkpoint yet):
    # counted, and a warning, not a finding (see services/audit/verification.py).
    report.unverified_tail = sum(1 for _ in held)
    return report


def _classify(held: Lookahead[Leaf], expected: Lookahead[Leaf], window: int) -> Finding:
    held.fill(window)
    with contextlib.suppress(CheckpointBroken):  # a broken checkpoint later just ends the window
        expected.fill(window)
    (have_id, have_leaf), (want_id, want_leaf) = held.buffer[0], expected.buffer[0]
    later_checkpointed = {leaf_: i for i, leaf_ in list(expected.buffer)[1:]}
    later_held = {leaf_: i for i, leaf_ in list(held.buffer)[1:]}
    came_from = later_checkpointed.get(have_leaf)  # what is here was checkpointed further on
    went_to = later_held.get(want_leaf)  # what was checkpointed here is further on
    if came_from is not None and went_to is not None:
        return Finding(
            "reordered",
            want_id,
            f"notification {have_id} holds the event checkpointed as {came_from}, and the event "
            f"checkpointed as {want_id} is now at {went_to}",
        )
    if came_from is not None or (went_to is None and have_id > want_id):
        return Finding(
            "removed",
            want_id,
            f"the event checkpointed as notification {want_id} is gone"
            + _renumbered(came_from, have_id),
        )
    if went_to is not None or have_id < want_id:
        return Finding(
            "inserted",
            have_id,
            f"notification {have_id} was never checkpointed: it was inserted before the "
            f"checkpointed event {want_id}" + _renumbered(want_id, went_to),
        )
    return Finding(
        "altered",
        want_id,
        f"notification {want_id} differs from what was checkpointed: the event was altered",
    )


def _renumbered(checkpointed_as: int | None, now_at: int | None) -> str:
    """The clause saying a checkpointed event now has another id; empty when it kept its own
    (a deletion or an insertion into a gap in the ids moves nothing)."""
    if checkpointed_as is None or now_at is None or checkpointed_as == now_at:
        return ""
    return f" (later events renumbered: {checkpointed_as} is now {now_at})"


async def read_checkpoints(js: JetStreamContext, service: str) -> AsyncIterator[bytes]:
    """Every checkpoint of one service, oldest first, as published."""
    try:
        sub = await js.pull_subscribe(
            checkpoint_subject(service),
            stream=AUDIT_STREAM,
            config=ConsumerConfig(
                ack_policy=AckPolicy.NONE,
                deliver_policy=DeliverPolicy.ALL,
                inactive_threshold=60.0,
            ),
        )
    except nats.js.errors.NotFoundError:
        raise AuditStreamMissing(
            None,
            f"the audit stream {AUDIT_STREAM} is not there: every checkpoint is gone (it was "
            "deleted, or this is not the system's NATS)",
        ) from None
    try:
        remaining = (await sub.consumer_info()).num_pending or 0
        while remaining > 0:
            for msg in await sub.fetch(min(remaining, 16), timeout=10):
                remaining -= 1
                yield msg.data
    finally:
        await sub.unsubscribe()


_DONE = object()


async def verify_service(
    service: str,
    app: Application[UUID],
    js: JetStreamContext,
    progress: Callable[[int], None] = lambda n: None,
) -> ServiceVerification:
    """Verify one store against the checkpoints on NATS. The walk runs in a thread; the
    checkpoints are fed to it through a small queue, so neither side is ever held whole."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=8)
    finished = threading.Event()

    def checkpoints() -> Iterator[bytes]:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    async def offer(item: Any) -> bool:
        """Hand one item over, unless the walk has stopped (then nobody takes it)."""
        while not finished.is_set():
            try:
                handoff.put_nowait(item)
                return True
            except queue.Full:
                await asyncio.sleep(0.005)
        return False

    async def feed() -> None:
        try:
            async for raw in read_checkpoints(js, service):
                if not await offer(raw):
                    return
        except Exception as error:  # the walk raises it where it stands
            await offer(error)
            return
        await offer(_DONE)

    def walk() -> ServiceVerification:
        try:
            return check(service, store_leaves(app, progress), checkpoints())
        finally:
            finished.set()

    feeder = asyncio.create_task(feed())
    try:
        return await asyncio.to_thread(walk)
    finally:
        finished.set()
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder


async def verify_stores(
    settings: Settings,
    progress: Callable[[str, int], None] = lambda service, n: None,
) -> Verification:
    """Every service's store (opened from ``settings``) against the checkpoints at
    ``settings.nats_url``, read as the settings' NATS user."""
    nc = await connect_once(settings)
    result = Verification()
    try:
        js = nc.jetstream()
        for service in ALL_SERVICES:  # the notifier's store too
            app = open_store(service, settings)
            try:
                report = await verify_service(service, app, js, partial(progress, service))
                result.services.append(report)
            finally:
                app.close()
    finally:
        await nc.close()
    return result
