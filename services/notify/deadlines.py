"""Notify's deadlines (see runtime/deadlines.py): each notification's next attempt (the
dispatcher sends what falls due; nothing is fired) and each offer watch's deadline (settled:
the leadership group is told of an offer nobody accepted in time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from services.notify.application import NotifyApplication
from services.notify.commands import SettleWatch
from services.notify.domain import FINISHED, Notification, OfferWatch
from services.runtime.clock import Clock
from services.runtime.deadlines import DeadlineScheduler


def _never(_id: UUID, _at: datetime) -> object:
    raise AssertionError("the dispatcher sends; it fires nothing")


def attempt_schedule(app: NotifyApplication, clock: Clock) -> DeadlineScheduler:
    """Notifications by their next attempt, from notify's own log: the dispatcher's index."""
    return DeadlineScheduler(app, clock, Notification, lambda n: n.status in FINISHED, _never)


def watch_scheduler(
    app: NotifyApplication, clock: Clock, on_recorded: Callable[[], None] = lambda: None
) -> DeadlineScheduler:
    return DeadlineScheduler(
        app,
        clock,
        kind=OfferWatch,
        finished=lambda w: w.settled,
        fire=lambda watch_id, now: SettleWatch(watch_id, now),
        on_recorded=on_recorded,
    )
