"""``chb audit``: replay and examine the record (timeline, as-of, figures, export, verify,
reconcile, rebuild)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from services.cli.audit_sources import (
    DataDir,
    NatsUrl,
    StoreKind,
    audit_source,
    caught_up_index,
    nats_errors,
    nats_reader,
    running_nats,
    timeline_entries,
)
from services.cli.client import call
from services.cli.output import AsJson, console, err, fail, show
from services.cli.root import group

audit_app = group("audit", "Replay and examine the record.")
SERVICES = ("clear", "hold", "build", "notify")


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

    entries = timeline_entries(*audit_source(data_dir, store, nats_url), operation, place)
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
    settings, histories = audit_source(data_dir, store, nats_url)
    if histories is not None:
        state = state_of(replay(settings, moment, histories=histories), moment, op_id, place)
    else:
        # From the stores: through the audit index, so one operation costs its own events only.
        with caught_up_index(settings) as index:
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

    settings, histories = audit_source(data_dir, store, nats_url)
    entries = timeline_entries(settings, histories, operation, place)
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
    settings, histories = audit_source(data_dir, store, nats_url)
    files = {name: (out / name).open("w", encoding="utf-8") for name in TIMELINE_FILES}
    digests = {name: hashlib.sha256() for name in TIMELINE_FILES}
    by_service: dict[str, int] = dict.fromkeys(SERVICES, 0)

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
                entries: Iterable[Any] = timeline_entries(settings, histories, operation, place)
            else:
                index = stack.enter_context(caught_up_index(settings))
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

    settings, _ = audit_source(data_dir, store, None)
    embedded: EmbeddedNats | None = None
    nats_url = running_nats(settings, nats_url)
    if nats_url is None:
        if not (settings.data_dir / "nats" / "jetstream").is_dir():
            fail(f"no checkpoints found for {settings.data_dir}: pass --nats-url", 2)
        embedded = EmbeddedNats.of_data_dir(settings.data_dir).start()
        reader = settings.model_copy(update=embedded.access(AUDITOR))
    else:
        reader = nats_reader(settings, nats_url)
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

    settings, _ = audit_source(data_dir, store, None)
    nats_url = running_nats(settings, nats_url)
    if nats_url is None:
        fail(f"no running system found for {settings.data_dir}: pass --nats-url", 2)
    try:
        result = asyncio.run(reconcile_at(nats_reader(settings, nats_url)))
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
    as_json: AsJson = False,
) -> None:
    """Rebuild every read model from the event history alone and compare it with the live
    one: identical, or every difference listed (exit 1)."""
    from rich.progress import Progress

    from services.audit.timeline import replay
    from services.views.compare import LISTS, differences, rebuilt_lists

    settings, histories = audit_source(data_dir, store, nats_url)
    if histories is not None:
        model = replay(settings, histories=histories)
    else:
        with caught_up_index(settings) as index, Progress(console=err, transient=True) as bar:
            task = bar.add_task("replaying", total=index.count())
            model = index.replay(progress=lambda n: bar.advance(task, n))
    rebuilt = rebuilt_lists(model)
    live = {path: call("GET", path) for path in LISTS}
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
