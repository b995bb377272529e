"""Work reaches the people who must do it: an arrest's tasks, reminders and escalations reach
agencies' real webhook receivers (signatures verified with standardwebhooks) and a real SMTP
server (aiosmtpd), on simulated time, each with a stable id, and every step on the record."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from services.api.identity import Identity
from services.factories import NotifyProcess, build_notify
from services.notify.mail_sink import MailSink
from services.notify.settings import NotifySettings
from services.runtime.clock import SimulatedClock
from services.runtime.settings import Settings
from tests.support.nats_users import as_user
from tests.support.processes import Processes
from tests.support.receivers import WebhookReceiver
from tests.support.system import InProcessSystem, bearer, eventually, running_system
from tests.support.world import World

pytestmark = [pytest.mark.system]

SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"
CHAIR = Identity("chair-1", "leadership_group_chair", "rocc_leadership_group")
ADMIN = Identity("adm-1", "administrator", "chb")
OT = "oranga_tamariki"
LEADERSHIP = "rocc_leadership_group"


@dataclass
class Notifying:
    system: InProcessSystem
    world: World
    clock: SimulatedClock
    receiver: WebhookReceiver
    sink: MailSink
    notify: NotifyProcess

    async def contact(self, agency: str, **body: Any) -> dict[str, Any]:
        body.setdefault("reason", "set up in a test")
        response = await self.system.api.post(
            f"/agencies/{agency}/contacts", json=body, headers=bearer(CHAIR)
        )
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def webhook(self, agency: str, purpose: str = "intake") -> dict[str, Any]:
        return await self.contact(agency, url=self.receiver.url, secret=SECRET, purpose=purpose)

    async def notifications(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.system.api.get("/notifications", params=params, headers=bearer(ADMIN))
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    async def arrest(self) -> None:
        await self.world.plan("Pakari", "Mataura", launch=True)
        await self.world.arrest("Pakari", "HH-7")

    async def advance(self, delta: timedelta, step: timedelta = timedelta(minutes=1)) -> None:
        """Move simulated time on a step at a time, letting the notifier catch up with each
        (everything due by then has been tried: nothing queued or failed is due)."""
        end = self.clock.now() + delta
        while self.clock.now() < end:
            self.clock.advance(min(step, end - self.clock.now()))
            await eventually(self.settled, bool, what="the notifier to catch up")

    async def settled(self) -> bool:
        now = self.clock.now().isoformat()
        index = self.notify.dispatcher.index
        await eventually(self._fresh, bool, what="the index")
        return all(at.isoformat() > now for at in index.next_deadlines.values())

    async def _fresh(self) -> bool:
        recorder: Any = self.notify.app.recorder
        return bool(self.notify.dispatcher.index.position >= recorder.max_notification_id())


@asynccontextmanager
async def notifying(settings: Settings, tmp_path: Path, **knobs: Any) -> AsyncIterator[Notifying]:
    """The system with a notifier sending to a real SMTP server; ``knobs`` are its settings."""
    clock = SimulatedClock()
    sink = MailSink(tmp_path / "mail").start()
    receiver = await WebhookReceiver(secret=SECRET).start()
    try:
        async with running_system(settings, clock) as system:
            ns = NotifySettings(
                smtp_port=sink.port, notify_link_base="https://chb.example.nz", **knobs
            )
            notify = build_notify(
                as_user(settings, "notify"), clock, notify_settings=ns, rng=random.Random(7)
            )
            assert isinstance(notify, NotifyProcess)
            await notify.start()
            system.services["notify"] = notify
            yield Notifying(system, World(system), clock, receiver, sink, notify)
    finally:
        await receiver.stop()
        sink.stop()


def payloads(receiver: WebhookReceiver, kind: str) -> list[dict[str, Any]]:
    return [r.payload for r in receiver.delivered() if r.payload.get("type") == f"chb.{kind}"]


async def test_an_arrest_at_the_only_carer_rule_reaches_the_agencys_webhook_and_email(
    settings: Settings, tmp_path: Path
) -> None:
    async with notifying(settings, tmp_path) as n:
        await n.webhook(OT)
        await n.contact(OT, address="intake@ot.example.nz")
        started = time.monotonic()
        await n.arrest()
        await eventually(
            lambda: _async(len(payloads(n.receiver, "offered")) and len(n.sink.messages())),
            bool,
            within=2.0,
            what="the offer by webhook and e-mail",
        )
        assert time.monotonic() - started < 2.0
        assert n.receiver.refused == []  # every signature verified
        [offer] = payloads(n.receiver, "offered")
        data = offer["data"]
        assert (data["task_kind"], data["agency"], data["place"]) == (
            "child_safety_check",
            OT,
            "Mataura",
        )
        assert data["link"] == f"https://chb.example.nz/tasks/{data['task_id']}"
        [eml] = n.sink.messages()
        mail = message_from_bytes(eml.read_bytes())
        assert mail["To"] == "intake@ot.example.nz"
        assert "child_safety_check" in mail["Subject"]
        kinds = {part.get_content_type() for part in mail.walk()}
        assert {"text/plain", "text/html"} <= kinds
        # The record: queued, attempted, delivered, for each channel.
        told = await eventually(
            lambda: n.notifications(agency=OT, task=data["task_id"]),
            lambda found: sorted(x["status"] for x in found) == ["delivered", "delivered"],
            what="both deliveries recorded",
        )
        assert {x["channel"] for x in told} == {"webhook", "email"}
        assert [h["change"] for h in told[0]["history"]] == ["queued", "attempted", "delivered"]
        assert mail["Message-ID"] == f"<{_by(told, 'email')['notification_id']}@notify.chb>"
        assert offer == n.receiver.delivered()[0].payload
        assert n.receiver.delivered()[0].webhook_id == _by(told, "webhook")["notification_id"]
        # The task's page shows what was sent about it and how it went.
        page = await n.world.task_now(data["task_id"])
        assert sorted((x["channel"], x["status"]) for x in page["notifications"]) == [
            ("email", "delivered"),
            ("webhook", "delivered"),
        ]

        # Prometheus: nothing pending now, a delivery lag, no failures.
        async def scraped() -> str:
            return (await asyncio.to_thread(generate_latest, n.notify.registry)).decode()

        # Pending falls to 0 once the dispatcher's index has read the last outcomes.
        metrics = await eventually(
            scraped, lambda text: "chb_notifications_pending 0.0" in text, what="none pending"
        )
        assert 'chb_notification_delivery_lag_seconds{quantile="0.99"}' in metrics


async def test_a_receiver_down_for_ten_minutes_gets_the_offer_with_the_same_id_when_back(
    settings: Settings, tmp_path: Path
) -> None:
    # Retries at most two minutes apart, so it is back within the offer's 15 minutes.
    async with notifying(settings, tmp_path, notify_retry_cap_seconds=120) as n:
        await n.webhook(OT)
        n.receiver.status = 503
        await n.arrest()
        await eventually(lambda: _async(n.receiver.received), bool, what="a first attempt")
        await n.advance(timedelta(minutes=10))
        n.receiver.status = 200
        await n.advance(timedelta(minutes=4))
        [offer] = await eventually(
            lambda: n.notifications(agency=OT, status="delivered"), bool, what="delivered"
        )
        ids = n.receiver.ids()
        assert len(ids) >= 4 and set(ids) == {offer["notification_id"]}
        assert [r.answered for r in n.receiver.received][-1] == 200
        assert offer["attempts"] == len(ids)
        assert {h["change"] for h in offer["history"]} == {
            "queued",
            "attempted",
            "failed",
            "delivered",
        }
        # Delivered before its 15 minutes were up: the leadership group is not told of it, only
        # of Police's family liaison (due within 4 hours; Police has no contact point at all).
        await n.advance(timedelta(minutes=2))
        told = await eventually(
            lambda: n.notifications(agency=LEADERSHIP),
            bool,
            what="the leadership group told of Police's offer",
        )
        assert {x["facts"]["agency"] for x in told} == {"police"}


async def test_a_410_disables_the_contact_point_at_once(settings: Settings, tmp_path: Path) -> None:
    async with notifying(settings, tmp_path) as n:
        added = await n.webhook(OT)
        assert "target" not in added and added["label"] == "127.0.0.1"
        n.receiver.status = 410
        await n.arrest()
        await eventually(
            lambda: n.notifications(agency=OT, status="given_up"),
            lambda found: any(x["detail"] == "gone" for x in found),
            what="given up as gone",
        )
        response = await n.system.api.get(f"/agencies/{OT}/contacts", headers=bearer(CHAIR))
        [contact] = response.json()
        assert (contact["status"], contact["disabled_why"]) == ("disabled", "gone")
        assert "target" not in contact and SECRET not in response.text
        assert len(n.receiver.received) == 1


async def test_an_agency_with_no_working_contact_point_leaves_the_leadership_group_told(
    settings: Settings, tmp_path: Path
) -> None:
    async with notifying(settings, tmp_path) as n:
        await n.webhook(LEADERSHIP)
        await n.arrest()
        await eventually(
            lambda: n.notifications(agency=OT), bool, what="the offer recorded as undeliverable"
        )
        await n.advance(timedelta(minutes=14))
        assert payloads(n.receiver, "undeliverable_offer") == []
        await n.advance(timedelta(minutes=1))
        told = await eventually(
            lambda: _async(payloads(n.receiver, "undeliverable_offer")),
            lambda found: any(p["data"]["agency"] == OT for p in found),
            what="the leadership group told",
        )
        [about_ot] = [p for p in told if p["data"]["agency"] == OT]
        assert about_ot["data"]["task_kind"] == "child_safety_check"


async def test_each_reminder_and_escalation_step_is_delivered_once(
    settings: Settings, tmp_path: Path
) -> None:
    async with notifying(settings, tmp_path) as n:
        await n.webhook(OT)
        await n.webhook(OT, purpose="lead")
        await n.webhook(LEADERSHIP, purpose="chair")
        await n.arrest()
        await eventually(lambda: _async(payloads(n.receiver, "offered")), bool, what="offer")
        # Due in 2 hours; reminders 1 h and 30 min before; escalations 15 min, 1 h, 2 h after.
        await n.advance(timedelta(hours=4, minutes=30), step=timedelta(minutes=5))

        def steps(kind: str) -> list[dict[str, Any]]:
            return [
                p
                for p in payloads(n.receiver, kind)
                if p["data"]["task_kind"] == "child_safety_check"
            ]

        # Hold fires what fell due on its own tick: wait for it to reach the receiver.
        await eventually(
            lambda: _async(len(steps("reminder")) + len(steps("escalation"))),
            lambda count: count >= 5,
            what="two reminders and three escalations",
        )
        await n.advance(timedelta(minutes=30), step=timedelta(minutes=10))
        reminders, escalations = steps("reminder"), steps("escalation")
        assert len(reminders) == 2
        escalations.sort(key=lambda p: int(p["data"]["step"]))
        assert [(p["data"]["agency"], p["data"]["level"]) for p in escalations] == [
            (OT, "worker"),
            (OT, "agency_lead"),
            (OT, "leadership_group_chair"),
        ]
        ids = n.receiver.ids()
        assert len(ids) == len(set(ids))  # nothing delivered twice
        # Each step to whom it climbs: the holder's intake, its lead, the group's chair.
        recorded = [
            x
            for x in await n.notifications(status="delivered")
            if x["kind"] == "escalation" and x["facts"]["task_kind"] == "child_safety_check"
        ]
        recorded.sort(key=lambda x: int(x["facts"]["step"]))
        assert [(x["agency"], x["purpose"]) for x in recorded] == [
            (OT, "intake"),
            (OT, "lead"),
            (LEADERSHIP, "chair"),
        ]


async def test_a_notifier_killed_between_sending_and_recording_sends_once_more_and_records_once(
    settings: Settings, tmp_path: Path
) -> None:
    """SIGKILL right after the receiver answered 200 and before the outcome was recorded: the
    restarted notifier sends the same message again (same webhook-id), and the store records
    one delivery. A receiver sees the id at most twice and can drop the repeat."""
    receiver = await WebhookReceiver(secret=SECRET).start()
    procs = Processes(settings, tmp_path / "logs")
    try:
        async with running_system(settings) as system:
            procs.start("notify", CHB_FAULT_POINT="after_send", CHB_SMTP_PORT="9")
            world = World(system)

            async def add() -> int:
                body = {"url": receiver.url, "secret": SECRET, "reason": "intake desk"}
                response = await system.api.post(
                    f"/agencies/{OT}/contacts", json=body, headers=bearer(CHAIR)
                )
                return response.status_code

            await eventually(add, lambda code: code == 201, within=30, what="notify answering")
            await world.plan("Pakari", "Mataura", launch=True)
            await world.arrest("Pakari", "HH-7")
            await eventually(
                lambda: _async(procs.running["notify"].poll()),
                lambda code: code is not None,
                within=30,
                what="the notifier killed after sending",
            )
            assert [r.answered for r in receiver.received] == [200]
            procs.start("notify")
            response = None

            async def delivered() -> list[dict[str, Any]]:
                nonlocal response
                response = await system.api.get(
                    "/notifications", params={"agency": OT}, headers=bearer(ADMIN)
                )
                return (
                    [x for x in response.json() if x["status"] == "delivered"]
                    if (response.status_code == 200)
                    else []
                )

            [offer] = await eventually(delivered, bool, within=30, what="the delivery recorded")
            assert receiver.ids() == [offer["notification_id"]] * 2
            assert [h["change"] for h in offer["history"]].count("delivered") == 1
            assert receiver.refused == []
    finally:
        procs.stop_all()
        await receiver.stop()


def _by(found: list[dict[str, Any]], channel: str) -> dict[str, Any]:
    return next(x for x in found if x["channel"] == channel)


async def _async(value: Any) -> Any:
    return value


async def ready_now(system: InProcessSystem) -> dict[str, Any]:
    response = await system.api.get("/ready", headers={"X-Anonymous": "1"})
    body: dict[str, Any] = response.json()
    assert response.status_code == (200 if body["ready"] else 503)
    return body


async def test_ready_asks_the_notifier_as_it_asks_the_three_phases(
    settings: Settings, tmp_path: Path
) -> None:
    """With the notifier running and caught up with what it follows, /ready is ready and says
    so (its status, and how far behind it is: nothing); stopped, /ready is not ready, and says
    the notifier is not answering."""
    async with notifying(settings, tmp_path) as n:
        await n.arrest()
        body = await eventually(
            lambda: ready_now(n.system),
            lambda b: b["ready"] and b["notifier"]["store_notification_id"] > 0,
            what="ready, the arrest's offers on the notifier's record",
        )
        notifier = body["notifier"]
        assert body["services"]["notify"]["ready"] and notifier["caught_up"]
        assert notifier["stream"] == "CHB_NOTIFY" and notifier["events_behind"] == 0
        await n.system.stop_service("notify")
        body = await ready_now(n.system)
        assert not body["ready"] and body["read_model_caught_up"]
        assert not body["services"]["notify"]["ready"] and "error" in body["services"]["notify"]
        assert body["notifier"]["events_behind"] is None and not body["notifier"]["caught_up"]


async def test_a_contact_point_failing_for_a_day_is_disabled_and_the_leadership_group_told(
    settings: Settings, tmp_path: Path
) -> None:
    """Oranga Tamariki's webhook answers 503 for a day (simulated): the offer, the reminders
    and the first escalation step to it are retried on their schedule, and the first failure
    a day after the first one disables it ("failing"). The leadership group is told by
    e-mail (the agency, the channel, why; nothing more), and nothing is sent to the contact
    point after that."""
    async with notifying(settings, tmp_path) as n:
        await n.webhook(OT)
        await n.contact(LEADERSHIP, address="group@rocc.example.nz")
        n.receiver.status = 503
        await n.arrest()
        await eventually(lambda: _async(n.receiver.received), bool, what="a first attempt")
        await n.advance(timedelta(hours=23), step=timedelta(hours=1))
        response = await n.system.api.get(f"/agencies/{OT}/contacts", headers=bearer(CHAIR))
        assert [c["status"] for c in response.json()] == ["active"]  # failing, not yet a day
        await n.advance(timedelta(hours=2), step=timedelta(hours=1))

        response = await n.system.api.get(f"/agencies/{OT}/contacts", headers=bearer(CHAIR))
        [contact] = response.json()
        assert (contact["status"], contact["disabled_why"]) == ("disabled", "failing")
        told = await eventually(
            lambda: n.notifications(agency=LEADERSHIP, status="delivered"),
            lambda found: any(x["kind"] == "contact_disabled" for x in found),
            what="the leadership group told",
        )
        [disabled] = [x for x in told if x["kind"] == "contact_disabled"]
        assert disabled["channel"] == "email"
        assert disabled["facts"] == {
            "event": "contact_disabled",
            "agency": OT,
            "contact_id": contact["contact_id"],
            "channel": "webhook",
            "purpose": "intake",
            "why": "failing",
        }
        mails = [message_from_bytes(m.read_bytes()) for m in n.sink.messages()]
        assert f"CHB: Contact point disabled ({OT})" in [str(m["Subject"]) for m in mails]
        sent = len(n.receiver.received)
        await n.advance(timedelta(hours=2), step=timedelta(hours=1))
        assert len(n.receiver.received) == sent  # disabled: nothing more sent to it
