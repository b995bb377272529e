"""Durability settings, read back from the running stores and servers (not from our config):
a write the system acknowledged must survive a crash of the machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.audit.sources import open_store
from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration

DEPLOY_NATS = Path(__file__).parents[2] / "deploy" / "nats"
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


def test_the_nats_servers_fsync_every_write(nats_server: EmbeddedNats) -> None:
    """The server the suite (and `chb up`) runs reports ``sync_always`` itself; each deploy
    profile says ``sync_interval: always`` (the generator's tests start them)."""
    assert nats_server.varz()["jetstream"]["config"]["sync_always"] is True
    for profile in sorted(DEPLOY_NATS.glob("*.conf")):
        assert "sync_interval: always" in profile.read_text(encoding="utf-8"), profile
    assert len(list(DEPLOY_NATS.glob("*.conf"))) >= 2
