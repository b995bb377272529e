"""The notifications as a list to filter, kept from notify's own log (for the front door's
``GET /notifications`` and a task's history): ids, codes, times and outcomes only."""

from __future__ import annotations

import threading
from typing import Any

from services.notify.application import NotifyApplication
from services.notify.domain import Notification

TOPIC = f"{Notification.__module__}:{Notification.__qualname__}."
# Where notifications were recorded before the domain became a package (services.notify.domain).
OLD_TOPIC = f"services.notify.domain:{Notification.__qualname__}."
STEPS: dict[type, str] = {
    Notification.Queued: "queued",
    Notification.Attempted: "attempted",
    Notification.Delivered: "delivered",
    Notification.Failed: "failed",
    Notification.GaveUp: "given_up",
}
STATUS_AFTER = {"attempted": "attempting"}


class NotificationIndex:
    def __init__(self, app: NotifyApplication) -> None:
        self.app = app
        self.position = 0
        self.items: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()  # refreshed from worker threads, one at a time

    def refresh(self) -> None:
        with self._lock:
            while batch := self.app.recorder.select_notifications(self.position + 1, 1000):
                for stored in batch:
                    if stored.topic.startswith((TOPIC, OLD_TOPIC)):
                        self._apply(self.app.mapper.to_domain_event(stored))
                self.position = batch[-1].id

    def _apply(self, e: Any) -> None:
        step = STEPS.get(type(e))
        if step is None:
            return
        at = e.meta.occurred_at.isoformat()
        key = str(e.originator_id)
        if isinstance(e, Notification.Queued):
            self.items[key] = {
                "notification_id": key,
                "kind": e.kind,
                "agency": e.agency,
                "purpose": e.purpose,
                "channel": e.channel,
                "contact_id": str(e.contact_id) if e.contact_id else None,
                "item_id": str(e.item_id) if e.item_id else None,
                "cause": str(e.cause),
                "facts": e.facts,
                "status": "queued",
                "attempts": 0,
                "queued_at": at,
                "delivered_at": None,
                "detail": None,
                "history": [],
            }
        item = self.items.get(key)
        if item is None:
            return
        detail = getattr(e, "detail", None) or getattr(e, "why", None)
        item["status"] = STATUS_AFTER.get(step, step)
        item["attempts"] = getattr(e, "attempt", item["attempts"])
        if step == "delivered":
            item["delivered_at"] = at
        if detail:
            item["detail"] = detail
        item["history"].append({"change": step, "at": at, "detail": detail})

    def select(
        self,
        agency: str | None = None,
        item_id: str | None = None,
        status: str | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        self.refresh()
        found = [
            i
            for i in self.items.values()
            if (agency is None or i["agency"] == agency)
            and (item_id is None or i["item_id"] == item_id)
            and (status is None or i["status"] == status)
        ]
        found.sort(key=lambda i: (i["queued_at"], i["notification_id"]))
        return found[-limit:]
