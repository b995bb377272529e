"""``chb agency``: the agency register over the API (add, change, list, show)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from services.cli.client import call
from services.cli.output import AsJson, console, fail, show
from services.cli.root import group

agency_app = group("agency", "The agency register: add, change, list and show agencies.")

KINDS_HELP = "police, government_agency, iwi, community_provider, council, oversight, ..."
Places = Annotated[list[str] | None, typer.Option("--place", help="A place it serves (repeatable)")]


@agency_app.command("add")
def agency_add(
    code: Annotated[str, typer.Argument(help="Lower-case code, e.g. te_runanga_o_ngai_tahu")],
    name: Annotated[str, typer.Option(help="Its name")],
    kind: Annotated[str, typer.Option(help=KINDS_HELP)],
    reason: Annotated[str, typer.Option(help="Why it is added (kept on the record)")],
    place: Places = None,
) -> None:
    """Register an agency (the leadership group's chair, or an administrator). Without
    --place it serves every place."""
    body = {"code": code, "name": name, "kind": kind, "places": place or [], "reason": reason}
    result = call("POST", "/agencies", body)
    console.print(f"{result['code']}: registered ({result['kind']})")


@agency_app.command("change")
def agency_change(
    code: str,
    reason: Annotated[str, typer.Option(help="Why it changes (kept on the record)")],
    name: Annotated[str | None, typer.Option(help="Its new name")] = None,
    kind: Annotated[str | None, typer.Option(help=KINDS_HELP)] = None,
    place: Places = None,
    national: Annotated[bool, typer.Option("--national", help="It serves every place")] = False,
) -> None:
    """Change an agency's name, kind or places (--place replaces them all)."""
    if national and place:
        fail("give --place or --national, not both", 2)
    places = [] if national else place
    body = {"name": name, "kind": kind, "places": places, "reason": reason}
    result = call("PATCH", f"/agencies/{code}", {k: v for k, v in body.items() if v is not None})
    console.print(f"{result['code']}: changed")


def _places(agency: dict[str, Any]) -> dict[str, Any]:
    return {**agency, "places": ", ".join(agency["places"]) or "(national)"}


@agency_app.command("list")
def agency_list(
    kind: Annotated[str | None, typer.Option(help=KINDS_HELP)] = None,
    place: Annotated[str | None, typer.Option(help="Those serving this place")] = None,
    as_json: AsJson = False,
) -> None:
    """The agency register."""
    params = {k: v for k, v in {"kind": kind, "place": place, "limit": 10_000}.items() if v}
    rows = call("GET", "/agencies", params=params)
    if as_json:
        show(rows, [], True, "agencies")
        return
    show([_places(a) for a in rows], ["code", "name", "kind", "places"], False, "agencies")


@agency_app.command("show")
def agency_show(code: str, as_json: AsJson = False) -> None:
    """One agency, and who added and changed it, when and why."""
    agency = call("GET", f"/agencies/{code}")
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
