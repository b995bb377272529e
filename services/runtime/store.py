"""The event store each service owns: SQLite by default, PostgreSQL by configuration alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TypeVar

import psycopg
from eventsourcing.application import Application

from services.runtime.settings import Settings

TApp = TypeVar("TApp", bound=Application)  # type: ignore[type-arg]


def sqlite_file(settings: Settings, service: str) -> Path:
    return settings.data_dir / f"{service}.sqlite"


def sqlite_probe(path: Path, statement: str) -> int:
    """Run ``statement`` (the recorder's "last notification id") on a connection of its own.

    A service's open connections keep reading a file that was deleted, replaced or made
    unreadable under them, and would go on writing to one that no restart will find; a fresh
    connection to the configured path sees what the next start would see.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no store at {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
    try:
        row = conn.execute(statement).fetchone()
    finally:
        conn.close()
    return int(row[0] or 0) if row else 0


def store_env(settings: Settings, service: str) -> dict[str, str]:
    """The ``eventsourcing`` environment for one service's store.

    Never sets ``POSTGRES_ENABLE_DB_FUNCTIONS``: with it the library writes no tracking rows,
    and exactly-once depends on them.
    """
    if settings.store == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if settings.store == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(sqlite_file(settings, service)),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    ensure_postgres_schema(settings, settings.postgres_schema(service))
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": settings.postgres_dbname,
        "POSTGRES_HOST": settings.postgres_host,
        "POSTGRES_PORT": str(settings.postgres_port),
        "POSTGRES_USER": settings.postgres_user,
        "POSTGRES_PASSWORD": settings.postgres_password,
        "POSTGRES_SCHEMA": settings.postgres_schema(service),
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_CONNECT_TIMEOUT": "10",
    }


def postgres_conninfo(settings: Settings, dbname: str | None = None) -> str:
    return psycopg.conninfo.make_conninfo(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password or None,
        dbname=dbname or settings.postgres_dbname,
    )


def ensure_postgres_database(settings: Settings) -> None:
    with psycopg.connect(postgres_conninfo(settings, "postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (settings.postgres_dbname,)
        ).fetchone()
        if not exists:
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(
                    psycopg.sql.Identifier(settings.postgres_dbname)
                )
            )


def ensure_postgres_schema(settings: Settings, schema: str) -> None:
    """The library creates tables, not the database or the schema they live in."""
    ensure_postgres_database(settings)
    with psycopg.connect(postgres_conninfo(settings), autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(psycopg.sql.Identifier(schema))
        )
