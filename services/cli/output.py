"""What ``chb`` prints: the two consoles, tables, JSON, and the one-line error that ends a
command."""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

console = Console()
if not console.is_terminal:  # piped or captured: do not squeeze tables into 80 columns
    console = Console(width=220)
err = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 220)

AsJson = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, then exit ``code`` (1: refused or failed; 2: a usage problem)."""
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def is_identifier(column: str) -> bool:
    return column == "id" or column.endswith("_id")


def cell(value: Any) -> str:
    """A table cell: nothing for a missing value (never "None")."""
    return "" if value is None else str(value)


def show(
    rows: list[dict[str, Any]] | dict[str, Any], columns: list[str], as_json: bool, title: str
) -> None:
    """``rows`` as JSON, or as a table of ``columns``. Identifiers are never cut or wrapped,
    so they can be copied from the table whole."""
    if as_json:
        console.print_json(json.dumps(rows))
        return
    items = rows if isinstance(rows, list) else [rows]
    table = Table(title=title)
    for column in columns:
        # Other cells wrap, rather than being cut, when the terminal is narrow.
        table.add_column(column, no_wrap=is_identifier(column), overflow="fold")
    for item in items:
        table.add_row(*(cell(item.get(c)) for c in columns))
    console.print(table)


def show_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str, ensure_ascii=False))
