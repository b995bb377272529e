"""``chb operation``, ``chb arrest``, ``chb seizure``, ``chb witness``: Clear's side."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from services.cli.client import call
from services.cli.output import AsJson, console, fail, show
from services.cli.root import group

operation_app = group("operation", "Plan, launch and conclude operations.")
arrest_app = group("arrest", "Record arrests.")
seizure_app = group("seizure", "Record seizures.")
witness_app = group("witness", "Register key witnesses.")

Children = Annotated[list[str] | None, typer.Option(help="CHILD_REF:AGE; repeat for several")]


@operation_app.command("plan")
def operation_plan(
    name: Annotated[str, typer.Option()],
    district: Annotated[str, typer.Option()],
    place: Annotated[str, typer.Option()],
    target_group: Annotated[str, typer.Option()],
    planned_start: Annotated[
        str | None, typer.Option(help="ISO time with zone; default now")
    ] = None,
) -> None:
    """Plan an operation; prints its id."""
    body = {
        "name": name,
        "district": district,
        "place": place,
        "target_group": target_group,
        "planned_start": planned_start or datetime.now(UTC).isoformat(),
    }
    console.print(call("POST", "/operations", body)["operation_id"])


@operation_app.command("launch")
def operation_launch(operation_id: str) -> None:
    """Launch a planned operation."""
    console.print(call("POST", f"/operations/{operation_id}/launch")["status"])


@operation_app.command("conclude")
def operation_conclude(operation_id: str) -> None:
    """Conclude a launched operation."""
    console.print(call("POST", f"/operations/{operation_id}/conclude")["status"])


@operation_app.command("show")
def operation_show(operation_id: str, as_json: AsJson = False) -> None:
    """Show an operation as clear holds it now."""
    row = call("GET", f"/operations/{operation_id}")
    columns = ["operation_id", "name", "place", "status", "arrests", "seizures", "event_id"]
    show(row, columns, as_json, "operation")


@arrest_app.command("record")
def arrest_record(
    operation_id: str,
    person_ref: Annotated[str, typer.Option(help="Opaque person reference (never a name)")],
    household_ref: Annotated[str, typer.Option(help="Opaque household reference")],
    charge: Annotated[list[str], typer.Option(help="A charge laid; repeat for several")],
    child: Children = None,
    only_carer: Annotated[
        bool, typer.Option(help="The arrested person was the children's only carer present")
    ] = False,
) -> None:
    """Record an arrest; prints the arrest id."""
    body = {
        "person_ref": person_ref,
        "household_ref": household_ref,
        "charges": charge,
        "children": children(child),
        "only_carer_present": only_carer,
    }
    console.print(call("POST", f"/operations/{operation_id}/arrests", body)["arrest_id"])


def children(items: list[str] | None) -> list[dict[str, Any]]:
    found = []
    for item in items or []:
        ref, _, age = item.rpartition(":")
        if not ref or not age.isdigit():
            fail(f"--child {item!r}: expected CHILD_REF:AGE, e.g. C-1:6", 2)
        found.append({"child_ref": ref, "age": int(age)})
    return found


@seizure_app.command("record")
def seizure_record(
    operation_id: str,
    kind: Annotated[str, typer.Option(help="drugs, firearm or cash")],
    description: Annotated[str, typer.Option()],
    quantity: Annotated[float, typer.Option()],
    unit: Annotated[str, typer.Option()],
) -> None:
    """Record a seizure; prints the seizure id."""
    body = {"kind": kind, "description": description, "quantity": quantity, "unit": unit}
    console.print(call("POST", f"/operations/{operation_id}/seizures", body)["seizure_id"])


@witness_app.command("register")
def witness_register(
    operation_id: str,
    witness_ref: Annotated[str, typer.Option(help="Opaque witness reference (never a name)")],
    household_ref: Annotated[str, typer.Option(help="Opaque household reference")],
    child: Children = None,
) -> None:
    """Register a key witness and their household for support; prints the witness id."""
    body = {"witness_ref": witness_ref, "household_ref": household_ref, "children": children(child)}
    console.print(call("POST", f"/operations/{operation_id}/witnesses", body)["witness_id"])
