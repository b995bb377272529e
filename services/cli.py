"""The ``chb`` command: run the system, run one process, and talk to a running system."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from uuid import UUID

import httpx
import typer
from rich.console import Console
from rich.table import Table

from contracts.commands import CloseReason, DeclineReason
from services.runtime.settings import Settings

if TYPE_CHECKING:  # the runtime imports stay inside the commands that need them
    from services.runtime.embedded_nats import LocalNats

app = typer.Typer(
    help="Clear, Hold, Build: coordinate operations, support and rebuilding.", no_args_is_help=True
)
operation_app = typer.Typer(help="Plan, launch and conclude operations.", no_args_is_help=True)
arrest_app = typer.Typer(help="Record arrests.", no_args_is_help=True)
seizure_app = typer.Typer(help="Record seizures.", no_args_is_help=True)
contracts_app = typer.Typer(help="Integration event contracts.", no_args_is_help=True)
playbook_app = typer.Typer(help="Check and adopt hold playbooks.", no_args_is_help=True)
task_app = typer.Typer(
    help="Work support tasks: accept, decline, assign, ...", no_args_is_help=True
)
app.add_typer(operation_app, name="operation")
app.add_typer(arrest_app, name="arrest")
app.add_typer(seizure_app, name="seizure")
app.add_typer(contracts_app, name="contracts")
app.add_typer(playbook_app, name="playbook")
app.add_typer(task_app, name="task")
agency_app = typer.Typer(
    help="The agency register: add, change, list and show agencies.", no_args_is_help=True
)
app.add_typer(agency_app, name="agency")
nats_app = typer.Typer(
    help="NATS: provision streams, write the deploy profiles.", no_args_is_help=True
)
app.add_typer(nats_app, name="nats")

console = Console()
if not console.is_terminal:  # piped or captured: do not squeeze tables into 80 columns
    console = Console(width=220)
err = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 220)

ApiUrl = Annotated[
    str, typer.Option("--api", envvar="CHB_API_URL", help="Base URL of a running API.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
SERVICES_AND_API = ("clear", "hold", "build", "api")
NATS_URL_FILE = "nats.url"
ADMIN_TOKEN_FILE = "admin.token"
# How long `chb up` waits for a process it asked to stop before it kills it. A service's clean
# stop finishes its batch, then publishes and checkpoints what is left (each bounded by
# CHB_STOP_TIMEOUT_SECONDS): usually well under a second; a kill would leave that undone.
CHILD_STOP_SECONDS = 30.0


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


# ---------------------------------------------------------------- running the system


@app.command()
def serve(
    process: Annotated[str, typer.Argument(help="clear, hold, build or api")],
    nats_url: Annotated[str | None, typer.Option(help="NATS URL (CHB_NATS_URL)")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Directory for SQLite stores")] = None,
    store: Annotated[str | None, typer.Option(help="sqlite, postgres or memory")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (api only)")] = None,
) -> None:
    """Run one process against a NATS URL and a store: the production way."""
    if process not in SERVICES_AND_API:
        fail(f"unknown process {process!r}: choose one of {', '.join(SERVICES_AND_API)}", 2)
    overrides: dict[str, Any] = {
        k: v
        for k, v in {
            "nats_url": nats_url,
            "data_dir": data_dir,
            "store": store,
            "api_port": port,
        }.items()
        if v is not None
    }
    try:
        settings = Settings(**overrides)
    except Exception as error:  # pydantic ValidationError: say which setting, on one line
        fail(f"bad settings: {error}".replace("\n", " "), 2)
    from services.runtime.logging import configure_logging

    configure_logging(process, settings.log_level)
    if process == "api":
        import uvicorn

        from services.api.app import create_app
        from services.runtime.tracing import shutdown, tracer_provider

        tracing = tracer_provider(settings, process)
        try:
            api = create_app(settings, tracer_provider=tracing)
        except ValueError as error:
            fail(str(error), 2)
        uvicorn.run(
            api,
            host=settings.api_host,
            port=settings.api_port,
            log_level="warning",
            access_log=False,
        )
        shutdown(tracing)
        return
    from services.factories import build_service
    from services.runtime.tracing import shutdown, tracer_provider

    tracing = tracer_provider(settings, process)
    service = build_service(process, settings, tracer_provider=tracing)
    try:
        asyncio.run(service.serve())
    finally:
        shutdown(tracing)


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option(help="Where the stores and NATS data live")] = Path(
        "data"
    ),
    port: Annotated[int, typer.Option(help="HTTP port for the API")] = 8080,
    store: Annotated[str, typer.Option(help="sqlite (default) or postgres")] = "sqlite",
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness")] = 60.0,
) -> None:
    """Start the embedded system in the foreground: NATS, clear, hold, build and the API.

    Ctrl-C or SIGTERM stops every process it started, cleanly (every event checkpointed).
    """
    from services.runtime.embedded_nats import EmbeddedNats

    data_dir = data_dir.resolve()
    nats = EmbeddedNats.of_data_dir(data_dir)
    _run_system(nats, data_dir, port, store, ready_timeout, replicas=1)


cluster_app = typer.Typer(help="A local NATS cluster: three nodes on loopback.")
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("up")
def cluster_up(
    data_dir: Annotated[Path, typer.Option(help="Where the stores and NATS data live")] = Path(
        "data-cluster"
    ),
    port: Annotated[int, typer.Option(help="HTTP port for the API")] = 8080,
    store: Annotated[str, typer.Option(help="postgres (default) or sqlite")] = "postgres",
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness")] = 60.0,
) -> None:
    """Start three nats-servers on loopback as one JetStream cluster (every stream kept on all
    three), and clear, hold, build and the API against it, on PostgreSQL by default (the
    CHB_POSTGRES_* settings say where). The production shape, on one machine."""
    from services.runtime.embedded_nats import EmbeddedCluster

    data_dir = data_dir.resolve()
    cluster = EmbeddedCluster.of_data_dir(data_dir)
    _run_system(cluster, data_dir, port, store, ready_timeout, replicas=len(cluster.nodes))


def _run_system(
    nats: LocalNats,
    data_dir: Path,
    port: int,
    store: str,
    ready_timeout: float,
    replicas: int,
) -> None:
    """Start ``nats``, provision every stream as the admin, then the four processes, each as
    its own NATS user; wait until the API is ready; stop everything on Ctrl-C or SIGTERM."""
    from services.api.identity import ADMINISTRATOR, issue_token, key_in
    from services.runtime.nats_permissions import ADMIN

    if store not in ("sqlite", "postgres"):
        fail(f"unknown store {store!r}: choose sqlite or postgres", 2)
    data_dir.mkdir(parents=True, exist_ok=True)
    from services.runtime.logging import configure_logging

    # Only warnings from this process (its own provisioning below); the children log to files.
    configure_logging("up", "warning")
    try:
        nats.start()
    except Exception as error:
        fail(f"cannot start NATS: {error}")
    # As the admin, every stream before any service starts: CHB_AUDIT can be made by no one else.
    try:
        _provision(Settings(**nats.access(ADMIN), stream_replicas=replicas))
    except Exception as error:
        nats.stop()
        fail(f"cannot provision the streams: {error!r}")
    # Where the audit tools find this run's checkpoints (removed again at stop).
    nats_url_file = data_dir / NATS_URL_FILE
    nats_url_file.write_text(nats.url + "\n", encoding="utf-8")
    # Tokens are signed with a key kept in the data directory; the administrator's token is
    # printed and kept beside it so the local walk-through (and `chb` commands) can use it.
    key = key_in(data_dir)
    admin = issue_token(key, "chb", ADMINISTRATOR, ttl=timedelta(days=30))
    token_file = data_dir / ADMIN_TOKEN_FILE
    token_file.touch(mode=0o600)
    token_file.write_text(admin + "\n", encoding="utf-8")
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
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop_all(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    try:
        for name in SERVICES_AND_API:
            with open(logs / f"{name}.log", "ab") as log_file:
                children.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "services.cli", "serve", name],
                        # Each process is its own NATS user (services/runtime/nats_permissions.py).
                        env={**env, **nats.env(name)},
                        stdout=log_file,
                        stderr=log_file,
                        stdin=subprocess.DEVNULL,
                    )
                )
        url = f"http://127.0.0.1:{port}"
        console.print(f"NATS {nats.url} (JetStream data in {data_dir})")
        deadline = time.monotonic() + ready_timeout
        ready = False
        while not stopping and time.monotonic() < deadline:
            if any(c.poll() is not None for c in children):
                break
            try:
                ready = httpx.get(f"{url}/ready", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                ready = False
            if ready:
                break
            time.sleep(0.2)
        if not ready and not stopping:
            dead = [
                n for n, c in zip(SERVICES_AND_API, children, strict=True) if c.poll() is not None
            ]
            fail(f"system did not become ready (exited: {dead or 'none'}); logs in {logs}")
        if ready:
            console.print(f"CHB is up. API: {url}  (logs in {logs}; Ctrl-C to stop)")
            console.print(
                f"Local administrator token (also in {token_file}; `chb` commands use it):\n"
                f"{admin}",
                soft_wrap=True,
            )
        while not stopping:
            for name, child in zip(SERVICES_AND_API, children, strict=True):
                if child.poll() is not None:
                    err.print(
                        f"{name} exited with {child.returncode}; stopping (see {logs / name}.log)"
                    )
                    stopping = True
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=CHILD_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        nats.stop()
        nats_url_file.unlink(missing_ok=True)
        console.print("stopped")


def _provision(settings: Settings) -> None:
    from services.runtime.provisioning import provision_as

    asyncio.run(provision_as(settings))


@nats_app.command("provision")
def nats_provision() -> None:
    """Create or update every stream, the audit stream CHB_AUDIT included, with
    CHB_STREAM_REPLICAS replicas. Run it as the admin NATS user (CHB_NATS_USER=admin) before
    the services start, and again after changing the streams' configuration."""
    settings = Settings()
    try:
        _provision(settings)
    except Exception as error:
        fail(f"cannot provision the streams at {settings.nats_url}: {error!r}", 2)
    console.print(f"streams provisioned at {settings.nats_url}")


