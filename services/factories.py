"""One factory per service: settings in, a ready-to-start process out. Tests use the same."""

from __future__ import annotations

import random

from opentelemetry.trace import TracerProvider

from services.audit.verify import verify_service
from services.build.application import BuildApplication
from services.build.deadlines import milestone_scheduler
from services.build.policy import command_from as build_command_from
from services.build.translation import translate as build_translate
from services.build.transport import build_router
from services.clear.application import ClearApplication
from services.clear.translation import translate as clear_translate
from services.clear.transport import build_router as clear_router
from services.hold.application import HoldApplication
from services.hold.deadlines import task_scheduler
from services.hold.policy import AgeOpener
from services.hold.translation import translate as hold_translate
from services.hold.transport import build_router as hold_router
from services.notify.application import NotifyApplication
from services.notify.delivery import EmailSender, Sender, WebhookSender
from services.notify.dispatcher import Dispatcher, DispatcherMetrics, TargetOpener
from services.notify.policy import command_from as notify_command_from
from services.notify.settings import NotifySettings
from services.notify.translation import translate as notify_translate
from services.notify.transport import build_router as notify_router
from services.runtime.clock import Clock, SystemClock
from services.runtime.faults import FaultInjector
from services.runtime.process import ServiceProcess, ServiceSpec
from services.runtime.settings import Settings
from services.runtime.store import store_env
from services.runtime.topology import NOTIFY
from services.runtime.translation import Translator


def build_clear(
    settings: Settings,
    clock: Clock | None = None,
    translate: Translator | None = None,
    tracer_provider: TracerProvider | None = None,
) -> ServiceProcess:
    """``translate`` replaces the outgoing translation (tests use it to publish bad messages)."""
    clock = clock or SystemClock()
    app = ClearApplication(env=store_env(settings, "clear"), clock=clock)
    spec = ServiceSpec(
        "clear",
        app,
        translate or clear_translate,
        router=lambda on_recorded: clear_router(app, on_recorded),
        verify=verify_service,
    )
    return ServiceProcess(spec, settings, clock, tracer_provider)


def build_hold(
    settings: Settings, clock: Clock | None = None, tracer_provider: TracerProvider | None = None
) -> ServiceProcess:
    clock = clock or SystemClock()
    app = HoldApplication(
        env=store_env(settings, "hold"), clock=clock, personal_window=settings.personal_window
    )
    # Opens arrests' sealed ages for the rules, over the process's own connection.
    ages = AgeOpener(lambda: process.broker.connection.jetstream())
    spec = ServiceSpec(
        "hold",
        app,
        hold_translate,
        ages.command_from,
        router=lambda on_recorded: hold_router(app, on_recorded),
        schedulers=lambda on_recorded: [task_scheduler(app, clock, on_recorded)],
        prepare=app.seed_agencies,
        verify=verify_service,
    )
    process = ServiceProcess(spec, settings, clock, tracer_provider)
    return process


def build_build(
    settings: Settings, clock: Clock | None = None, tracer_provider: TracerProvider | None = None
) -> ServiceProcess:
    clock = clock or SystemClock()
    app = BuildApplication(env=store_env(settings, "build"), clock=clock)
    spec = ServiceSpec(
        "build",
        app,
        build_translate,
        build_command_from,
        router=lambda on_recorded: build_router(app, on_recorded),
        schedulers=lambda on_recorded: [milestone_scheduler(app, clock, on_recorded)],
        verify=verify_service,
    )
    return ServiceProcess(spec, settings, clock, tracer_provider)


class NotifyProcess(ServiceProcess):
    """The notifier's process: a service process with its dispatcher (for tests and metrics)."""

    dispatcher: Dispatcher


def build_notify(
    settings: Settings,
    clock: Clock | None = None,
    tracer_provider: TracerProvider | None = None,
    notify_settings: NotifySettings | None = None,
    senders: dict[str, Sender] | None = None,
    rng: random.Random | None = None,
) -> NotifyProcess:
    """``senders`` replaces the webhook and e-mail senders (tests); ``rng`` draws the jitter."""
    clock = clock or SystemClock()
    ns = notify_settings or NotifySettings()
    app = NotifyApplication(env=store_env(settings, NOTIFY), clock=clock, policy=ns.policy())
    spec = ServiceSpec(
        NOTIFY,
        app,
        notify_translate,
        notify_command_from,
        router=lambda on_recorded: notify_router(app, on_recorded),
        verify=verify_service,
    )
    process = NotifyProcess(spec, settings, clock, tracer_provider)
    # The dispatcher runs beside the relay and the consumers, one of the process's loops; it
    # opens targets over the process's own connection.
    process.dispatcher = Dispatcher(
        app,
        clock,
        senders
        or {
            "webhook": WebhookSender(ns.notify_webhook_timeout_seconds),
            "email": EmailSender(ns.smtp()),
        },
        TargetOpener(lambda: process.broker.connection.jetstream()),
        process.relay.wake,
        per_contact=ns.notify_per_contact,
        rng=rng,
        faults=FaultInjector(settings.fault_point, settings.fault_after_batches),
    )
    process.loops.append(process.dispatcher.run)
    process.registry.register(DispatcherMetrics(process.dispatcher))
    return process


def build_service(
    name: str,
    settings: Settings,
    clock: Clock | None = None,
    tracer_provider: TracerProvider | None = None,
) -> ServiceProcess:
    """One service by name, as ``chb serve`` runs it."""
    if name == "clear":
        return build_clear(settings, clock, tracer_provider=tracer_provider)
    if name == "hold":
        return build_hold(settings, clock, tracer_provider)
    if name == "build":
        return build_build(settings, clock, tracer_provider)
    if name == "notify":
        return build_notify(settings, clock, tracer_provider)
    raise ValueError(f"no service {name!r}")
