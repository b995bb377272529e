"""Build's side: ``chb milestones``, ``chb indicators import`` and ``chb report place``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from contracts.place import same_place
from services.cli.client import call
from services.cli.output import AsJson, console, err, fail, show
from services.cli.root import app, group

indicators_app = group("indicators", "Outcome indicators per place.")
report_app = group("report", "Reports per place (HTML and PNG charts).")

MILESTONE_COLUMNS = [
    "milestone_id",
    "place",
    "days_after_conclusion",
    "label",
    "owner_agency",
    "due_at",
    "causation_id",
]


@app.command("milestones")
def milestones(
    operation: Annotated[str | None, typer.Option(help="One operation's milestones")] = None,
    as_json: AsJson = False,
) -> None:
    """List resilience-plan milestones."""
    rows = call("GET", "/milestones", params={"operation_id": operation} if operation else None)
    show(rows, MILESTONE_COLUMNS, as_json, "milestones")


@indicators_app.command("import")
def indicators_import(file: Path) -> None:
    """Import an indicator CSV (place, indicator, series, period_start, value, unit, source).

    The whole file is checked first: any bad row is reported (row, column, reason) and nothing
    is imported. A good file goes in chunks with a progress bar, and counts only once all of it
    has arrived.
    """
    from rich.progress import Progress

    from contracts.build_commands import IMPORT_CHUNK_ROWS
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
        "POST", "/indicator-imports", {"file_name": file.name, "rows_expected": len(rows)}
    )
    import_id = started["import_id"]
    with Progress(console=err, transient=True) as progress:
        bar = progress.add_task(f"importing {file.name}", total=len(rows))
        for first in range(0, len(rows), IMPORT_CHUNK_ROWS):
            chunk = rows[first : first + IMPORT_CHUNK_ROWS]
            body = {"rows": [row.model_dump(mode="json") for row in chunk]}
            call("POST", f"/indicator-imports/{import_id}/rows", body)
            progress.advance(bar, len(chunk))
    call("POST", f"/indicator-imports/{import_id}/commit")
    console.print(f"imported {len(rows)} rows from {file.name} (import {import_id})")


@report_app.command("place")
def report_place(
    name: str,
    out: Annotated[Path, typer.Option(help="Directory to write index.html and charts into")],
    public: Annotated[
        bool, typer.Option("--public", help="Aggregates only, small counts suppressed")
    ] = False,
    threshold: Annotated[int, typer.Option(help="Counts under this are suppressed")] = 5,
) -> None:
    """Write a place's report: indicators around each operation, milestones, programme spend."""
    from services.build.report import write_place_report

    operations = []
    for op in call("GET", "/operations"):
        if not same_place(op["place"], name) or "concluded_at" not in op:
            continue
        hold = call("GET", f"/operations/{op['operation_id']}/hold")
        operations.append(
            {
                "operation_id": op["operation_id"],
                "name": op["name"],
                "launched": op.get("launched_at", op["planned_start"])[:10],
                "concluded": op["concluded_at"][:10],
                "hold": hold,
            }
        )
    place = {"place": name}
    cases = [] if public else call("GET", "/cases")
    data = {
        "operations": operations,
        "indicators": call("GET", "/indicators", params=place),
        "milestones": call("GET", "/milestones", params=place),
        "programmes": call("GET", "/programmes", params=place),
        "cases": [c for c in cases if same_place(c["place"], name)],
    }
    page = write_place_report(name, data, out, public=public, threshold=threshold)
    console.print(f"{'public ' if public else ''}report for {name}: {page}")
