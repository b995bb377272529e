"""Durability settings, read back from the running stores themselves (not from our config):
a write the system acknowledged must survive a crash of the machine."""

from __future__ import annotations

from typing import Any

import pytest

from services.audit.sources import open_store
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration

SQLITE_FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def setting(settings: Settings, service: str, query: str) -> Any:
    app = open_store(service, settings)
    try:
        datastore: Any = app.recorder.datastore  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(query)
            row = cursor.fetchone()
            return next(iter(row.values())) if isinstance(row, dict) else row[0]
    finally:
        app.close()


@pytest.mark.parametrize("service", ["clear", "hold", "build"])
def test_every_store_syncs_each_commit_to_disk(settings: Settings, service: str) -> None:
    """SQLite: each service's connection runs with ``synchronous = FULL`` (in WAL mode, so a
    commit is on disk before it returns). PostgreSQL: ``fsync`` and ``synchronous_commit``
    are on for the connection the service uses."""
    if settings.store == "sqlite":
        assert setting(settings, service, "PRAGMA journal_mode") == "wal"
        assert setting(settings, service, "PRAGMA synchronous") == SQLITE_FULL
    else:
        assert setting(settings, service, "SHOW fsync") == "on"
        assert setting(settings, service, "SHOW synchronous_commit") == "on"
