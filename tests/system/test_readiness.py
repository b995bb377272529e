"""Readiness is false while a service cannot reach its store, its stream or NATS, and comes back
by itself once they are back; the API's /ready says so too."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse
from uuid import uuid4

import psycopg
import pytest

from services.factories import build_service
from services.runtime.nats_permissions import ADMIN
from services.runtime.process import ServiceProcess
from services.runtime.settings import Settings
from services.runtime.store import postgres_conninfo, sqlite_file
from services.runtime.topology import stream_name
from tests.support.flows import arrest, plan_and_launch
from tests.support.nats_users import as_user, connect_as
from tests.support.proxy import LossyProxy
from tests.support.system import InProcessSystem, eventually, running_system

pytestmark = pytest.mark.integration


async def ready(process: ServiceProcess) -> bool:
    return bool((await process.status())["ready"])


async def api_ready(system: InProcessSystem) -> dict[str, Any]:
    response = await system.api.get("/ready", headers={"X-Anonymous": "1"})
    body: dict[str, Any] = response.json()
    assert (response.status_code == 200) == body["ready"]
    return body


async def goes(system: InProcessSystem, process: ServiceProcess, up: bool, what: str) -> None:
    """The service's own status and the API's /ready both come to say ``up``."""
    await eventually(lambda: ready(process), lambda r: r is up, what=f"{what}: service")
    await eventually(
        lambda: api_ready(system),
        lambda body: body["ready"] is up and body["services"][process.service]["ready"] is up,
        what=f"{what}: the API's /ready",
    )


async def still_works(system: InProcessSystem, op: str, household: str) -> None:
    """An arrest recorded now reaches hold: the pipeline is whole again."""
    await arrest(system, op, f"P-{household}", household)
    await eventually(
        lambda: system.get("/cases", operation_id=op),
        lambda cases: any(c["household_ref"] == household for c in cases),
        what=f"the case of {household}",
    )


@contextlib.contextmanager
def postgres_login(settings: Settings) -> Iterator[tuple[Settings, Any]]:
    """A login role of the test's own, so that its logins can be refused and its connections
    ended without touching anyone else's (the server itself is never restarted)."""
    role = f"{settings.postgres_schema_prefix}login"
    admin = psycopg.connect(postgres_conninfo(settings), autocommit=True)
    ident = psycopg.sql.Identifier(role)
    admin.execute(psycopg.sql.SQL("CREATE ROLE {} LOGIN SUPERUSER").format(ident))

    def login(allowed: bool) -> None:
        admin.execute(
            psycopg.sql.SQL("ALTER ROLE {} " + ("LOGIN" if allowed else "NOLOGIN")).format(ident)
        )
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )

    try:
        yield settings.model_copy(update={"postgres_user": role}), login
    finally:
        login(False)
        admin.execute(psycopg.sql.SQL("REASSIGN OWNED BY {} TO postgres").format(ident))
        admin.execute(psycopg.sql.SQL("DROP ROLE {}").format(ident))
        admin.close()


async def test_a_service_whose_store_stops_answering_is_not_ready_until_it_answers(
    settings: Settings,
) -> None:
    """SQLite: hold's file moved away (a fresh connection finds no store, though the open ones
    would go on writing to the moved file); PostgreSQL: hold's role refused and its
    connections ended. Hold and the API's /ready say not ready; once the store is back
    both are ready and an arrest reaches hold again."""
    with contextlib.ExitStack() as stack:
        login: Any = None
        if settings.store == "postgres":
            settings, login = stack.enter_context(postgres_login(settings))
        async with running_system(settings) as system:
            op = await plan_and_launch(system)
            await still_works(system, op, "HH-1")
            hold = system.services["hold"]
            await goes(system, hold, True, "before")

            path = sqlite_file(settings, "hold")
            moved = path.with_suffix(".moved")
            if login is None:
                path.rename(moved)
            else:
                login(False)
            await goes(system, hold, False, "store gone")
            assert (await hold.status())["store_open"] is False

            if login is None:
                moved.rename(path)
            else:
                login(True)
            await goes(system, hold, True, "store back")
            await still_works(system, op, "HH-2")


