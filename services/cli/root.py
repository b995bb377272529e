"""The root ``chb`` command and its one option, ``--api``: the command modules add their
commands and groups to ``app``."""

from __future__ import annotations

from typing import Annotated

import typer

from services.cli.client import choose_api

app = typer.Typer(
    help="Clear, Hold, Build: coordinate operations, support and rebuilding.",
    no_args_is_help=True,
    # Flags show as `--json`, never with a `<bool>` placeholder; no rich markup in help text.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    context: typer.Context,
    api: Annotated[
        str | None,
        typer.Option(
            "--api",
            envvar=["CHB_API", "CHB_API_URL"],
            show_envvar=False,
            help="Base URL of the API to talk to (env CHB_API). Default: the API of the "
            "running `chb up` of the data directory (CHB_DATA_DIR, default data), "
            "else http://127.0.0.1:8080.",
            metavar="URL",
        ),
    ] = None,
) -> None:
    """Clear, Hold, Build: coordinate operations, support and rebuilding."""
    source = context.get_parameter_source("api")
    from_env = source is not None and source.name == "ENVIRONMENT"
    choose_api(api, "CHB_API" if from_env else "--api")


def group(name: str, help: str) -> typer.Typer:
    """A command group (``chb NAME ...``) added to the root."""
    sub = typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(sub, name=name)
    return sub
