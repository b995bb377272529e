"""The nats-server deploy profiles (deploy/nats/), checked with the real nats-server binary:
they are what the generator renders, its config test accepts them, the single-node profile
serves a service's user over TLS, and three nodes of the cluster profile form a JetStream
cluster that keeps a stream on all three."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from nats.aio.client import Client

from services.runtime import nats_config
from services.runtime.embedded_nats import free_port, nats_server_binary, new_password
from services.runtime.nats_access import connect_options
from services.runtime.nats_permissions import ADMIN, USERS, password_variable
from services.runtime.provisioning import ensure_stream
from services.runtime.settings import Settings
from services.runtime.topology import stream_name

pytestmark = pytest.mark.integration

PROFILES = [nats_config.DEFAULT_DIRECTORY / name for name in nats_config.profiles()]


@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def throwaway_tls(directory: Path) -> Tls:
    """A CA made for this test only and a certificate it signed, good for the loopback
    address and the cluster's node names, as a server and as a client (routes verify both
    ways)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chb test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        *(x509.DNSName(node) for node in nats_config.CLUSTER_NODES),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chb-nats")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    tls = Tls(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    tls.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, tls.key)
    return tls


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return throwaway_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def passwords() -> dict[str, str]:
    return {user: new_password() for user in USERS}


def server_env(
    tls: Tls, passwords: dict[str, str], store: Path, name: str = "chb-nats-1"
) -> dict[str, str]:
    """What an operator puts in nats-server's environment (from a secret store)."""
    return {
        nats_config.STORE_DIR: str(store),
        **os.environ,
        **{password_variable(user): password for user, password in passwords.items()},
        nats_config.TLS_CERT: str(tls.cert),
        nats_config.TLS_KEY: str(tls.key),
        nats_config.TLS_CA: str(tls.ca),
        nats_config.SERVER_NAME: name,
    }


def test_the_deploy_profiles_are_what_the_generator_renders() -> None:
    """Edit services/runtime/nats_permissions.py or nats_config.py, then run
    `chb nats deploy-configs`: the embedded server and deploy/nats cannot drift apart."""
    assert nats_config.check_profiles(nats_config.DEFAULT_DIRECTORY) == []
    for text in nats_config.profiles().values():
        assert "sync_interval: always" in text
        for user in USERS:  # every password is a placeholder, resolved from the environment
            assert f"password: ${password_variable(user)}\n" in text


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_nats_server_accepts_each_profile(
    profile: Path, tls: Tls, passwords: dict[str, str], tmp_path: Path
) -> None:
    result = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(profile)],
        env=server_env(tls, passwords, tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Without its environment it refuses to start: no password falls back to a default.
    bare = {k: v for k, v in os.environ.items() if not k.startswith("CHB_NATS_")}
    result = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(profile)],
        env=bare,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0


