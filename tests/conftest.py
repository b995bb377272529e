"""Fixtures shared by every layer: a real nats-server per test session, and stores per test."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import nats
import psycopg
import pytest

from services.runtime.embedded_nats import EmbeddedNats
from services.runtime.nats_access import connect_options
from services.runtime.nats_permissions import ADMIN, AUDITOR
from services.runtime.provisioning import audit_stream_config, ensure_stream_config
from services.runtime.settings import Settings
from services.runtime.store import ensure_postgres_database, postgres_conninfo
from services.runtime.topology import ALL_SERVICES, AUDIT_STREAM, stream_name
from tests.support.nats_users import SESSION


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """Our own nats-server (never the machine's one on 4222), durable like production, with
    the production users and permissions (services/runtime/nats_permissions.py)."""
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"), sync_always=True).start()
    SESSION[:] = [server]
    yield server
    SESSION.clear()
    server.stop()


async def reset_streams(server: EmbeddedNats) -> None:
    """As the admin: delete every stream, then make the audit stream again (no service may
    make it; in production `chb nats provision` does)."""
    admin = Settings(**server.access(ADMIN))
    nc = await nats.connect(admin.nats_url, **connect_options(admin))
    js = nc.jetstream()
    for stream in [*map(stream_name, ALL_SERVICES), AUDIT_STREAM]:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(stream)
    await ensure_stream_config(js, audit_stream_config(admin))
    await nc.close()


@pytest.fixture
async def clean_nats(nats_server: EmbeddedNats) -> AsyncIterator[EmbeddedNats]:
    """Each test starts with no service streams and no consumers, and an empty audit stream."""
    await reset_streams(nats_server)
    yield nats_server


def postgres_available(settings: Settings) -> str | None:
    try:
        with psycopg.connect(postgres_conninfo(settings, "postgres"), connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip()


def require_postgres(settings: Settings) -> None:
    """Skip without PostgreSQL, except in CI: there it must be there (make test starts it),
    and a skip would hide a gap. Makes the database if it is missing."""
    problem = postgres_available(settings)
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    ensure_postgres_database(settings)


def drop_schemas(settings: Settings) -> None:
    with psycopg.connect(postgres_conninfo(settings), autocommit=True) as conn:
        for service in ALL_SERVICES:
            conn.execute(
                psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    psycopg.sql.Identifier(settings.postgres_schema(service))
                )
            )


TEST_JWT_KEY = "test-signing-key-not-for-production-0123456789"

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, clean_nats: EmbeddedNats
) -> Iterator[Settings]:
    """Settings for one test: its own SQLite files, or its own PostgreSQL schemas. They
    connect to NATS as the read-only auditor; each process a test starts connects as its own
    user (``tests.support.nats_users.as_user``)."""
    store = request.param
    base = Settings(
        **clean_nats.access(AUDITOR),
        data_dir=tmp_path / "stores",
        store=store,
        postgres_schema_prefix=f"t{uuid4().hex[:10]}_",
        ack_wait_seconds=3.0,
        jwt_key=TEST_JWT_KEY,
        relay_batch=256,
        consumer_batch=64,
    )
    if store == "postgres":
        require_postgres(base)
    yield base
    if store == "postgres":
        drop_schemas(base)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow", action="store_true", help="also run the long versions of the fault tests"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long fault tests (``slow``) run only with ``--slow``: the short versions of the same
    faults run in CI, where the whole suite must stay under ten minutes."""
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="a long fault test: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
