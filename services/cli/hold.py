"""Hold's side: ``chb cases``, ``chb tasks`` (the task board), ``chb hold-summary`` and
``chb playbook``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.client import call
from services.cli.output import AsJson, console, err, fail, show, show_json
from services.cli.root import app, group

playbook_app = group("playbook", "Check and adopt hold playbooks.")

CASE_COLUMNS = ["case_id", "household_ref", "place", "children", "arrest_ids", "causation_id"]
# The board's columns; causation, correlation and playbook are in --json and `chb task show`.
TASK_COLUMNS = ["task_id", "kind", "place", "agency", "status", "due_at", "escalation_level"]


@app.command("cases")
def cases(
    operation: Annotated[str | None, typer.Option(help="One operation's cases")] = None,
    as_json: AsJson = False,
) -> None:
    """List whanau cases."""
    rows = call("GET", "/cases", params={"operation_id": operation} if operation else None)
    show(rows, CASE_COLUMNS, as_json, "cases")


@app.command("tasks")
def tasks(
    operation: Annotated[str | None, typer.Option(help="One operation's tasks")] = None,
    agency: Annotated[str | None, typer.Option(help="The agency holding the task now")] = None,
    status: Annotated[
        str | None,
        typer.Option(help="offered, accepted, assigned, in_progress, completed, closed, unplaced"),
    ] = None,
    place: Annotated[str | None, typer.Option(help="One place's tasks")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only unfinished tasks past their due time")
    ] = False,
    ids: Annotated[bool, typer.Option("--ids", help="Print only the task ids, one a line")] = False,
    as_json: AsJson = False,
) -> None:
    """The task board, with each task's whole id."""
    given = {"operation_id": operation, "agency": agency, "status": status, "place": place}
    params: dict[str, Any] = {k: v for k, v in given.items() if v}
    if overdue:
        params["overdue"] = "true"
    rows = call("GET", "/tasks", params=params)
    if ids:
        for row in rows:
            console.print(row["task_id"], highlight=False)
        return
    show(rows, TASK_COLUMNS, as_json, "tasks")


@app.command("hold-summary")
def hold_summary(operation_id: str) -> None:
    """An operation's Hold phase: households, children, tasks, timeliness, escalations."""
    show_json(call("GET", f"/operations/{operation_id}/hold"))


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
    from services.cli.register import RegisterFileInvalid, read_register_file
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
) -> None:
    """Adopt a playbook nationally (default), for a place, or for one operation."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror}", 2)
    body = {"toml": text, "place": place, "operation_id": operation, "reason": reason}
    result = call("POST", "/playbooks", body)
    console.print(f"{result['playbook']} in force for {result['scope']}")
