"""Durability settings, read back from the running stores and servers (not from our config):
a write the system acknowledged must survive a crash of the machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import StorageType

from services.runtime.embedded_nats import EmbeddedCluster, EmbeddedNats
from services.runtime.nats_access import connect_options
from services.runtime.nats_permissions import ADMIN
from services.runtime.provisioning import provision_as
from services.runtime.settings import Settings
from services.runtime.topology import AUDIT_STREAM, SERVICES, stream_name
from services.views.stores import open_store

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


async def test_the_nats_servers_chb_up_starts_fsync_every_write_and_keep_streams_on_disk(
    tmp_path: Path,
) -> None:
    """Started as `chb up` and `chb cluster up` start them (``of_data_dir``), each server says
    through its own monitoring endpoint that it syncs every write before acknowledging it,
    with JetStream in the data directory; the streams provisioned on it as `chb up` does,
    read back from the server, are on disk, and the audit stream refuses deletes and purges."""
    with EmbeddedNats.of_data_dir(tmp_path / "up") as server:
        running = server.varz()["jetstream"]["config"]
        assert running["sync_always"] is True
        assert Path(running["store_dir"]).is_relative_to(tmp_path / "up" / "nats")
        await provision_as(Settings(**server.access(ADMIN)))
        nc = await nats.connect(server.url, **connect_options(Settings(**server.access(ADMIN))))
        try:
            js = nc.jetstream()
            for stream in [*map(stream_name, SERVICES), AUDIT_STREAM]:
                assert (await js.stream_info(stream)).config.storage == StorageType.FILE, stream
            audit = (await js.stream_info(AUDIT_STREAM)).config
            assert audit.deny_delete and audit.deny_purge
        finally:
            await nc.close()

    with EmbeddedCluster.of_data_dir(tmp_path / "cluster") as cluster:
        for node in cluster.nodes:
            assert node.varz()["jetstream"]["config"]["sync_always"] is True, node.name
