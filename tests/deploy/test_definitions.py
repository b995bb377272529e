"""What cannot run here (systemd, a container build, Kubernetes) is parsed and checked against
the code: every setting it names exists, every process it starts is one `chb serve` knows, every
NATS user is one the permissions define, secrets come from secrets, ports are the ones used."""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.api.access import OPEN
from services.cli import SERVICES_AND_API
from services.notify.settings import NotifySettings
from services.runtime.nats_permissions import USERS
from services.runtime.settings import Settings

pytestmark = pytest.mark.domain

DEPLOY = Path(__file__).parents[2] / "deploy"
SETTINGS = {f"CHB_{name.upper()}" for name in Settings.model_fields} | {
    f"CHB_{name.upper()}"
    for name in NotifySettings.model_fields  # the notifier's own
}
SECRETS = {"CHB_NATS_PASSWORD", "CHB_POSTGRES_PASSWORD", "CHB_JWT_KEY", "CHB_SMTP_PASSWORD"}
# What nats-server reads from its own environment (deploy/nats/*.conf), not our settings.
SERVER_ENV = re.compile(r"^CHB_NATS_(SERVER_\w+|PASSWORD_[A-Z]+)$")


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


def kind(docs: list[dict[str, Any]], what: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == what}


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
    return found


def env_file(path: Path) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines()]
    return {k: v for k, v in (p for p in pairs if len(p) == 2 and not p[0].startswith("#"))}


def test_the_kubernetes_deployments_run_each_process_with_its_own_user_and_secrets() -> None:
    docs = manifests()
    deployments = kind(docs, "Deployment")
    assert set(deployments) == {f"chb-{p}" for p in SERVICES_AND_API}
    common = kind(docs, "ConfigMap")["chb-common"]["data"]
    assert set(common) <= SETTINGS
    assert common["CHB_STREAM_REPLICAS"] == "3" and common["CHB_STORE"] == "postgres"
    for name, deployment in deployments.items():
        process = name.removeprefix("chb-")
        (container,) = containers(deployment)
        assert container["args"] == [process]
        env = {e["name"]: e for e in container["env"]}
        assert set(env) <= SETTINGS, set(env) - SETTINGS
        assert env["CHB_NATS_USER"]["value"] == process and process in USERS
        for secret in SECRETS & set(env):
            assert "value" not in env[secret], f"{name}: {secret} must come from a Secret"
            assert "secretKeyRef" in env[secret]["valueFrom"]
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"]["type"] == "Recreate"
    api = containers(deployments["chb-api"])[0]
    assert api["ports"][0]["containerPort"] == Settings().api_port
    probes = {api["readinessProbe"]["httpGet"]["path"], api["livenessProbe"]["httpGet"]["path"]}
    assert probes == {"/ready", "/health"} and {"ready", "health"} <= OPEN
    assert "metrics" in OPEN  # the API's /metrics, on its own port, scraped without a token
    for service in ("clear", "hold", "build", "notify"):
        (container,) = containers(deployments[f"chb-{service}"])
        env = {e["name"] for e in container["env"]}
        assert {"CHB_POSTGRES_USER", "CHB_POSTGRES_PASSWORD"} <= env
        # Each service's /metrics is on the port the ConfigMap gives it, declared as such.
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"metrics": int(common["CHB_METRICS_PORT"])}
        annotations = deployments[f"chb-{service}"]["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == common["CHB_METRICS_PORT"]


def test_the_nats_statefulset_runs_the_cluster_profile_on_three_nodes() -> None:
    docs = manifests()
    nats = kind(docs, "StatefulSet")["chb-nats"]
    assert nats["spec"]["replicas"] == 3
    profile = (DEPLOY / "nats" / "cluster.conf").read_text(encoding="utf-8")
    routes = set(re.findall(r"nats-route://([\w-]+):(\d+)", profile))
    start = nats["spec"]["ordinals"]["start"]
    pods = {f"chb-nats-{start + i}" for i in range(3)}
    services = kind(docs, "Service")
    assert {host for host, _ in routes} == pods and pods <= set(services)
    assert {port for _, port in routes} == {"6222"}
    (container,) = containers(nats)
    ports = {p["containerPort"] for p in container["ports"]}
    listens = {int(p) for p in re.findall(r"listen: 0\.0\.0\.0:(\d+)", profile)}
    assert ports == listens == {4222, 6222}
    env = {e["name"] for e in container["env"]}
    named = set(re.findall(r"\$(CHB_\w+)", profile))
    assert named <= env, named - env
    assert all(SERVER_ENV.match(name) for name in env)


def test_the_systemd_units_and_their_environment_files() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(DEPLOY / "systemd" / "chb@.service")
    service = unit["Service"]
    assert service["ExecStart"].endswith("chb serve %i")
    assert service["Restart"] == "always" and service["User"] == "chb"
    examples = sorted((DEPLOY / "systemd").glob("*.env.example"))
    processes = {p.name.removesuffix(".env.example") for p in examples} - {"common"}
    assert processes == set(SERVICES_AND_API)
    for example in examples:
        assert set(env_file(example)) <= SETTINGS, example
    for process in processes:
        values = env_file(DEPLOY / "systemd" / f"{process}.env.example")
        assert values["CHB_NATS_USER"] == process
    nats_unit = configparser.ConfigParser(strict=False, interpolation=None)
    nats_unit.read(DEPLOY / "systemd" / "chb-nats.service")
    assert nats_unit["Service"]["ExecStart"].endswith("cluster.conf")


def test_the_container_image_serves_any_process_and_exposes_the_api_port() -> None:
    text = (DEPLOY / "container" / "Containerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["chb", "serve"]' in text and 'CMD ["api"]' in text
    assert f"EXPOSE {Settings().api_port}" in text
    env = set(re.findall(r"(CHB_\w+)=", text))
    assert env and env <= SETTINGS
    for copied in re.findall(r"^COPY (\S+)", text, flags=re.MULTILINE):
        assert (DEPLOY.parent / copied).exists(), copied
