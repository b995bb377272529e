"""Running the system: ``chb serve`` (one process, the production way), ``chb up`` (the
embedded system in the foreground) and ``chb cluster up`` (three nats-servers as one
cluster)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer

from services.cli.client import ADMIN_TOKEN_FILE, API_URL_FILE, NATS_URL_FILE
from services.cli.output import console, err, fail
from services.cli.root import app, group

if TYPE_CHECKING:  # the runtime imports stay inside the commands that need them
    from services.runtime.embedded_nats import LocalNats
    from services.runtime.settings import Settings
    from services.runtime.supervisor import Supervisor

SERVICES_AND_API = ("clear", "hold", "build", "notify", "api")
# How long `chb up` waits for a process it asked to stop before it kills it. A service's clean
# stop finishes its batch, then publishes and checkpoints what is left (each bounded by
# CHB_STOP_TIMEOUT_SECONDS): usually well under a second; a kill would leave that undone.
CHILD_STOP_SECONDS = 30.0
POLL_SECONDS = 0.2


@app.command()
def serve(
    process: Annotated[str, typer.Argument(help="clear, hold, build, notify or api")],
    nats_url: Annotated[str | None, typer.Option(help="NATS URL (CHB_NATS_URL)")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Directory for SQLite stores")] = None,
    store: Annotated[str | None, typer.Option(help="sqlite, postgres or memory")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (api only)")] = None,
) -> None:
    """Run one process against a NATS URL and a store: the production way."""
    from services.runtime.settings import Settings

    if process not in SERVICES_AND_API:
        fail(f"unknown process {process!r}: choose one of {', '.join(SERVICES_AND_API)}", 2)
    given: dict[str, Any] = dict(nats_url=nats_url, data_dir=data_dir, store=store, api_port=port)
    try:
        settings = Settings(**{k: v for k, v in given.items() if v is not None})
    except Exception as error:  # pydantic ValidationError: say which setting, on one line
        fail(f"bad settings: {error}".replace("\n", " "), 2)
    from services.runtime.logging import configure_logging
    from services.runtime.tracing import shutdown, tracer_provider

    configure_logging(process, settings.log_level)
    tracing = tracer_provider(settings, process)
    try:
        if process == "api":
            _serve_api(settings, tracing)
        else:
            from services.factories import build_service

            asyncio.run(build_service(process, settings, tracer_provider=tracing).serve())
    finally:
        shutdown(tracing)


def _serve_api(settings: Settings, tracing: Any) -> None:
    import uvicorn

    from services.api.app import create_app

    try:
        api = create_app(settings, tracer_provider=tracing)
    except ValueError as error:
        fail(str(error), 2)
    uvicorn.run(
        api, host=settings.api_host, port=settings.api_port, log_level="warning", access_log=False
    )


DataDirOption = Annotated[Path, typer.Option(help="Where the stores and NATS data live")]
PortOption = Annotated[int, typer.Option(help="HTTP port for the API")]
ReadyTimeout = Annotated[
    float, typer.Option(help="Seconds to wait for readiness without the views making progress")
]


@app.command()
def up(
    data_dir: DataDirOption = Path("data"),
    port: PortOption = 8080,
    store: Annotated[str, typer.Option(help="sqlite (default) or postgres")] = "sqlite",
    ready_timeout: ReadyTimeout = 60.0,
) -> None:
    """Start the embedded system in the foreground: NATS, clear, hold, build and the API.

    A process that crashes is started again (with a growing pause); one that keeps crashing
    stops everything. Ctrl-C or SIGTERM stops every process it started, cleanly (every event
    checkpointed).
    """
    from services.runtime.embedded_nats import EmbeddedNats

    data_dir = data_dir.resolve()
    run_system(EmbeddedNats.of_data_dir(data_dir), data_dir, port, store, ready_timeout, 1)


cluster_app = group("cluster", "A local NATS cluster: three nodes on loopback.")


@cluster_app.command("up")
def cluster_up(
    data_dir: DataDirOption = Path("data-cluster"),
    port: PortOption = 8080,
    store: Annotated[str, typer.Option(help="postgres (default) or sqlite")] = "postgres",
    ready_timeout: ReadyTimeout = 60.0,
) -> None:
    """Start three nats-servers on loopback as one JetStream cluster (every stream kept on all
    three), and clear, hold, build and the API against it, on PostgreSQL by default (the
    CHB_POSTGRES_* settings say where). The production shape, on one machine."""
    from services.runtime.embedded_nats import EmbeddedCluster

    data_dir = data_dir.resolve()
    cluster = EmbeddedCluster.of_data_dir(data_dir)
    run_system(cluster, data_dir, port, store, ready_timeout, len(cluster.nodes))


def provision(settings: Settings) -> None:
    from services.runtime.provisioning import provision_as

    asyncio.run(provision_as(settings))


def _admin_token(data_dir: Path) -> tuple[str, str]:
    """The token key kept in the data directory, and a fresh administrator token kept beside
    it, so the local walk-through (and `chb` commands) can use it."""
    from services.api.identity import ADMINISTRATOR, issue_token, key_in

    key = key_in(data_dir)
    admin = issue_token(key, "chb", ADMINISTRATOR, ttl=timedelta(days=30))
    token_file = data_dir / ADMIN_TOKEN_FILE
    token_file.touch(mode=0o600)
    token_file.write_text(admin + "\n", encoding="utf-8")
    return key, admin


def run_system(
    nats: LocalNats, data_dir: Path, port: int, store: str, ready_timeout: float, replicas: int
) -> None:
    """Start ``nats``, provision every stream as the admin, then the four processes, each as
    its own NATS user, kept running by the supervisor; wait until the API is ready; stop
    everything on Ctrl-C or SIGTERM, or when one process keeps crashing."""
    from services.runtime.logging import configure_logging
    from services.runtime.nats_permissions import ADMIN
    from services.runtime.settings import Settings
    from services.runtime.supervisor import STATUS_FILE, GaveUp, ProcessSpec, Supervisor

    if store not in ("sqlite", "postgres"):
        fail(f"unknown store {store!r}: choose sqlite or postgres", 2)
    data_dir.mkdir(parents=True, exist_ok=True)
    # Only warnings from this process (its own provisioning below); the children log to files.
    configure_logging("up", "warning")
    try:
        nats.start()
    except Exception as error:
        fail(f"cannot start NATS: {error}")
    # As the admin, every stream before any service starts: CHB_AUDIT can be made by no one else.
    try:
        provision(Settings(**nats.access(ADMIN), stream_replicas=replicas))
    except Exception as error:
        nats.stop()
        fail(f"cannot provision the streams: {error!r}")
    url = f"http://127.0.0.1:{port}"
    # Where the audit tools find this run's checkpoints and `chb` its API (removed at stop).
    running_files = {NATS_URL_FILE: nats.url, API_URL_FILE: url}
    for name, value in running_files.items():
        (data_dir / name).write_text(value + "\n", encoding="utf-8")
    key, admin = _admin_token(data_dir)
    env = {
        **os.environ,
        "CHB_JWT_KEY": key,
        "CHB_JWT_ISSUER": "chb",
        "CHB_NATS_URL": nats.url,
        "CHB_DATA_DIR": str(data_dir),
        "CHB_STORE": store,
        "CHB_API_PORT": str(port),
        "CHB_STREAM_REPLICAS": str(replicas),
    }
    # The embedded default needs no mail server: a sink on loopback keeps each e-mail the
    # notifier sends as <data>/mail/<n>.eml (production sets CHB_SMTP_HOST and the rest).
    sink = None
    if "CHB_SMTP_HOST" not in os.environ:
        from services.notify.mail_sink import MailSink

        sink = MailSink(data_dir / "mail").start()
        env |= {"CHB_SMTP_HOST": "127.0.0.1", "CHB_SMTP_PORT": str(sink.port)}
    env.setdefault("CHB_NOTIFY_LINK_BASE", url)
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    specs = [
        ProcessSpec(
            name,
            (sys.executable, "-m", "services.cli", "serve", name),
            # Each process is its own NATS user (services/runtime/nats_permissions.py).
            {**env, **nats.env(name)},
            logs / f"{name}.log",
        )
        for name in SERVICES_AND_API
    ]
    supervisor = Supervisor(
        specs,
        data_dir / STATUS_FILE,
        clock=time.monotonic,
        say=lambda line: err.print(line, markup=False, highlight=False, soft_wrap=True),
    )
    stopping = False

    def stop_all(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    try:
        supervisor.start_all()
        console.print(f"NATS {nats.url} (JetStream data in {data_dir})")
        ready = _wait_until_ready(supervisor, url, ready_timeout, lambda: stopping)
        if not ready and not stopping:
            fail(
                f"system did not become ready (not running: {supervisor.dead() or 'none'}); "
                f"logs in {logs}"
            )
        if ready:
            console.print(f"CHB is up. API: {url}  (logs in {logs}; Ctrl-C to stop)")
            console.print(
                f"Local administrator token (also in {data_dir / ADMIN_TOKEN_FILE}; "
                f"`chb` commands use it):\n{admin}",
                soft_wrap=True,
            )
            from services.api.identity import ADMINISTRATOR
            from services.api.pages.links import make_link

            link = make_link(url, key, "chb", ADMINISTRATOR)
            console.print(f"Sign in to the pages once (15 minutes): {link}", soft_wrap=True)
        while not stopping:
            supervisor.check()
            time.sleep(POLL_SECONDS)
    except GaveUp as error:
        fail(str(error))
    finally:
        supervisor.stop_all(CHILD_STOP_SECONDS)
        nats.stop()
        if sink is not None:
            sink.stop()
        for name in running_files:
            (data_dir / name).unlink(missing_ok=True)
        console.print("stopped")


def _wait_until_ready(
    supervisor: Supervisor, url: str, timeout: float, stopping: Callable[[], bool]
) -> bool:
    """Poll the API's /ready (restarting whatever crashes meanwhile) until it answers 200.
    ``timeout`` bounds a wait without progress: while /ready says its views are catching up
    and they have moved since the last look (a relay republishing a large store takes
    minutes), the wait goes on."""
    deadline = time.monotonic() + timeout
    applied = -1
    while not stopping() and time.monotonic() < deadline:
        supervisor.check()
        try:
            response = httpx.get(f"{url}/ready", timeout=1.0)
            if response.status_code == 200:
                return True
            now = _catch_up_applied(response)
            if now is not None and now > applied:
                if applied >= 0:
                    deadline = max(deadline, time.monotonic() + timeout)
                applied = now
        except httpx.HTTPError:
            pass
        time.sleep(POLL_SECONDS)
    return False


def _catch_up_applied(response: httpx.Response) -> int | None:
    """What the API's views have applied during a catch-up, from a 503 /ready; None if it is
    not catching up (or answers something else)."""
    try:
        catching_up = response.json().get("catching_up")
    except ValueError:
        return None
    if not isinstance(catching_up, dict) or not isinstance(catching_up.get("applied"), int):
        return None
    applied: int = catching_up["applied"]
    return applied
