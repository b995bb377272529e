"""The notifier's factory: settings in, a ready-to-start service process out."""

from __future__ import annotations

import random
import time
from typing import Any

from opentelemetry.trace import TracerProvider

from services.notify.application import NotifyApplication
from services.notify.delivery import EmailSender, Sender, WebhookSender
from services.notify.dispatcher import Dispatcher, DispatcherMetrics, parse_target
from services.notify.settings import NotifySettings
from services.notify.transport import build_router, command_from, translate
from services.runtime.clock import Clock, SystemClock
from services.runtime.faults import FaultInjector
from services.runtime.process import ServiceProcess, ServiceSpec
from services.runtime.sealing import HouseholdKeys
from services.runtime.settings import Settings
from services.runtime.store import store_env
from services.runtime.topology import NOTIFY


def build_notify(
    settings: Settings,
    clock: Clock | None = None,
    tracer_provider: TracerProvider | None = None,
    notify_settings: NotifySettings | None = None,
    senders: dict[str, Sender] | None = None,
    rng: random.Random | None = None,
) -> ServiceProcess:
    """``senders`` replaces the webhook and e-mail senders (tests); ``rng`` draws the jitter."""
    clock = clock or SystemClock()
    ns = notify_settings or NotifySettings()
    app = NotifyApplication(env=store_env(settings, NOTIFY), clock=clock, policy=ns.policy())

    # The keys bucket and an opener kept for a minute: each contact point's key is read from
    # NATS once a minute at most, not once per message (the opener caches what it read).
    opening: dict[str, Any] = {}

    async def open_target(sealed: str) -> dict[str, object] | None:
        if opening.get("until", 0.0) < time.monotonic():
            # The process's own connection; no bucket means no key, so the target is gone.
            keys = await HouseholdKeys.existing(process.broker.connection.jetstream())
            opening.update(opener=keys.opener() if keys else None, until=time.monotonic() + 60)
        opener = opening["opener"]
        return None if opener is None else parse_target(await opener.text(sealed))

    spec = ServiceSpec(
        NOTIFY,
        app,
        translate,
        command_from,
        router=lambda on_recorded: build_router(app, on_recorded),
    )
    process = NotifyProcess(spec, settings, clock, tracer_provider)
    # The dispatcher runs beside the relay and the consumers, one of the process's loops.
    process.dispatcher = Dispatcher(
        app,
        clock,
        senders
        or {
            "webhook": WebhookSender(ns.notify_webhook_timeout_seconds),
            "email": EmailSender(ns.smtp()),
        },
        open_target,
        process.relay.wake,
        per_contact=ns.notify_per_contact,
        rng=rng,
        faults=FaultInjector(settings.fault_point, settings.fault_after_batches),
    )
    process.loops.append(process.dispatcher.run)
    process.registry.register(DispatcherMetrics(process.dispatcher))
    return process


class NotifyProcess(ServiceProcess):
    """The notifier's process: a service process with its dispatcher (for tests and metrics)."""

    dispatcher: Dispatcher
