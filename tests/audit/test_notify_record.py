"""The notifier's record is audited like the other services': its store walked against its
checkpoints (and a change to it caught), each step of a notification on the audit timeline
beside the task it was about, and its tracking reconciled with hold's stream."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from services.api.identity import Identity
from services.audit.reconcile import reconcile_at
from services.audit.timeline import timeline
from services.audit.verify import verify_stores
from services.runtime.settings import Settings
from tests.support.history import Store, verify
from tests.support.receivers import WebhookReceiver
from tests.support.system import AUDITOR, InProcessSystem, bearer, eventually, running_system
from tests.support.world import World

pytestmark = pytest.mark.integration

SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"
CHAIR = Identity("chair-1", "leadership_group_chair", "rocc_leadership_group")
OT = "oranga_tamariki"


async def offered(system: InProcessSystem, receiver: WebhookReceiver) -> str:
    """An arrest whose only-carer task is offered to Oranga Tamariki's webhook; the
    operation's id."""
    body = {"url": receiver.url, "secret": SECRET, "purpose": "intake", "reason": "audit test"}
    response = await system.api.post(f"/agencies/{OT}/contacts", json=body, headers=bearer(CHAIR))
    assert response.status_code == 201, response.text
    world = World(system)
    op = await world.plan("Pakari", "Mataura", launch=True)
    await world.arrest("Pakari", "HH-7")
    return op


def steps(entries: list[dict[str, Any]]) -> list[str]:
    """The steps of the offer to Oranga Tamariki's contact point, in the timeline's order (the
    arrest's other tasks are offered to agencies with none: queued and given up at once)."""
    notified = [e["facts"] for e in entries if e["event_type"] == "NotificationChanged"]
    ours = {
        f["notification_id"]
        for f in notified
        if f["change"] == "queued" and f["agency"] == OT and f["contact_id"] is not None
    }
    return [f["change"] for f in notified if f["notification_id"] in ours]


async def test_the_notifiers_record_is_verified_on_the_timeline_and_reconciled(
    settings: Settings, tmp_path: Path
) -> None:
    """With the notifier running: ``/audit/verify`` walks its store too, and the operation's
    timeline has the offer queued, attempted and delivered, caused by the task's opening.
    Stopped: ``chb audit verify`` (its function) verifies notify's store to its end, the
    timeline from the stores says the same, reconcile finds notify level with hold's stream,
    and one changed event in notify's store is named."""
    receiver = await WebhookReceiver(secret=SECRET).start()
    try:
        async with running_system(settings) as system:
            await system.start_service("notify")
            op = await offered(system, receiver)
            entries = await eventually(
                lambda: system.get("/audit/timeline", as_=AUDITOR, operation_id=op),
                lambda found: "delivered" in steps(found),
                what="the offer's delivery on the timeline",
            )
            assert steps(entries) == ["queued", "attempted", "delivered"]
            [queued] = [
                e
                for e in entries
                if e["facts"].get("change") == "queued" and e["facts"].get("contact_id")
            ]
            [opened] = [e for e in entries if e["event_id"] == queued["causation_id"]]
            assert opened["event_type"] == "SupportTaskOpened" and queued["service"] == "notify"
            assert queued["event_id"] in opened["caused"]
            assert queued["facts"]["item_id"] == opened["facts"]["task_id"]

            report = await eventually(
                lambda: system.get("/audit/verify", as_=AUDITOR),
                lambda r: any(s["service"] == "notify" and s["verified"] for s in r["services"]),
                what="notify's store checkpointed and verified",
            )
            assert report["ok"] and [s["service"] for s in report["services"]][-1] == "notify"
            assert not any(w.startswith("notify: did not answer") for w in report["warnings"])
    finally:
        await receiver.stop()

    result = await verify_stores(settings)
    [notify] = [s for s in result.services if s.service == "notify"]
    assert notify.ok and notify.unverified_tail == 0 and notify.verified >= 4, notify
    from_stores = [asdict(e) for e in timeline(settings, op)]
    assert steps(from_stores) == ["queued", "attempted", "delivered"]
    reconciled = await reconcile_at(settings)
    [link] = [x for x in reconciled.links if (x.upstream, x.downstream) == ("hold", "notify")]
    assert link.tracked == link.published == link.stored > 0 and not link.holes

    store = Store(settings, "notify")
    target = store.ids()[len(store.ids()) // 2]
    store.alter(target)
    tampered = await verify(settings, "notify")
    assert tampered.finding is not None
    assert (tampered.finding.kind, tampered.finding.notification_id) == ("altered", target)