async def test_a_service_whose_stream_is_lost_is_not_ready_until_it_is_made_again(
    settings: Settings,
) -> None:
    """Hold's stream deleted: hold and the API's /ready say not ready; hold's relay makes the
    stream again and publishes its store from the first event, and both are ready again. The
    API's read model, which stood past the new stream's end, reads every stream again: it
    shows both households' cases and tasks, none twice."""
    async with running_system(settings) as system:
        op = await plan_and_launch(system)
        await still_works(system, op, "HH-1")
        hold = system.services["hold"]
        published = (await hold.status())["relay"]["published_notification_id"]
        assert published > 0
        # Hold's relay notices the loss only when it next publishes; status() at once.
        nc = await connect_as(settings, ADMIN)
        await nc.jetstream().delete_stream(stream_name("hold"))
        await goes(system, hold, False, "stream gone")
        assert (await hold.status())["stream_ok"] is False

        # Hold records a case; its relay finds the stream gone, makes it and republishes.
        await arrest(system, op, "P-2", "HH-2")
        await goes(system, hold, True, "stream made again")
        # Ready means the stream is there to publish to; the republishing follows it, so wait
        # for the relay to have read the whole store before counting what it published.
        status = await eventually(
            hold.status,
            lambda s: s["relay"]["read_notification_id"] >= s["store_notification_id"],
            what="hold's store read again by its relay",
        )
        assert status["relay"]["published_notification_id"] > published
        info = await nc.jetstream().stream_info(stream_name("hold"))
        assert info.state.messages == status["relay"]["published_notification_id"], (
            "the whole store was published again, from its first event"
        )
        await nc.close()

        # The projector sees the stream made again (its creation time) and reads every stream
        # into a new generation, served once it has caught up. (The view served may meanwhile
        # have read the new stream's first events itself: that is no sign of the rebuild.)
        projector = system.app.state.door.projector

        async def rebuilt() -> tuple[int, object]:
            return projector.rebuilds, projector.progress()["rebuild"]

        await eventually(
            rebuilt,
            lambda r: r[0] >= 1 and r[1] is None,
            what="the views read again and the new generation served",
        )
        cases = await eventually(
            lambda: system.get("/cases", operation_id=op),
            lambda found: {c["household_ref"] for c in found} == {"HH-1", "HH-2"},
            what="both cases in the read model read again",
        )
        assert len(cases) == 2
        tasks = await system.get("/tasks", operation_id=op)
        assert len(tasks) == len({t["task_id"] for t in tasks}) == 4  # two per household


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_a_service_that_cannot_reach_nats_is_not_ready_until_it_reconnects(
    settings: Settings,
) -> None:
    """Hold's connection to NATS cut (a proxy between them refuses and drops): hold says not
    connected and not ready, the API's /ready is false (hold does not answer); restored, hold
    reconnects by itself and both are ready, and an arrest reaches hold."""
    url = urlparse(settings.nats_url)
    proxy = LossyProxy(url.port or 4222, upstream_host=url.hostname or "127.0.0.1")
    async with proxy.running(), running_system(settings) as system:
        await system.stop_service("hold")
        hold = build_service(
            "hold",
            as_user(settings, "hold").model_copy(
                update={"nats_url": f"nats://127.0.0.1:{proxy.port}"}
            ),
        )
        await hold.start()
        system.services["hold"] = hold
        op = await plan_and_launch(system)
        await goes(system, hold, True, "before")

        await proxy.cut()
        await goes(system, hold, False, "NATS cut")
        assert (await hold.status())["nats_connected"] is False

        await proxy.start()
        await goes(system, hold, True, "NATS back")
        await still_works(system, op, f"HH-{uuid4().hex[:6]}")
