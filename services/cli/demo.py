"""``chb demo``: a short operation, played against a running system, narrated step by step."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from services.cli.client import call
from services.cli.output import console
from services.cli.root import app


def _wait_for(
    path: str, params: dict[str, Any], count: int, wait: float
) -> tuple[list[Any], float]:
    started = time.monotonic()
    rows: list[Any] = []
    while time.monotonic() - started < wait:
        rows = call("GET", path, params=params)
        if len(rows) >= count:
            break
        time.sleep(0.05)
    return rows, time.monotonic() - started


@app.command()
def demo(
    wait: Annotated[
        float, typer.Option(help="Seconds to wait at most for each effect (it goes on at once)")
    ] = 15.0,
) -> None:
    """Play a short operation against a running system and show what each service did."""
    say = console.print
    say("[bold]Clear[/bold]: a planner plans Operation Pakari in Mataura")
    plan = {
        "name": "Operation Pakari (demo)",
        "district": "Southland",
        "place": "Mataura",
        "target_group": "methamphetamine supply network",
        "planned_start": datetime.now(UTC).isoformat(),
    }
    op = call("POST", "/operations", plan)["operation_id"]
    say(f"  clear recorded OperationPlanned -> operation {op}")
    call("POST", f"/operations/{op}/launch")
    say("  clear recorded OperationLaunched")

    say(
        "[bold]Clear[/bold]: two adults of household HH-DEMO-1 are arrested; "
        "three children live there"
    )
    first = call(
        "POST",
        f"/operations/{op}/arrests",
        {
            "person_ref": "P-DEMO-1",
            "household_ref": "HH-DEMO-1",
            "charges": ["supply methamphetamine"],
            "children": [{"child_ref": "C-DEMO-1", "age": 4}, {"child_ref": "C-DEMO-2", "age": 9}],
            "only_carer_present": False,
        },
    )["arrest_id"]
    say(f"  clear recorded ArrestRecorded {first} (another carer present)")
    second = call(
        "POST",
        f"/operations/{op}/arrests",
        {
            "person_ref": "P-DEMO-2",
            "household_ref": "HH-DEMO-1",
            "charges": ["participation in an organised criminal group"],
            "children": [{"child_ref": "C-DEMO-2", "age": 9}, {"child_ref": "C-DEMO-3", "age": 15}],
            "only_carer_present": True,
        },
    )["arrest_id"]
    say(f"  clear recorded ArrestRecorded {second} (now no carer is left at home)")
    call(
        "POST",
        f"/operations/{op}/seizures",
        {"kind": "drugs", "description": "methamphetamine", "quantity": 1.2, "unit": "kg"},
    )
    say("  clear recorded SeizureRecorded (1.2 kg methamphetamine)")

    params = {"operation_id": op}
    cases, _ = _wait_for("/cases", params, 1, wait)
    tasks, took = _wait_for("/tasks", params, 3, wait)
    say(f"[bold]Hold[/bold] (seen after {took * 1000:.0f} ms, nobody asked it to):")
    for case in cases:
        say(
            f"  opened one whanau case {case['case_id']} for {case['household_ref']}: "
            f"{len(case['arrest_ids'])} arrests, {case['children']} children"
            f" (caused by event {case['causation_id']})"
        )
    for task in sorted(tasks, key=lambda t: t["due_at"]):
        say(f"  task {task['kind']:<24} lead {task['lead_agency']:<16} due {task['due_at']}")

    call("POST", f"/operations/{op}/conclude")
    say("[bold]Clear[/bold]: the operation is concluded")
    milestones, took = _wait_for("/milestones", params, 4, wait)
    say(f"[bold]Build[/bold] (seen after {took * 1000:.0f} ms):")
    for m in sorted(milestones, key=lambda m: m["days_after_conclusion"]):
        say(
            f"  milestone +{m['days_after_conclusion']:>3} days  {m['label']}"
            f"  (owner {m['owner_agency']})"
        )
    say(f"Every item carries correlation_id {op} and the causation_id of the event behind it.")
    if len(tasks) < 3 or len(milestones) < 4:
        raise SystemExit("demo: the expected effects did not appear in time; check `chb up` logs")
