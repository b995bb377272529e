"""Where each generation of the views is kept, and which one is served.

A rebuild (a stream made again, or ``chb views rebuild``) writes a new generation beside the
one served and switches to it once it has caught up; the old one is then dropped. In SQLite a
generation is a file under ``data/views/``; in PostgreSQL a schema of its own. Which one is
served is written down (a file, or a one-row table), so a restart, and every other API process
sharing a PostgreSQL view, serves the same one.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from services.runtime.settings import Settings
from services.runtime.store import ensure_postgres_schema, postgres_conninfo
from services.views.store import ViewPlace


class Generations:
    def __init__(self, settings: Settings | None) -> None:
        self.settings = settings
        self._memory: dict[int, ViewPlace] = {}
        self._current = 0
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.RLock()
        self._pointer_table = False

    @classmethod
    def in_memory(cls) -> Generations:
        """Views kept in memory (the tests, a replay): nothing survives the process."""
        return cls(None)

    @property
    def kind(self) -> str:
        if self.settings is None or self.settings.store == "memory":
            return "memory"
        return self.settings.store

    # -- which generation ----------------------------------------------------------------

    def serving(self) -> ViewPlace:
        """The generation served now (the first one, made, when there is none)."""
        current = self.current()
        if current == 0:
            current = 1
            self._write_current(current)
        return self.place(current)

    def new(self) -> ViewPlace:
        """A place for a new generation, after every one known."""
        return self.place(max([*self.known(), self.current()]) + 1)

    def switch(self, place: ViewPlace) -> None:
        self._write_current(place.generation)

    def current(self) -> int:
        if self.kind == "memory":
            return self._current
        if self.kind == "sqlite":
            with contextlib.suppress(FileNotFoundError, ValueError):
                return int(self._pointer().read_text().strip())
            return 0
        with self._pg() as conn:
            self._pg_pointer_table(conn)
            row = conn.execute(
                SQL("SELECT generation FROM {}.current").format(self._pg_home())
            ).fetchone()
            return int(row[0]) if row else 0

    def known(self) -> list[int]:
        if self.kind == "memory":
            return sorted(self._memory)
        if self.kind == "sqlite":
            found = (re.fullmatch(r"(\d+)\.sqlite", p.name) for p in self._dir().glob("*.sqlite"))
            return sorted(int(m.group(1)) for m in found if m)
        with self._pg() as conn:
            rows = conn.execute(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s",
                (f"{self._pg_prefix()}%",),
            ).fetchall()
        numbers = (r[0][len(self._pg_prefix()) :] for r in rows)
        return sorted(int(n) for n in numbers if n.isdigit())

    # -- where a generation is kept --------------------------------------------------------

    def place(self, generation: int) -> ViewPlace:
        if self.kind == "memory":
            return self._memory.setdefault(generation, ViewPlace(generation=generation))
        if self.kind == "sqlite":
            self._dir().mkdir(parents=True, exist_ok=True)
            return ViewPlace(
                generation=generation, sqlite_path=self._dir() / f"{generation}.sqlite"
            )
        settings = self.settings
        assert settings is not None
        schema = f"{self._pg_prefix()}{generation}"
        ensure_postgres_schema(settings, schema)
        postgres: dict[str, Any] = {
            "dbname": settings.postgres_dbname,
            "host": settings.postgres_host,
            "port": settings.postgres_port,
            "user": settings.postgres_user,
            "password": settings.postgres_password,
            "schema": schema,
        }
        return ViewPlace(generation=generation, postgres=postgres)

    def drop(self, place: ViewPlace) -> None:
        """Remove a generation no longer served (or a rebuild abandoned)."""
        if place.sqlite_path is not None:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{place.sqlite_path}{suffix}")
        elif place.postgres is not None:
            with self._pg() as conn:
                conn.execute(
                    SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        Identifier(place.postgres["schema"])
                    )
                )
        else:
            self._memory.pop(place.generation, None)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- the pointer -----------------------------------------------------------------------

    def _write_current(self, generation: int) -> None:
        if self.kind == "memory":
            self._current = generation
            self.place(generation)
            return
        if self.kind == "sqlite":
            self._dir().mkdir(parents=True, exist_ok=True)
            spare = self._pointer().with_suffix(".next")
            spare.write_text(f"{generation}\n")
            os.replace(spare, self._pointer())  # atomic: a reader sees the old or the new
            return
        with self._pg() as conn:
            self._pg_pointer_table(conn)
            home = self._pg_home()
            conn.execute(SQL("DELETE FROM {}.current").format(home))
            conn.execute(SQL("INSERT INTO {}.current VALUES (%s)").format(home), (generation,))

    def _dir(self) -> Path:
        assert self.settings is not None
        return self.settings.data_dir / "views"

    def _pointer(self) -> Path:
        return self._dir() / "current"

    def _pg_prefix(self) -> str:
        assert self.settings is not None
        return f"{self.settings.postgres_schema('views')}_"

    def _pg_home(self) -> Identifier:
        assert self.settings is not None
        return Identifier(self.settings.postgres_schema("views"))

    @contextlib.contextmanager
    def _pg(self) -> Iterator[psycopg.Connection[Any]]:
        """One connection kept for the pointer (a reading API process asks it ten times a
        second), opened again if it broke; each use one transaction."""
        assert self.settings is not None
        with self._lock:  # asked from the loop and from a worker thread
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = psycopg.connect(postgres_conninfo(self.settings), autocommit=True)
            try:
                with self._conn.transaction():
                    yield self._conn
            except psycopg.OperationalError:
                self._conn.close()
                self._conn = None
                raise

    def _pg_pointer_table(self, conn: psycopg.Connection[Any]) -> None:
        assert self.settings is not None
        if self._pointer_table:
            return
        self._pointer_table = True
        ensure_postgres_schema(self.settings, self.settings.postgres_schema("views"))
        conn.execute(
            SQL("CREATE TABLE IF NOT EXISTS {}.current (generation INTEGER NOT NULL)").format(
                self._pg_home()
            )
        )
