"""Where the ``chb audit`` commands read the record: a running system's streams
(``--nats-url``), or the stores directly (``--data-dir``, or PostgreSQL by settings) through
the audit index beside them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from services.cli.client import NATS_URL_FILE
from services.cli.output import err, fail

if TYPE_CHECKING:
    from services.runtime.settings import Settings

DataDir = Annotated[Path | None, typer.Option(help="The stores' directory (SQLite)")]
NatsUrl = Annotated[
    str | None, typer.Option(help="Read a running system's streams instead of the stores")
]
StoreKind = Annotated[str | None, typer.Option(help="sqlite or postgres (CHB_STORE)")]
Operation = Annotated[str | None, typer.Option(help="One operation")]
Place = Annotated[str | None, typer.Option(help="Every operation in a place")]


def nats_errors() -> type[Exception]:
    import nats.errors

    return nats.errors.Error


def audit_source(
    data_dir: Path | None, store: str | None, nats_url: str | None
) -> tuple[Settings, Any]:
    """The settings, and the histories read from the streams when ``nats_url`` is given
    (else None: read the stores)."""
    from services.runtime.settings import Settings

    given: dict[str, Any] = {"data_dir": data_dir, "store": store}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    if nats_url:
        from services.audit.timeline import stream_histories

        try:
            return settings, asyncio.run(stream_histories(nats_reader(settings, nats_url)))
        except (OSError, nats_errors()) as error:
            fail(f"cannot read the streams at {nats_url}: {error!r}", 2)
    if settings.store == "sqlite" and not (settings.data_dir / "clear.sqlite").exists():
        fail(f"no clear store in {settings.data_dir}: pass --data-dir (the one `chb up` used)", 2)
    return settings, None


def timeline_entries(
    settings: Settings, histories: Any, operation: str | None, place: str | None
) -> list[Any]:
    """The timeline's entries, from the streams' histories or from the caught-up index."""
    from services.audit.timeline import timeline

    if histories is not None:
        return timeline(settings, operation, place, histories=histories)
    with caught_up_index(settings) as index:
        return list(index.entries(operation, place))


@contextlib.contextmanager
def caught_up_index(settings: Settings) -> Iterator[Any]:
    """The audit index beside the stores, first brought up to date (with a progress bar)."""
    from rich.progress import Progress

    from services.audit.index import open_index

    index = open_index(settings)
    try:
        backlog = index.backlog(settings)
        if backlog:
            with Progress(console=err, transient=True) as progress:
                bar = progress.add_task("indexing the history", total=backlog)
                index.catch_up(settings, lambda n: progress.advance(bar, n))
        yield index
    finally:
        index.close()


def running_nats(settings: Settings, nats_url: str | None) -> str | None:
    """``--nats-url`` if given, else the one the running `chb up` of the data directory wrote."""
    url_file = settings.data_dir / NATS_URL_FILE
    if nats_url is None and url_file.exists():
        return url_file.read_text(encoding="utf-8").strip()
    return nats_url


def nats_reader(settings: Settings, nats_url: str) -> Settings:
    """Settings to read the streams at ``nats_url`` with: the configured NATS user
    (CHB_NATS_USER, the auditor in production), else the auditor of the embedded server whose
    data (and passwords) `chb up` keeps in the data directory."""
    from services.runtime.embedded_nats import CREDENTIALS_FILE, local_credentials
    from services.runtime.nats_permissions import AUDITOR

    update: dict[str, Any] = {"nats_url": nats_url}
    embedded = settings.data_dir / "nats"
    if not settings.nats_user and (embedded / CREDENTIALS_FILE).exists():
        update |= {"nats_user": AUDITOR, "nats_password": local_credentials(embedded)[AUDITOR]}
    return settings.model_copy(update=update)