@nats_app.command("deploy-configs")
def nats_deploy_configs(
    directory: Annotated[Path | None, typer.Argument(help="Defaults to deploy/nats")] = None,
    check: Annotated[bool, typer.Option(help="Only report differences; exit 1 if any")] = False,
) -> None:
    """Write the nats-server deploy profiles, rendered from the one definition of the users
    and their permissions (services/runtime/nats_permissions.py)."""
    from services.runtime import nats_config

    target = directory or nats_config.DEFAULT_DIRECTORY
    if check:
        differing = nats_config.check_profiles(target)
        if differing:
            names = ", ".join(differing)
            fail(f"deploy profiles out of date: {names}; run `chb nats deploy-configs`")
        console.print("deploy profiles up to date")
        return
    for path in nats_config.write_profiles(target):
        console.print(f"wrote {path}")


@contracts_app.command("export")
def contracts_export(
    directory: Annotated[Path | None, typer.Argument(help="Defaults to contracts/schemas")] = None,
    check: Annotated[bool, typer.Option(help="Only report differences; exit 1 if any")] = False,
) -> None:
    """Write every contract's JSON Schema and the AsyncAPI document."""
    from contracts import export

    target = directory or export.DEFAULT_DIRECTORY
    if check:
        differing = export.check_schemas(target)
        if differing:
            fail(f"schemas out of date: {', '.join(differing)}; run `chb contracts export`")
        console.print("schemas up to date")
        return
    for path in export.write_schemas(target):
        console.print(str(path))


# ---------------------------------------------------------------- talking to a running system


def bearer_token() -> str:
    """``CHB_TOKEN``, else the administrator token the local `chb up` keeps in its data
    directory (``CHB_DATA_DIR``, default ``data``)."""
    token = os.environ.get("CHB_TOKEN", "").strip()
    if token:
        return token
    kept = Settings().data_dir / ADMIN_TOKEN_FILE
    if kept.exists():
        return kept.read_text(encoding="utf-8").strip()
    fail(f"no token: set CHB_TOKEN (see `chb token issue`) or run `chb up` here ({kept} absent)", 2)


