"""``chb views status|rebuild``: the API's views, through the running API (the administrator's)."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from services.cli.client import call
from services.cli.output import AsJson, console, err
from services.cli.root import group

views_app = group("views", "The API's views: which generation is served; a rebuild beside it.")


def _line(status: dict[str, Any]) -> str:
    applied = sum(status["positions"].values())
    role = "writes them" if status["leading"] else "reads them (another API process writes)"
    return f"generation {status['generation']} served, {applied:,} events applied; this API {role}"


@views_app.command("status")
def views_status(as_json: AsJson = False) -> None:
    """Which generation of the views is served, and a rebuild under way."""
    status = call("GET", "/views")
    if as_json:
        console.print_json(json.dumps(status))
        return
    console.print(_line(status))
    if rebuild := status["rebuild"]:
        console.print(
            f"rebuilding: generation {rebuild['generation']}, "
            f"{rebuild['applied']:,} of {rebuild['total']:,} events read"
            + ("; making its indexes" if rebuild.get("indexing") else "")
        )


@views_app.command("rebuild")
def views_rebuild(
    wait: Annotated[bool, typer.Option(help="Follow it to the end with a progress bar")] = True,
    every: Annotated[float, typer.Option(help="Seconds between looks", min=0.05)] = 0.5,
) -> None:
    """Rebuild every view from the streams into a new generation beside the one served (the
    API goes on answering from it, live), and serve the new one once it has caught up."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    started = call("POST", "/views/rebuild")
    generation = started["rebuild"]["generation"]
    err.print(
        f"rebuilding the views into generation {generation}, beside generation "
        f"{started['generation']}"
    )
    if not wait:
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("reading the streams", total=started["rebuild"]["total"] or 1)
        while True:
            status = call("GET", "/views")
            rebuild = status["rebuild"]
            if rebuild is None or rebuild["generation"] != generation:
                break
            what = "making the indexes" if rebuild.get("indexing") else "reading the streams"
            bar.update(
                task,
                description=what,
                completed=rebuild["applied"],
                total=max(rebuild["total"], 1),
            )
            time.sleep(every)
    if status["generation"] != generation:
        err.print(
            f"the rebuild of generation {generation} did not finish; "
            f"generation {status['generation']} is served"
        )
        raise typer.Exit(1)
    console.print(_line(status))
