"""`chb cluster up` as an operator runs it: three nats-servers on loopback as one JetStream
cluster, every stream kept on all three, and the services on PostgreSQL behind the API."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from services.runtime.embedded_nats import free_port
from services.runtime.nats_access import connect
from services.runtime.nats_permissions import ADMIN
from services.runtime.settings import Settings
from services.runtime.topology import SERVICES, stream_name
from tests.conftest import drop_schemas, require_postgres
from tests.support.flows import START
from tests.support.processes import wait_for

pytestmark = [pytest.mark.system, pytest.mark.postgres]


def options(data: Path, port: int) -> list[str]:
    return ["--data-dir", str(data), "--port", str(port)]


def launch(tmp_path: Path, data: Path, port: int, prefix: str) -> subprocess.Popen[bytes]:
    with open(tmp_path / "cluster-up.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "cluster", "up", *options(data, port)],
            env={**os.environ, "CHB_POSTGRES_SCHEMA_PREFIX": prefix},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


async def test_chb_cluster_up_runs_the_system_on_three_nodes_and_postgresql(
    tmp_path: Path,
) -> None:
    """Ready with every stream on three nodes, an arrest becomes its tasks, and SIGTERM stops
    every process it started."""
    data, port = tmp_path / "data", free_port()
    prefix = f"t{uuid4().hex[:10]}_"
    settings = Settings(postgres_schema_prefix=prefix)
    require_postgres(settings)
    api = f"http://127.0.0.1:{port}"
    up = await asyncio.to_thread(launch, tmp_path, data, port, prefix)
    try:
        await asyncio.to_thread(
            wait_for, lambda: httpx.get(f"{api}/ready", timeout=2).status_code == 200, "ready"
        )
        ready = (await asyncio.to_thread(httpx.get, f"{api}/ready")).json()
        assert {s["store"] for s in ready["services"].values()} == {"postgres"}

        url = (data / "nats.url").read_text().strip()
        assert len(url.split(",")) == 3
        passwords = json.loads((data / "nats-cluster" / "credentials.json").read_text())
        admin = Settings(nats_url=url, nats_user=ADMIN, nats_password=passwords[ADMIN])
        nc = await connect(admin)
        try:
            for service in SERVICES:
                info = await nc.jetstream().stream_info(stream_name(service))
                assert info.config.num_replicas == 3
                assert info.cluster is not None and len(info.cluster.replicas or []) == 2
        finally:
            await nc.close()

        token = {"Authorization": f"Bearer {(data / 'admin.token').read_text().strip()}"}
        async with httpx.AsyncClient(base_url=api, headers=token) as client:
            planned = await client.post(
                "/operations",
                json={
                    "name": "Operation Pakari",
                    "district": "Southland",
                    "place": "Mataura",
                    "target_group": "supply network",
                    "planned_start": START,
                },
            )
            op = planned.json()["operation_id"]
            assert (await client.post(f"/operations/{op}/launch")).status_code == 200
            arrest = {
                "person_ref": "P-1",
                "household_ref": "HH-1",
                "charges": ["supply"],
                "children": [{"child_ref": "C-1", "age": 4}],
                "only_carer_present": True,
            }
            assert (await client.post(f"/operations/{op}/arrests", json=arrest)).status_code == 201
            for _ in range(150):
                if len((await client.get("/tasks", params={"operation_id": op})).json()) == 3:
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the arrest's tasks never appeared")
    finally:
        up.send_signal(signal.SIGTERM)
        await asyncio.to_thread(up.wait, 60)
        drop_schemas(settings)
    assert up.returncode == 0, (tmp_path / "cluster-up.log").read_text()
    assert not (data / "nats.url").exists()