def call(
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    headers = dict(headers or {})
    if "Authorization" not in headers:
        headers["Authorization"] = f"Bearer {bearer_token()}"
    try:
        response = httpx.request(
            method, url, json=body, params=params, headers=headers, timeout=10.0
        )
    except httpx.HTTPError as error:
        fail(f"cannot reach {url}: {error}")
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text
        errors = (
            response.json().get("errors")
            if "json" in response.headers.get("content-type", "")
            else None
        )
        if errors:  # every error, one per line: a refused playbook's, or each field and why
            for e in errors:
                line = f"{e['field']}: {e['reason']}" if isinstance(e, dict) else str(e)
                err.print(line, highlight=False, markup=False)
        fail(f"{response.status_code}: {detail}")
    return response.json()


def show(
    rows: list[dict[str, Any]] | dict[str, Any], columns: list[str], as_json: bool, title: str
) -> None:
    if as_json:
        console.print_json(json.dumps(rows))
        return
    items = rows if isinstance(rows, list) else [rows]
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for item in items:
        table.add_row(*(str(item.get(c, "")) for c in columns))
    console.print(table)


@operation_app.command("plan")
def operation_plan(
    name: Annotated[str, typer.Option()],
    district: Annotated[str, typer.Option()],
    place: Annotated[str, typer.Option()],
    target_group: Annotated[str, typer.Option()],
    planned_start: Annotated[
        str | None, typer.Option(help="ISO time with zone; default now")
    ] = None,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Plan an operation; prints its id."""
    start = planned_start or datetime.now(UTC).isoformat()
    body = {
        "name": name,
        "district": district,
        "place": place,
        "target_group": target_group,
        "planned_start": start,
    }
    console.print(call("POST", f"{api}/operations", body)["operation_id"])


@operation_app.command("launch")
def operation_launch(operation_id: str, api: ApiUrl = "http://127.0.0.1:8080") -> None:
    """Launch a planned operation."""
    console.print(call("POST", f"{api}/operations/{operation_id}/launch")["status"])


@operation_app.command("conclude")
def operation_conclude(operation_id: str, api: ApiUrl = "http://127.0.0.1:8080") -> None:
    """Conclude a launched operation."""
    console.print(call("POST", f"{api}/operations/{operation_id}/conclude")["status"])


@operation_app.command("show")
def operation_show(
    operation_id: str, api: ApiUrl = "http://127.0.0.1:8080", as_json: AsJson = False
) -> None:
    """Show an operation as clear holds it now."""
    row = call("GET", f"{api}/operations/{operation_id}")
    show(
        row,
        ["operation_id", "name", "place", "status", "arrests", "seizures", "event_id"],
        as_json,
        "operation",
    )


@arrest_app.command("record")
def arrest_record(
    operation_id: str,
    person_ref: Annotated[str, typer.Option(help="Opaque person reference (never a name)")],
    household_ref: Annotated[str, typer.Option(help="Opaque household reference")],
    charge: Annotated[list[str], typer.Option(help="A charge laid; repeat for several")],
    child: Annotated[
        list[str] | None, typer.Option(help="CHILD_REF:AGE; repeat for several")
    ] = None,
    only_carer: Annotated[
        bool, typer.Option(help="The arrested person was the children's only carer present")
    ] = False,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Record an arrest; prints the arrest id."""
    children = _children(child)
    body = {
        "person_ref": person_ref,
        "household_ref": household_ref,
        "charges": charge,
        "children": children,
        "only_carer_present": only_carer,
    }
    console.print(call("POST", f"{api}/operations/{operation_id}/arrests", body)["arrest_id"])


def _children(items: list[str] | None) -> list[dict[str, Any]]:
    children = []
    for item in items or []:
        ref, _, age = item.rpartition(":")
        if not ref or not age.isdigit():
            fail(f"--child {item!r}: expected CHILD_REF:AGE, e.g. C-1:6", 2)
        children.append({"child_ref": ref, "age": int(age)})
    return children


@seizure_app.command("record")
def seizure_record(
    operation_id: str,
    kind: Annotated[str, typer.Option(help="drugs, firearm or cash")],
    description: Annotated[str, typer.Option()],
    quantity: Annotated[float, typer.Option()],
    unit: Annotated[str, typer.Option()],
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Record a seizure; prints the seizure id."""
    body = {"kind": kind, "description": description, "quantity": quantity, "unit": unit}
    console.print(call("POST", f"{api}/operations/{operation_id}/seizures", body)["seizure_id"])


witness_app = typer.Typer(help="Register key witnesses.", no_args_is_help=True)
app.add_typer(witness_app, name="witness")


@witness_app.command("register")
def witness_register(
    operation_id: str,
    witness_ref: Annotated[str, typer.Option(help="Opaque witness reference (never a name)")],
    household_ref: Annotated[str, typer.Option(help="Opaque household reference")],
    child: Annotated[list[str] | None, typer.Option(help="CHILD_REF:AGE; repeat")] = None,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Register a key witness and their household for support; prints the witness id."""
    body = {
        "witness_ref": witness_ref,
        "household_ref": household_ref,
        "children": _children(child),
    }
    console.print(call("POST", f"{api}/operations/{operation_id}/witnesses", body)["witness_id"])


indicators_app = typer.Typer(help="Outcome indicators per place.", no_args_is_help=True)
app.add_typer(indicators_app, name="indicators")


@indicators_app.command("import")
def indicators_import(
    file: Path,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Import an indicator CSV (place, indicator, series, period_start, value, unit, source).

    The whole file is checked first: any bad row is reported (row, column, reason) and nothing
    is imported. A good file goes in chunks with a progress bar, and counts only once all of it
    has arrived.
    """
    from rich.progress import Progress

    from contracts.commands import IMPORT_CHUNK_ROWS
    from services.build.indicators import read_indicator_csv

    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror}", 2)
    rows, rejected = read_indicator_csv(text)
    if rejected:
        err.print(f"{file}: {len(rejected)} problem(s); nothing imported", soft_wrap=True)
        table = Table()
        for column in ("row", "column", "reason"):
            table.add_column(column)
        for problem in rejected:
            table.add_row(str(problem.row), problem.column, problem.reason)
        err.print(table)
        raise typer.Exit(1)
    if not rows:
        fail(f"{file} has no rows to import", 1)
    started = call(
        "POST", f"{api}/indicator-imports", {"file_name": file.name, "rows_expected": len(rows)}
    )
    import_id = started["import_id"]
    with Progress(console=err, transient=True) as progress:
        bar = progress.add_task(f"importing {file.name}", total=len(rows))
        for first in range(0, len(rows), IMPORT_CHUNK_ROWS):
            chunk = rows[first : first + IMPORT_CHUNK_ROWS]
            body = {"rows": [row.model_dump(mode="json") for row in chunk]}
            call("POST", f"{api}/indicator-imports/{import_id}/rows", body)
            progress.advance(bar, len(chunk))
    call("POST", f"{api}/indicator-imports/{import_id}/commit")
    console.print(f"imported {len(rows)} rows from {file.name} (import {import_id})")


report_app = typer.Typer(help="Reports per place (HTML and PNG charts).", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("place")
def report_place(
    name: str,
    out: Annotated[Path, typer.Option(help="Directory to write index.html and charts into")],
    public: Annotated[bool, typer.Option(help="Aggregates only, small counts suppressed")] = False,
    threshold: Annotated[int, typer.Option(help="Counts under this are suppressed")] = 5,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Write a place's report: indicators around each operation, milestones, programme spend."""
    from services.build.report import write_place_report

    operations = []
    for op in call("GET", f"{api}/operations"):
        if op["place"].casefold() != name.casefold() or "concluded_at" not in op:
            continue
        hold = call("GET", f"{api}/operations/{op['operation_id']}/hold")
        operations.append(
            {
                "operation_id": op["operation_id"],
                "name": op["name"],
                "launched": op.get("launched_at", op["planned_start"])[:10],
                "concluded": op["concluded_at"][:10],
                "hold": hold,
            }
        )
    data = {
        "operations": operations,
        "indicators": call("GET", f"{api}/indicators", params={"place": name}),
        "milestones": call("GET", f"{api}/milestones", params={"place": name}),
        "programmes": call("GET", f"{api}/programmes", params={"place": name}),
        "cases": []
        if public
        else [c for c in call("GET", f"{api}/cases") if c["place"].casefold() == name.casefold()],
    }
    page = write_place_report(name, data, out, public=public, threshold=threshold)
    console.print(f"{'public ' if public else ''}report for {name}: {page}")


audit_app = typer.Typer(help="Replay and examine the record.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


token_app = typer.Typer(help="Bearer tokens for the API.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("issue")
def token_issue(
    role: Annotated[str, typer.Option(help="planner, agency_worker, auditor, ... (see README)")],
    agency: Annotated[str, typer.Option(help="The agency the person acts for, e.g. msd")],
    subject: Annotated[str, typer.Option(help="The person's opaque reference, never a name")] = (
        "local-user"
    ),
    place: Annotated[
        list[str] | None, typer.Option(help="Limit to this place (repeatable)")
    ] = None,
    operation: Annotated[
        list[str] | None, typer.Option(help="Limit to this operation id (repeatable)")
    ] = None,
    hours: Annotated[float, typer.Option(help="How long the token is valid")] = 12.0,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where `chb up` keeps its key (else CHB_JWT_KEY)")
    ] = None,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Print a signed token for local use and tests: the key is CHB_JWT_KEY, else the one
    `chb up` keeps in its data directory. The agency must be in the register: the seeded one,
    or the running API's (asked at --api when the agency is not a seeded one)."""
    from services.api.identity import ROLES, Identity, issue_token, local_signing_key
    from services.cli_agencies import token_agency_problem

    if role not in ROLES:
        fail(f"--role {role!r}: not one of {', '.join(ROLES)}", 2)
    if hours <= 0:
        fail(f"--hours {hours}: must be more than 0", 2)
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    key = local_signing_key(settings.jwt_key, settings.data_dir)
    if key is None:
        fail("no key: set CHB_JWT_KEY, or pass the --data-dir `chb up` used", 2)
    problem = token_agency_problem(role, agency, api, key, settings.jwt_issuer)
    if problem is not None:
        fail(problem)
    identity = Identity(subject, role, agency, tuple(place or ()), tuple(operation or ()))
    print(issue_token(key, settings.jwt_issuer, identity, ttl=timedelta(hours=hours)))


@audit_app.command("timeline")
def audit_timeline(
    operation: Annotated[str | None, typer.Option(help="One operation's timeline")] = None,
    place: Annotated[str | None, typer.Option(help="Every operation in a place")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="The stores' directory (SQLite)")] = None,
    store: Annotated[str | None, typer.Option(help="sqlite or postgres (CHB_STORE)")] = None,
    jsonl: Annotated[Path | None, typer.Option(help="Also write the timeline as JSONL")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Also write it as CSV")] = None,
    nats_url: NatsUrl = None,
    as_json: AsJson = False,
) -> None:
    """Every service's history merged into one timeline: when, who (person, agency, role),
    why, what caused each entry and what it caused. Reads the stores directly."""

    from dataclasses import asdict

    from services.audit.timeline import to_csv, to_jsonl

    entries = _replayed_timeline(data_dir, store, nats_url, operation, place)
    if jsonl:
        jsonl.write_text(to_jsonl(entries), encoding="utf-8")
    if csv_file:
        csv_file.write_text(to_csv(entries), encoding="utf-8")
    if as_json:
        console.print_json(json.dumps([asdict(e) for e in entries], ensure_ascii=False))
        return
    rows = [
        {
            "recorded_at": e.recorded_at[:23],
            "service": e.service,
            "event": e.headline,
            "who": f"{e.actor_id} ({e.actor_agency}, {e.actor_role})",
            "why": e.reason or "",
            "caused by": (e.causation_id or "")[:8],
            "caused": len(e.caused),
            "event_id": e.event_id[:8],
        }
        for e in entries
    ]
    columns = ["recorded_at", "service", "event", "who", "why", "caused by", "caused", "event_id"]
    show(rows, columns, False, f"timeline: {len(entries)} entries")


def _audit_source(
    data_dir: Path | None, store: str | None, nats_url: str | None
) -> tuple[Settings, Any]:
    """Where the record is read from: a running system's streams (``--nats-url``), or the
    stores directly (``--data-dir``, or PostgreSQL by settings)."""
    overrides: dict[str, Any] = {
        k: v for k, v in {"data_dir": data_dir, "store": store}.items() if v is not None
    }
    settings = Settings(**overrides)
    if nats_url:
        from services.audit.timeline import stream_histories

        try:
            return settings, asyncio.run(stream_histories(_nats_reader(settings, nats_url)))
        except (OSError, nats_errors()) as error:
            fail(f"cannot read the streams at {nats_url}: {error!r}", 2)
    if settings.store == "sqlite" and not (settings.data_dir / "clear.sqlite").exists():
        fail(f"no clear store in {settings.data_dir}: pass --data-dir (the one `chb up` used)", 2)
    return settings, None


def _replayed_timeline(
    data_dir: Path | None,
    store: str | None,
    nats_url: str | None,
    operation: str | None,
    place: str | None,
) -> list[Any]:
    """The timeline from the streams, or from the stores through the audit index."""
    settings, histories = _audit_source(data_dir, store, nats_url)
    return _entries(settings, histories, operation, place)


def _entries(
    settings: Settings, histories: Any, operation: str | None, place: str | None
) -> list[Any]:
    from services.audit.timeline import timeline

    if histories is not None:
        return timeline(settings, operation, place, histories=histories)
    with _caught_up_index(settings) as index:
        return list(index.entries(operation, place))


@contextlib.contextmanager
def _caught_up_index(settings: Settings) -> Iterator[Any]:
    """The audit index beside the stores, first brought up to date (with a progress bar)."""
    from rich.progress import Progress

    from services.audit.index import open_index

    index = open_index(settings)
    try:
        backlog = index.backlog(settings)
        if backlog:
            with Progress(console=err, transient=True) as progress:
                bar = progress.add_task("indexing the history", total=backlog)
                index.catch_up(settings, lambda n: progress.advance(bar, n))
        yield index
    finally:
        index.close()


def _running_nats(settings: Settings, nats_url: str | None) -> str | None:
    """``--nats-url`` if given, else the one the running `chb up` of the data directory wrote."""
    url_file = settings.data_dir / NATS_URL_FILE
    if nats_url is None and url_file.exists():
        return url_file.read_text(encoding="utf-8").strip()
    return nats_url


def _nats_reader(settings: Settings, nats_url: str) -> Settings:
    """Settings to read the streams at ``nats_url`` with: the configured NATS user
    (CHB_NATS_USER, the auditor in production), else the auditor of the embedded server whose
    data (and passwords) `chb up` keeps in the data directory."""
    from services.runtime.embedded_nats import CREDENTIALS_FILE, local_credentials
    from services.runtime.nats_permissions import AUDITOR

    update: dict[str, Any] = {"nats_url": nats_url}
    embedded = settings.data_dir / "nats"
    if not settings.nats_user and (embedded / CREDENTIALS_FILE).exists():
        update |= {"nats_user": AUDITOR, "nats_password": local_credentials(embedded)[AUDITOR]}
    return settings.model_copy(update=update)


def nats_errors() -> type[Exception]:
    import nats.errors

    return nats.errors.Error


DataDir = Annotated[Path | None, typer.Option(help="The stores' directory (SQLite)")]
NatsUrl = Annotated[
    str | None, typer.Option(help="Read a running system's streams instead of the stores")
]
StoreKind = Annotated[str | None, typer.Option(help="sqlite or postgres (CHB_STORE)")]


@audit_app.command("as-of")
def audit_as_of(
    at: Annotated[str, typer.Option(help="The moment, ISO 8601 with a zone")],
    operation: Annotated[str | None, typer.Option(help="Show this operation")] = None,
    place: Annotated[str | None, typer.Option(help="Show this place's resilience plan")] = None,
    data_dir: DataDir = None,
    store: StoreKind = None,
    nats_url: NatsUrl = None,
    as_json: AsJson = False,
) -> None:
    """What the system said at a moment: an operation, its cases, task board and milestones,
    and a place's plan, as they were then, rebuilt from the history up to that moment."""
    from services.audit.point_in_time import state_at, state_of
    from services.audit.timeline import replay

    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        fail(f"--at {at!r}: not an ISO 8601 time, e.g. 2026-03-01T14:05:00+13:00", 2)
    if moment.tzinfo is None:
        fail(f"--at {at!r}: give the time zone, e.g. +13:00 or Z", 2)
    try:
        op_id = UUID(operation) if operation else None
    except ValueError:
        fail(f"--operation {operation!r}: not an operation id", 2)
    settings, histories = _audit_source(data_dir, store, nats_url)
    if histories is not None:
        state = state_of(replay(settings, moment, histories=histories), moment, op_id, place)
    else:
        # From the stores: through the audit index, so one operation costs its own events only.
        with _caught_up_index(settings) as index:
            state = state_at(index, moment, op_id, place)
    if as_json:
        console.print_json(json.dumps(state, default=str))
        return
    when = moment.isoformat()
    if state["note"]:  # what had not happened yet: an empty table alone says nothing
        console.print(state["note"])
    if state["operation"]:
        columns = ["operation_id", "name", "place", "status", "arrests"]
        show(state["operation"], columns, False, f"operation as of {when}")
    if state.get("plan"):
        show(state["plan"], ["place", "phase", "opened_at"], False, f"plan as of {when}")
    if state["tasks"] or not state["note"]:
        columns = ["task_id", "kind", "agency", "status", "due_at"]
        show(state["tasks"], columns, False, f"tasks as of {when}")


@audit_app.command("figures")
def audit_figures(
    operation: Annotated[str | None, typer.Option(help="One operation")] = None,
    place: Annotated[str | None, typer.Option(help="Every operation in a place")] = None,
    data_dir: DataDir = None,
    store: StoreKind = None,
    nats_url: NatsUrl = None,
) -> None:
    """Accountability figures from the events alone (replay gives the same): time from arrest
    to first contact, share of tasks done within their due time, escalations, declines by
    reason, milestones met."""
    from services.audit.figures import figures

    settings, histories = _audit_source(data_dir, store, nats_url)
    entries = _entries(settings, histories, operation, place)
    scope = {"operation_id": operation, "place": place}
    console.print_json(json.dumps({**scope, **figures(entries)}))


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option(help="Directory for timeline.jsonl and timeline.csv")],
    operation: Annotated[str | None, typer.Option(help="One operation")] = None,
    place: Annotated[str | None, typer.Option(help="Every operation in a place")] = None,
    data_dir: DataDir = None,
    store: StoreKind = None,
    nats_url: NatsUrl = None,
) -> None:
    """Export the record (everything, or an operation or a place) as JSONL and CSV, with a
    manifest of counts and the SHA-256 of each file. From the stores it is streamed through
    the audit index: memory stays flat however long the history."""
    import hashlib

    from services.audit.timeline import csv_lines, jsonl_line

    out.mkdir(parents=True, exist_ok=True)
    settings, histories = _audit_source(data_dir, store, nats_url)
    files = {name: (out / name).open("w", encoding="utf-8") for name in TIMELINE_FILES}
    digests = {name: hashlib.sha256() for name in TIMELINE_FILES}
    by_service: dict[str, int] = dict.fromkeys(SERVICES_AND_API[:3], 0)

    def write(name: str, text: str) -> None:
        files[name].write(text)
        digests[name].update(text.encode("utf-8"))

    def counted(entries: Iterable[Any]) -> Iterator[Any]:
        for entry in entries:
            by_service[entry.service] += 1
            write("timeline.jsonl", jsonl_line(entry))
            yield entry

    try:
        with contextlib.ExitStack() as stack:
            if histories is not None:
                entries: Iterable[Any] = _entries(settings, histories, operation, place)
            else:
                index = stack.enter_context(_caught_up_index(settings))
                entries = index.entries(operation, place)
            for line in csv_lines(counted(entries)):
                write("timeline.csv", line)
    finally:
        for handle in files.values():
            handle.close()
    manifest: dict[str, Any] = {
        "exported_at": datetime.now(UTC).isoformat(),
        "scope": {"operation_id": operation, "place": place},
        "entries": sum(by_service.values()),
        "by_service": by_service,
        "files": {
            name: {"bytes": (out / name).stat().st_size, "sha256": digests[name].hexdigest()}
            for name in TIMELINE_FILES
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    console.print(f"exported {manifest['entries']} entries to {out}")


TIMELINE_FILES = ("timeline.jsonl", "timeline.csv")


@audit_app.command("verify")
def audit_verify(
    data_dir: DataDir = None,
    store: StoreKind = None,
    nats_url: Annotated[
        str | None,
        typer.Option(
            help="Where the checkpoints are (default: the running `chb up` of --data-dir, "
            "else its NATS data, started read-only for the check)"
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Fail (exit 1) on events not yet checkpointed too, not only warn"
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Walk every service's store against its hash-chain checkpoints on NATS. Tampering (the
    first event altered, removed, inserted or reordered, a checkpoint that does not follow, the
    audit stream gone) exits 1. Events not yet checkpointed (recorded after a service's last
    checkpoint, or before its first) are a warning with their count, exit 0, or exit 1 with
    --strict: a running system has about a second's worth, a clean stop (Ctrl-C or SIGTERM)
    leaves none, a killed service what its notary had not reached."""
    from rich.progress import Progress

    from services.audit.verify import verify_stores
    from services.runtime.embedded_nats import EmbeddedNats
    from services.runtime.nats_permissions import AUDITOR

    settings, _ = _audit_source(data_dir, store, None)
    embedded: EmbeddedNats | None = None
    nats_url = _running_nats(settings, nats_url)
    if nats_url is None:
        if not (settings.data_dir / "nats" / "jetstream").is_dir():
            fail(f"no checkpoints found for {settings.data_dir}: pass --nats-url", 2)
        embedded = EmbeddedNats.of_data_dir(settings.data_dir).start()
        reader = settings.model_copy(update=embedded.access(AUDITOR))
    else:
        reader = _nats_reader(settings, nats_url)
    try:
        with Progress(console=err, transient=True) as progress:
            bars: dict[str, Any] = {}

            def advance(service: str, n: int) -> None:
                if service not in bars:
                    bars[service] = progress.add_task(f"verifying {service}", total=None)
                progress.advance(bars[service], n)

            result = asyncio.run(verify_stores(reader, advance))
    except (OSError, nats_errors()) as error:
        fail(f"cannot read the checkpoints at {reader.nats_url}: {error!r}", 2)
    finally:
        if embedded is not None:
            embedded.stop()
    code = 0 if result.passes(strict) else 1
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
        raise typer.Exit(code)
    # One line per service: what passes on stdout, what fails (tampering; a tail under
    # --strict) on stderr, so a script sees the failures apart.
    for s in result.services:
        (console if s.passes(strict) else err).print(s.line(strict), markup=False, highlight=False)
    if result.not_yet_checkpointed and not strict:
        err.print(
            f"warning: {result.not_yet_checkpointed:,} events not yet checkpointed, so not "
            "verified (recorded after their service's last checkpoint: the system is running, "
            "or a service was killed rather than stopped); --strict fails on them",
            markup=False,
            highlight=False,
        )
    raise typer.Exit(code)


@audit_app.command("reconcile")
def audit_reconcile(
    data_dir: DataDir = None,
    store: StoreKind = None,
    nats_url: Annotated[
        str | None,
        typer.Option(help="The system's NATS (default: the running `chb up` of --data-dir)"),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Each downstream store against its upstream: the relay's lag (store ahead of stream), the
    consumer's lag (stream ahead of tracking), and any hole, a position ahead of the one it
    follows, as after a store restored from an older backup (exit 1)."""
    from services.audit.reconcile import reconcile_at

    settings, _ = _audit_source(data_dir, store, None)
    nats_url = _running_nats(settings, nats_url)
    if nats_url is None:
        fail(f"no running system found for {settings.data_dir}: pass --nats-url", 2)
    try:
        result = asyncio.run(reconcile_at(_nats_reader(settings, nats_url)))
    except (OSError, nats_errors()) as error:
        fail(f"cannot read the streams at {nats_url}: {error!r}", 2)
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
        raise typer.Exit(0 if result.ok else 1)
    rows = [
        {
            "upstream": link.upstream,
            "downstream": link.downstream,
            "stored": link.stored,
            "published": link.published,
            "processed": link.tracked,
            "relay lag": link.relay_lag,
            "consumer lag": link.consumer_lag,
            "holes": len(link.holes),
        }
        for link in result.links
    ]
    show(rows, list(rows[0]), False, "downstream stores against their upstreams")
    for link in result.links:
        for hole in link.holes:
            err.print(f"hole: {hole}", markup=False)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("rebuild")
def audit_rebuild(
    data_dir: DataDir = None,
    store: StoreKind = None,
    nats_url: NatsUrl = None,
    api: ApiUrl = "http://127.0.0.1:8080",
    as_json: AsJson = False,
) -> None:
    """Rebuild every read model from the event history alone and compare it with the live
    one: identical, or every difference listed (exit 1)."""
    from rich.progress import Progress

    from services.audit.timeline import replay
    from services.views.compare import LISTS, differences, rebuilt_lists

    settings, histories = _audit_source(data_dir, store, nats_url)
    if histories is not None:
        model = replay(settings, histories=histories)
    else:
        with _caught_up_index(settings) as index, Progress(console=err, transient=True) as bar:
            task = bar.add_task("replaying", total=index.count())
            model = index.replay(progress=lambda n: bar.advance(task, n))
    rebuilt = rebuilt_lists(model)
    live = {path: call("GET", f"{api}{path}") for path in LISTS}
    found = differences(live, rebuilt)
    items = sum(len(v) for v in rebuilt.values())
    if as_json:
        console.print_json(
            json.dumps({"identical": not found, "items": items, "differences": found})
        )
        raise typer.Exit(1 if found else 0)
    if found:
        for line in found:
            err.print(line, highlight=False, markup=False)
        fail(f"{len(found)} difference(s) between the live views and the history")
    console.print(f"identical: {items} items in {len(LISTS)} views rebuilt from the history")


@app.command("cases")
def cases(
    operation: Annotated[str | None, typer.Option()] = None,
    api: ApiUrl = "http://127.0.0.1:8080",
    as_json: AsJson = False,
) -> None:
    """List whanau cases."""
    rows = call("GET", f"{api}/cases", params={"operation_id": operation} if operation else None)
    show(
        rows,
        [
            "case_id",
            "household_ref",
            "place",
            "children",
            "arrest_ids",
            "causation_id",
            "correlation_id",
        ],
        as_json,
        "cases",
    )


@app.command("tasks")
def tasks(
    operation: Annotated[str | None, typer.Option()] = None,
    agency: Annotated[str | None, typer.Option(help="The agency holding the task now")] = None,
    status: Annotated[str | None, typer.Option()] = None,
    place: Annotated[str | None, typer.Option()] = None,
    overdue: Annotated[
        bool, typer.Option(help="Only unfinished tasks past their due time")
    ] = False,
    api: ApiUrl = "http://127.0.0.1:8080",
    as_json: AsJson = False,
) -> None:
    """The task board."""
    params: dict[str, Any] = {
        k: v
        for k, v in {
            "operation_id": operation,
            "agency": agency,
            "status": status,
            "place": place,
        }.items()
        if v
    }
    if overdue:
        params["overdue"] = "true"
    rows = call("GET", f"{api}/tasks", params=params)
    columns = ["task_id", "kind", "place", "agency", "status", "due_at", "escalation_level"]
    show(rows, [*columns, "playbook", "causation_id", "correlation_id"], as_json, "tasks")


@app.command("hold-summary")
def hold_summary(operation_id: str, api: ApiUrl = "http://127.0.0.1:8080") -> None:
    """An operation's Hold phase: households, children, tasks, timeliness, escalations."""
    console.print_json(json.dumps(call("GET", f"{api}/operations/{operation_id}/hold")))


@app.command("milestones")
def milestones(
    operation: Annotated[str | None, typer.Option()] = None,
    api: ApiUrl = "http://127.0.0.1:8080",
    as_json: AsJson = False,
) -> None:
    """List resilience-plan milestones."""
    rows = call(
        "GET", f"{api}/milestones", params={"operation_id": operation} if operation else None
    )
    show(
        rows,
        [
            "milestone_id",
            "place",
            "days_after_conclusion",
            "label",
            "owner_agency",
            "due_at",
            "causation_id",
        ],
        as_json,
        "milestones",
    )


@playbook_app.command("check")
def playbook_check(
    file: Path,
    agencies: Annotated[
        Path | None,
        typer.Option(
            help="A register to check the agencies against instead of the seeded one: a JSON "
            "list of codes, or what `chb agency list --json` prints"
        ),
    ] = None,
) -> None:
    """Validate a playbook offline, its agencies against the seeded register (or the one
    given); lists every error and exits 1 if it is invalid."""
    from contracts.agencies import SEEDED_CODES
    from services.cli_agencies import RegisterFileInvalid, read_register_file
    from services.hold.playbook import PlaybookInvalid, load_playbook_file

    try:
        register = read_register_file(agencies) if agencies is not None else SEEDED_CODES
    except RegisterFileInvalid as error:
        fail(str(error))
    try:
        playbook = load_playbook_file(file, register)
    except PlaybookInvalid as error:
        for line in error.errors:
            err.print(f"{file}: {line}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    console.print(f"{file}: valid: {playbook.label}, {len(playbook.rules)} rules")


@playbook_app.command("adopt")
def playbook_adopt(
    file: Path,
    place: Annotated[str | None, typer.Option(help="Adopt for this place")] = None,
    operation: Annotated[str | None, typer.Option(help="Adopt for this operation id")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept on the record)")] = None,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Adopt a playbook nationally (default), for a place, or for one operation."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror}", 2)
    body = {"toml": text, "place": place, "operation_id": operation, "reason": reason}
    result = call("POST", f"{api}/playbooks", body)
    console.print(f"{result['playbook']} in force for {result['scope']}")


KINDS_HELP = "police, government_agency, iwi, community_provider, council, oversight, ..."
Places = Annotated[list[str] | None, typer.Option("--place", help="A place it serves (repeatable)")]


@agency_app.command("add")
def agency_add(
    code: Annotated[str, typer.Argument(help="Lower-case code, e.g. te_runanga_o_ngai_tahu")],
    name: Annotated[str, typer.Option(help="Its name")],
    kind: Annotated[str, typer.Option(help=KINDS_HELP)],
    reason: Annotated[str, typer.Option(help="Why it is added (kept on the record)")],
    place: Places = None,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Register an agency (the leadership group's chair, or an administrator). Without
    --place it serves every place."""
    body = {"code": code, "name": name, "kind": kind, "places": place or [], "reason": reason}
    result = call("POST", f"{api}/agencies", body)
    console.print(f"{result['code']}: registered ({result['kind']})")


@agency_app.command("change")
def agency_change(
    code: str,
    reason: Annotated[str, typer.Option(help="Why it changes (kept on the record)")],
    name: Annotated[str | None, typer.Option(help="Its new name")] = None,
    kind: Annotated[str | None, typer.Option(help=KINDS_HELP)] = None,
    place: Places = None,
    national: Annotated[bool, typer.Option(help="It serves every place")] = False,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Change an agency's name, kind or places (--place replaces them all)."""
    if national and place:
        fail("give --place or --national, not both", 2)
    places = [] if national else place
    body = {"name": name, "kind": kind, "places": places, "reason": reason}
    result = call(
        "PATCH", f"{api}/agencies/{code}", {k: v for k, v in body.items() if v is not None}
    )
    console.print(f"{result['code']}: changed")


def _places(agency: dict[str, Any]) -> dict[str, Any]:
    return {**agency, "places": ", ".join(agency["places"]) or "(national)"}


@agency_app.command("list")
def agency_list(
    kind: Annotated[str | None, typer.Option(help=KINDS_HELP)] = None,
    place: Annotated[str | None, typer.Option(help="Those serving this place")] = None,
    api: ApiUrl = "http://127.0.0.1:8080",
    as_json: AsJson = False,
) -> None:
    """The agency register."""
    params = {k: v for k, v in {"kind": kind, "place": place, "limit": 10_000}.items() if v}
    rows = call("GET", f"{api}/agencies", params=params)
    if as_json:
        show(rows, [], True, "agencies")
        return
    show([_places(a) for a in rows], ["code", "name", "kind", "places"], False, "agencies")


@agency_app.command("show")
def agency_show(code: str, api: ApiUrl = "http://127.0.0.1:8080", as_json: AsJson = False) -> None:
    """One agency, and who added and changed it, when and why."""
    agency = call("GET", f"{api}/agencies/{code}")
    if as_json:
        show(agency, [], True, "agency")
        return
    show(_places(agency), ["code", "name", "kind", "places"], False, "agency")
    rows = [
        {
            "at": step["at"],
            "change": step["change"],
            "who": f"{step['actor']['id']} ({step['actor']['agency']}, {step['actor']['role']})",
            "why": step["reason"],
            "fields": ", ".join(f"{k}={v}" for k, v in step["fields"].items()),
        }
        for step in agency["history"]
    ]
    show(rows, ["at", "change", "who", "why", "fields"], False, "history")


def _task_action(action: str, task_id: str, agency: str, api: str, **details: Any) -> None:
    """Act as someone at ``agency``: with ``CHB_TOKEN`` the token decides who that is (and
    must be that agency's); locally, a token for that agency is minted with the key `chb up`
    keeps (``CHB_ACTOR_ID`` sets the person reference recorded on each step)."""
    from services.api.identity import Identity, issue_token, local_signing_key

    headers = {}
    if not os.environ.get("CHB_TOKEN"):
        settings = Settings()
        key = local_signing_key(settings.jwt_key, settings.data_dir)
        if key is None:
            fail("no token: set CHB_TOKEN to a token for someone at " + agency, 2)
        role = "leadership_group_chair" if action == "offer" else "agency_worker"
        person = Identity(os.environ.get("CHB_ACTOR_ID", "local-user"), role, agency)
        headers["Authorization"] = f"Bearer {issue_token(key, settings.jwt_issuer, person)}"
    body = {k: v for k, v in details.items() if v is not None}
    result = call("POST", f"{api}/tasks/{task_id}/{action}", body or None, headers=headers)
    console.print(f"{result['task_id']}: {result['status']} ({result['agency'] or 'no agency'})")


Agency = Annotated[str, typer.Option(help="Your agency (the one holding the task)")]
# The coded reasons the API takes (contracts.commands), as choices on the command line.
DeclineCode = Annotated[DeclineReason, typer.Option("--code", help="Why, as a code")]
CloseCode = Annotated[CloseReason, typer.Option("--code", help="Why, as a code")]


@task_app.command("accept")
def task_accept(task_id: str, agency: Agency, api: ApiUrl = "http://127.0.0.1:8080") -> None:
    """Accept a task offered to your agency."""
    _task_action("accept", task_id, agency, api)


@task_app.command("decline")
def task_decline(
    task_id: str,
    agency: Agency,
    code: DeclineCode,
    reason: Annotated[
        str | None, typer.Option(help="Why in words (needed for 'other'); sealed, never shown")
    ] = None,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Decline with a coded reason: the task goes to the next agency in its chain."""
    _task_action("decline", task_id, agency, api, reason_code=code, reason=reason)


@task_app.command("offer")
def task_offer(
    task_id: str,
    to_agency: Annotated[str, typer.Option(help="The agency to place it with")],
    agency: Annotated[str, typer.Option(help="Your agency (you act as its chair)")],
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Place a task with an agency (the leadership group, when the chain has run out)."""
    _task_action("offer", task_id, agency, api, to_agency=to_agency)


@task_app.command("assign")
def task_assign(
    task_id: str,
    agency: Agency,
    worker: Annotated[str, typer.Option(help="Worker reference")],
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Assign (or reassign) to a worker of your agency."""
    _task_action("assign", task_id, agency, api, worker_ref=worker)


@task_app.command("start")
def task_start(task_id: str, agency: Agency, api: ApiUrl = "http://127.0.0.1:8080") -> None:
    """Mark the work as in progress."""
    _task_action("start", task_id, agency, api)


@task_app.command("consent")
def task_consent(
    task_id: str,
    agency: Agency,
    referral_agency: Annotated[str, typer.Option()],
    override_role: Annotated[str | None, typer.Option(help="For an override: your role")] = None,
    reason: Annotated[str | None, typer.Option(help="For an override: why")] = None,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Record consent to a referral (or, with --override-role and --reason, an override)."""
    consent = "override" if override_role else "given"
    _task_action(
        "consent",
        task_id,
        agency,
        api,
        referral_agency=referral_agency,
        consent=consent,
        override_role=override_role,
        reason=reason,
    )


@task_app.command("complete")
def task_complete(
    task_id: str,
    agency: Agency,
    outcome: Annotated[str, typer.Option()],
    referral_agency: Annotated[str | None, typer.Option(help="Referred on to")] = None,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Complete with an outcome."""
    _task_action("complete", task_id, agency, api, outcome=outcome, referral_agency=referral_agency)


@task_app.command("close")
def task_close(
    task_id: str,
    agency: Agency,
    code: CloseCode,
    reason: Annotated[
        str | None, typer.Option(help="Why in words (needed for 'other'); sealed, never shown")
    ] = None,
    api: ApiUrl = "http://127.0.0.1:8080",
) -> None:
    """Close as unable to complete, with a coded reason."""
    _task_action("close", task_id, agency, api, reason_code=code, reason=reason)


@task_app.command("note")
def task_note(
    task_id: str, agency: Agency, text: str, api: ApiUrl = "http://127.0.0.1:8080"
) -> None:
    """Add a note to a task."""
    _task_action("note", task_id, agency, api, text=text)


@task_app.command("show")
def task_show(task_id: str, api: ApiUrl = "http://127.0.0.1:8080", as_json: AsJson = False) -> None:
    """A task and its whole history."""
    task = call("GET", f"{api}/tasks/{task_id}")
    if as_json:
        console.print_json(json.dumps(task))
        return
    console.print(
        f"{task['kind']} for case {task['case_id']}: {task['status']}, held by "
        f"{task['agency'] or 'no agency'}, due {task['due_at']} ({task['playbook']} "
        f"rule {task['rule_id']})"
    )
    rows = [
        {
            "at": step["at"],
            "change": step["change"],
            "who": f"{step['actor']['id']} ({step['actor']['agency']}, {step['actor']['role']})",
            "detail": ", ".join(f"{k}={v}" for k, v in step["detail"].items()),
        }
        for step in task["history"]
    ]
    show(rows, ["at", "change", "who", "detail"], False, "history")


@app.command()
def demo(
    api: ApiUrl = "http://127.0.0.1:8080",
    wait: Annotated[float, typer.Option(help="Seconds to wait for each effect")] = 5.0,
) -> None:
    """Play a short operation against a running system and show what each service did."""
    from services.demo import run_demo

    run_demo(api, console, wait, call)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
