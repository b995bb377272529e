"""The system on a 3-node NATS cluster and PostgreSQL, as real processes, for the fault tests;
and the planners' side of every test that drives clear over NATS (``Ledger``, ``send``,
``caught_up``).

Commands go straight to clear over NATS as the API would send them, each with its own command
id and retried with that id until answered: a lost reply, a dead node or a failover costs a
retry, never a second arrest (clear keeps a receipt per command id).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import nats
from nats.aio.client import Client

from services.runtime.embedded_nats import EmbeddedCluster
from services.runtime.nats_access import connect
from services.runtime.nats_permissions import ADMIN, AUDITOR
from services.runtime.provisioning import provision_as
from services.runtime.settings import Settings
from services.runtime.topology import command_subject
from tests.conftest import TEST_JWT_KEY, drop_schemas, require_postgres
from tests.support.processes import Processes, status

ACTOR = {"id": "test-planner", "agency": "police", "role": "planner"}


@dataclass
class ClusterSystem:
    cluster: EmbeddedCluster
    settings: Settings  # the services' (PostgreSQL, three replicas), connecting as the auditor
    procs: Processes
    admin: Settings

    async def connect(self) -> Client:
        """A connection as the admin, which fails over between the nodes like a service."""
        return await connect(self.admin, max_reconnect_attempts=-1, reconnect_time_wait=0.2)

    def start_services(self, **env: str) -> None:
        for name in ("clear", "hold", "build"):
            self.procs.start(name, **env)


@asynccontextmanager
async def cluster_system(tmp_path: Path, **overrides: Any) -> AsyncIterator[ClusterSystem]:
    """Three nats-servers on loopback, every stream provisioned with three replicas by the
    admin, and settings for the services on their own PostgreSQL schemas. The services are
    started by the test (``start_services``), so it can choose their environment."""
    cluster = EmbeddedCluster(tmp_path / "nats")
    await asyncio.to_thread(cluster.start)
    admin = Settings(**cluster.access(ADMIN), stream_replicas=3)
    settings = Settings(
        **cluster.access(AUDITOR),
        store="postgres",
        postgres_schema_prefix=f"t{uuid4().hex[:10]}_",
        stream_replicas=3,
        data_dir=tmp_path / "stores",
        jwt_key=TEST_JWT_KEY,
        **{"ack_wait_seconds": 3.0, **overrides},
    )
    try:
        require_postgres(settings)
        await provision_as(admin)
        procs = Processes(settings, tmp_path / "logs", passwords=cluster.passwords)
        try:
            yield ClusterSystem(cluster, settings, procs, admin)
        finally:
            procs.stop_all()
            drop_schemas(settings)
    finally:
        await asyncio.to_thread(cluster.stop)


@dataclass
class Ledger:
    """What the planners were told was recorded, in the order they were told."""

    operations: list[str] = field(default_factory=list)
    arrests: list[dict[str, Any]] = field(default_factory=list)
    retries: int = 0


async def send(
    nc: Client, ledger: Ledger, name: str, body: dict[str, Any], within: float = 120.0
) -> dict[str, Any]:
    """Send a command until clear answers it. A command that makes something carries one
    command id for all its attempts; launch and conclude are not repeated once done (a retry
    whose first attempt went through is refused as already done: that counts as done)."""
    payload = json.dumps(body | {"actor": ACTOR}).encode()
    deadline = time.monotonic() + within
    attempt = 0
    while True:
        attempt += 1
        try:
            reply = await nc.request(command_subject("clear", name), payload, timeout=3)
        except (nats.errors.Error, TimeoutError) as error:
            if time.monotonic() > deadline:
                raise AssertionError(f"clear never answered {name}: {error!r}") from None
            ledger.retries += 1
            await asyncio.sleep(0.2)
            continue
        result: dict[str, Any] = json.loads(reply.data)
        if (
            result["status"] == 409
            and attempt > 1
            and name in ("launch_operation", "conclude_operation")
        ):
            return {}
        assert result["status"] < 400, result
        answer: dict[str, Any] = result["result"]
        return answer


async def plan_and_launch(nc: Client, ledger: Ledger, places: list[str]) -> None:
    for place in places:
        op = (
            await send(
                nc,
                ledger,
                "plan_operation",
                {
                    "name": "Operation Highwater",
                    "district": "Eastern",
                    "place": place,
                    "target_group": "supply network",
                    "planned_start": "2026-03-01T05:00:00+13:00",
                    "command_id": str(uuid4()),
                },
            )
        )["operation_id"]
        await send(nc, ledger, "launch_operation", {"operation_id": op})
        ledger.operations.append(op)


async def produce(
    nc: Client, ledger: Ledger, stopping: asyncio.Event, lanes: int = 4, per_household: int = 3
) -> None:
    """Arrests on ``lanes`` concurrent planners until ``stopping``, each planner with its own
    households and waiting for each answer, so each household's arrests have an order."""

    async def lane(number: int) -> None:
        i = 0
        while not stopping.is_set():
            household = f"L{number}-H{i // per_household}"
            arrest = {
                # A household belongs to one operation: all its arrests go to that one.
                "operation_id": ledger.operations[(number + i // per_household) % 2],
                "person_ref": f"L{number}-P-{i}",
                "household_ref": household,
                "charges": ["supply"],
                "children": [{"child_ref": f"{household}-C"}] if i % 2 else [],
                "only_carer_present": i % 5 == 0,
                "command_id": str(uuid4()),
            }
            arrest["arrest_id"] = (await send(nc, ledger, "record_arrest", arrest))["arrest_id"]
            ledger.arrests.append(arrest)
            i += 1
            await asyncio.sleep(0.02)

    await asyncio.gather(*(lane(n) for n in range(lanes)))


async def caught_up(nc: Client) -> bool:
    """clear's outbox is empty, hold and build have processed all it published, and their own
    outboxes are empty too."""
    found = [await status(nc, s) for s in ("clear", "hold", "build")]
    if not all(found):
        return False
    clear, hold, build = found
    assert clear and hold and build
    upstream = clear["relay"]["published_notification_id"]
    consumed = all(
        c["tracking_position"] == upstream for s in (hold, build) for c in s["consumers"].values()
    )
    relayed = all(
        s["relay"]["read_notification_id"] == s["store_notification_id"]
        for s in (clear, hold, build)
    )
    return consumed and relayed and bool(upstream)