@contextlib.contextmanager
def nats_servers(
    commands: list[tuple[list[str], dict[str, str], int]], logs: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start each nats-server, wait until each listens, stop them all afterwards."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for index, (args, env, _port) in enumerate(commands):
            with open(logs / f"nats-{index}.log", "wb") as log:
                processes.append(
                    subprocess.Popen(
                        [nats_server_binary(), *args],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )
                )
        deadline = time.monotonic() + 15
        for index, (_args, _env, port) in enumerate(commands):
            while True:
                assert processes[index].poll() is None, (logs / f"nats-{index}.log").read_text()
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    assert time.monotonic() < deadline, f"nats-server {index} did not listen"
                    time.sleep(0.05)
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def client_settings(port: int, user: str, passwords: dict[str, str], tls: Tls) -> Settings:
    return Settings(
        nats_url=f"tls://127.0.0.1:{port}",
        nats_user=user,
        nats_password=passwords[user],
        nats_tls_ca_file=tls.ca,
    )


async def server_info(port: int) -> dict[str, Any]:
    """The INFO a nats-server sends first on a port, before any TLS."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        line = await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()
    assert line.startswith(b"INFO "), line
    info: dict[str, Any] = json.loads(line[5:])
    return info


@contextlib.asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[Client]:
    async def quiet(_: Exception) -> None:
        return None

    nc = await nats.connect(
        settings.nats_url,
        allow_reconnect=False,
        connect_timeout=3,
        error_cb=quiet,
        **connect_options(settings),
    )
    try:
        yield nc
    finally:
        await nc.close()


async def test_the_single_node_profile_serves_a_service_over_tls(
    tmp_path: Path, tls: Tls, passwords: dict[str, str]
) -> None:
    port = free_port()
    profile = nats_config.DEFAULT_DIRECTORY / nats_config.SINGLE_NODE
    args = ["-c", str(profile), "-p", str(port)]
    with nats_servers([(args, server_env(tls, passwords, tmp_path / "js"), port)], tmp_path):
        hold = client_settings(port, "hold", passwords, tls)
        async with connected(hold) as nc:
            assert nc.connected_server_version.major == 2
            js = nc.jetstream(timeout=3.0)
            await ensure_stream(js, "hold", hold)
            ack = await js.publish("chb.hold.case_opened", b"{}", stream=stream_name("hold"))
            assert ack.seq == 1
        # Not without the CA that signed the server's certificate, nor with a wrong password.
        with pytest.raises((OSError, nats.errors.Error, asyncio.TimeoutError)):
            untrusting = hold.model_copy(update={"nats_tls_ca_file": None})
            async with connected(untrusting):
                pass
        with pytest.raises((OSError, nats.errors.Error, asyncio.TimeoutError)):
            async with connected(hold.model_copy(update={"nats_password": "wrong-password"})):
                pass


async def test_three_nodes_of_the_cluster_profile_keep_a_stream_on_all_three(
    tmp_path: Path, tls: Tls, passwords: dict[str, str]
) -> None:
    profile = nats_config.DEFAULT_DIRECTORY / nats_config.CLUSTER
    clients = [free_port() for _ in nats_config.CLUSTER_NODES]
    routes = [free_port() for _ in nats_config.CLUSTER_NODES]
    route_urls = ",".join(f"nats-route://127.0.0.1:{port}" for port in routes)
    commands = []
    for index, node in enumerate(nats_config.CLUSTER_NODES):
        args = [
            "-c",
            str(profile),
            "-p",
            str(clients[index]),
            "--cluster",
            f"nats://127.0.0.1:{routes[index]}",
            "--routes",
            route_urls,
        ]
        env = server_env(tls, passwords, tmp_path / node, node)
        commands.append((args, env, clients[index]))
    with nats_servers(commands, tmp_path):
        # Clients talk to a node only over TLS (the routes too: the profile's cluster block
        # verifies both ends' certificates, so a node without one signed by the CA is refused).
        for port in clients:
            assert (await server_info(port))["tls_required"] is True, port
        admin = client_settings(clients[0], ADMIN, passwords, tls)
        async with connected(admin) as nc:
            js = nc.jetstream(timeout=2.0)
            # JetStream is ready once the three have elected a meta leader.
            deadline = time.monotonic() + 20
            while True:
                try:
                    info = await js.account_info()
                    break
                except (nats.errors.Error, nats.js.errors.Error):
                    assert time.monotonic() < deadline, "no JetStream cluster formed"
                    await asyncio.sleep(0.2)
            assert info is not None
        # A service makes its own stream with three replicas, as CHB_STREAM_REPLICAS=3 says,
        # through another node than the one above.
        clear = client_settings(clients[1], "clear", passwords, tls).model_copy(
            update={"stream_replicas": 3}
        )
        async with connected(clear) as nc:
            js = nc.jetstream(timeout=5.0)
            deadline = time.monotonic() + 20
            while True:
                try:
                    await ensure_stream(js, "clear", clear)
                    break
                except (nats.errors.Error, nats.js.errors.Error):
                    # The stream's peers are placed once every node has joined.
                    assert time.monotonic() < deadline, "R3 stream not created"
                    await asyncio.sleep(0.2)
            ack = await js.publish("chb.clear.arrest_recorded", b"{}", stream=stream_name("clear"))
            assert ack.seq == 1
            stream = await js.stream_info(stream_name("clear"))
        assert stream.config.num_replicas == 3
        assert stream.cluster is not None and stream.cluster.leader in nats_config.CLUSTER_NODES
        replicas = stream.cluster.replicas or []
        assert len(replicas) == 2
        assert {stream.cluster.leader, *(r.name for r in replicas)} == set(
            nats_config.CLUSTER_NODES
        )
