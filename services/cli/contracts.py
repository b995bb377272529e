"""``chb contracts``: the integration events' JSON Schemas and AsyncAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.cli.output import console, fail
from services.cli.root import group

contracts_app = group("contracts", "Integration event contracts.")


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
