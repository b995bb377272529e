"""Services as real processes (``chb serve``, ``chb up``), to kill and restart like an operator
would not, and the ``chb`` command run as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats

from services.runtime.process import status_subject
from services.runtime.settings import Settings
from tests.support.nats_users import password


def process_env(
    settings: Settings, user: str, passwords: dict[str, str] | None = None, **extra: str
) -> dict[str, str]:
    """The environment of a process that connects to NATS as ``user`` (its own password: the
    session server's, or those of the server ``passwords`` belongs to)."""
    return {
        **os.environ,
        "CHB_NATS_URL": settings.nats_url,
        "CHB_NATS_USER": user,
        "CHB_NATS_PASSWORD": passwords[user] if passwords else password(user),
        "CHB_STREAM_REPLICAS": str(settings.stream_replicas),
        "CHB_DATA_DIR": str(settings.data_dir),
        "CHB_STORE": settings.store,
        "CHB_POSTGRES_SCHEMA_PREFIX": settings.postgres_schema_prefix,
        "CHB_POSTGRES_DBNAME": settings.postgres_dbname,
        "CHB_ACK_WAIT_SECONDS": str(settings.ack_wait_seconds),
        "CHB_CONSUMER_BATCH": str(settings.consumer_batch),
        "CHB_LOG_LEVEL": "warning",
        "CHB_JWT_KEY": settings.jwt_key,
        **extra,
    }


@dataclass
class Processes:
    settings: Settings
    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started: int = 0
    passwords: dict[str, str] | None = None  # another server's users (a cluster's)

    def start(self, name: str, key: str | None = None, **env: str) -> subprocess.Popen[bytes]:
        """Start ``chb serve name``, known as ``key`` (default ``name``; another key for a
        second process of the same service)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        self.started += 1
        with open(self.logs / f"{self.started:02d}-{name}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", name],
                env=process_env(self.settings, name, self.passwords, **env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.running[key or name] = process
        return process

    def signal(self, name: str, sig: signal.Signals) -> None:
        self.running[name].send_signal(sig)

    def kill(self, name: str) -> None:
        process = self.running[name]
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def status(nc: nats.aio.client.Client, service: str) -> dict[str, Any] | None:
    try:
        reply = await nc.request(status_subject(service), b"", timeout=0.5)
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
        return None
    result: dict[str, Any] = json.loads(reply.data)
    return result


def chb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``chb`` with these arguments, as a separate process (in ``env`` if given)."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def wait_for(probe: Callable[[], Any], what: str, within: float = 60.0) -> Any:
    """Poll ``probe`` (an HTTP error counts as not yet) until it gives something true."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            value = probe()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Up:
    """A running ``chb up``: its process, its API and the administrator's bearer header."""

    process: subprocess.Popen[bytes]
    data: Path
    api: str

    @property
    def admin(self) -> dict[str, str]:
        token = (self.data / "admin.token").read_text(encoding="utf-8").strip()
        return {"Authorization": f"Bearer {token}"}


@contextmanager
def chb_up(data: Path, port: int, log: Path, **env: str) -> Iterator[Up]:
    """``chb up`` on ``data`` until its API is ready (extra ``CHB_*`` settings in ``env`` reach
    every process it starts); SIGTERMed on the way out if the test has not stopped it."""
    command = [sys.executable, "-m", "services.cli", "up", "--data-dir", str(data)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    up = Up(process, data, f"http://127.0.0.1:{port}")
    try:
        wait_for(lambda: httpx.get(f"{up.api}/ready", timeout=2).status_code == 200, "ready")
        yield up
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(60)
