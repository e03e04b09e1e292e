"""docker-compose.yml: valid against the compose specification, healthy start order, no secrets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from lanes_devstack.paths import REPO_ROOT
from lanes_devstack.services import SERVICE_MODULES

from .compose_file import interpolate
from .paths import COMPOSE_FILE, PROMETHEUS_CONFIG
from .settings_classes import settings_class

REQUIRED_SECRETS = ("MONGO_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "AUTH_SIGNING_KEY_FILE")
ONE_SHOT = {"kafka-topics"}
SERVICE_PORTS = {"gateway": 8000, "auth": 8001, "processor": 8002}
SHUTDOWN_HEADROOM_SECONDS = 15


def _duration_seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text))


def _check_compose_spec(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", path],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_validates_against_the_compose_specification() -> None:
    """check-jsonschema's vendored compose-spec schema accepts the file."""
    result = _check_compose_spec(str(COMPOSE_FILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_misspelt_key(tmp_path: Path) -> None:
    """... and would reject a typo, so the check above means something."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("healthcheck:", "healthchek:", 1))
    assert _check_compose_spec(str(broken)).returncode != 0


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    """Everything but the one-shot topic creation reports its health."""
    for name, service in compose["services"].items():
        if name not in ONE_SHOT:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_dependencies_wait_for_health(compose: dict[str, Any]) -> None:
    """depends_on always has a condition: healthy for servers, completed for the one-shot."""
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: use the long form of depends_on"
        for target, rule in depends.items():
            expected = "service_completed_successfully" if target in ONE_SHOT else "service_healthy"
            assert rule["condition"] == expected, f"{name} -> {target}"
            if expected == "service_healthy":
                assert "healthcheck" in services[target]


def test_lanes_services_wait_for_topics_and_mongo(compose: dict[str, Any]) -> None:
    """No service starts before its topics exist and MongoDB answers; the gateway waits for auth."""
    for kind in SERVICE_MODULES:
        depends = compose["services"][kind]["depends_on"]
        assert {"kafka-topics", "mongo"} <= set(depends), kind
    assert "auth" in compose["services"]["gateway"]["depends_on"]


def test_health_checks_ask_each_service_if_it_is_ready(compose: dict[str, Any]) -> None:
    """A Lanes service is healthy when /readyz on its own port says so."""
    for kind, port in SERVICE_PORTS.items():
        test = " ".join(compose["services"][kind]["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/readyz" in test, kind
        env = compose["services"][kind]["environment"]
        assert str(env[f"LANES_{kind.upper()}_PORT"]) == str(port)


def test_required_secrets_fail_fast() -> None:
    """Each secret is a ${VAR:?message}: compose refuses to start without it."""
    text = COMPOSE_FILE.read_text()
    for name in REQUIRED_SECRETS:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses, f"{name} is not used"
        assert all(use.startswith(":?") and len(use) > 2 for use in uses), f"{name}: {uses}"


def test_no_password_is_written_into_the_file(compose: dict[str, Any]) -> None:
    """Every variable that looks like a credential is an interpolation, never a literal."""
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET", key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), f"{name}.{key}"
        uri = (service.get("environment") or {}).get("LANES_MONGO_URI", "")
        assert "@" not in uri or "${MONGO_PASSWORD:?" in uri, f"{name}: literal MongoDB password"


def test_kafka_is_apache_kafka_4_in_kraft_mode(compose: dict[str, Any]) -> None:
    """The official image, 4.x, a combined broker and controller, no ZooKeeper."""
    kafka = compose["services"]["kafka"]
    image, tag = kafka["image"].split(":")
    assert image == "apache/kafka" and tag.startswith("4.")
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not [k for k in env if "ZOOKEEPER" in k]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert compose["services"]["kafka-topics"]["image"] == kafka["image"]


def test_kafka_and_mongo_keep_their_data_in_named_volumes(compose: dict[str, Any]) -> None:
    """Data outlives ``docker compose down`` (without -v)."""
    volumes = compose["volumes"]
    for service, path in (
        ("kafka", compose["services"]["kafka"]["environment"]["KAFKA_LOG_DIRS"]),
        ("mongo", "/data/db"),
    ):
        mounts = dict(v.split(":")[:2][::-1] for v in compose["services"][service]["volumes"])
        assert mounts.get(path) in volumes, f"{service} keeps {path} in no named volume"


def test_processor_replicas_stay_within_partitions(compose: dict[str, Any]) -> None:
    """Several processors by default, never more than the topic has partitions."""
    replicas = int(interpolate(compose["services"]["processor"]["deploy"]["replicas"]))
    partitions = int(
        interpolate(compose["services"]["kafka-topics"]["environment"]["TOPIC_PARTITIONS"])
    )
    assert 2 <= replicas <= partitions


def test_processor_may_drain_before_it_is_killed(compose: dict[str, Any]) -> None:
    """stop_grace_period covers the drain deadline plus time to commit."""
    processor = compose["services"]["processor"]
    default = settings_class("processor").model_fields["processor_drain_timeout_seconds"].default
    drain = float(processor["environment"].get("LANES_PROCESSOR_DRAIN_TIMEOUT_SECONDS", default))
    assert _duration_seconds(processor["stop_grace_period"]) >= drain + SHUTDOWN_HEADROOM_SECONDS


def test_lanes_containers_are_locked_down(compose: dict[str, Any]) -> None:
    """Read-only root, no new privileges, no capabilities: as in Kubernetes."""
    for kind in SERVICE_MODULES:
        service = compose["services"][kind]
        assert service["read_only"] is True, kind
        assert "no-new-privileges:true" in service["security_opt"], kind
        assert service["cap_drop"] == ["ALL"], kind


def test_only_the_gateway_is_published_beyond_loopback(compose: dict[str, Any]) -> None:
    """Kafka, MongoDB and auth are not published; tools listen on 127.0.0.1 only."""
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if name == "gateway":
                continue
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"
    for name in ("kafka", "mongo", "auth", "processor"):
        assert "ports" not in compose["services"][name], name


def test_bind_mounted_files_exist(compose: dict[str, Any]) -> None:
    """Every ./path a service mounts exists (Prometheus, Grafana, the topic script)."""
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"


def test_prometheus_scrapes_every_service(compose: dict[str, Any]) -> None:
    """The scrape config names each Lanes service on its port (every processor replica by DNS)."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets: set[str] = set()
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets.update(static["targets"])
        for dns in job.get("dns_sd_configs", []):
            targets.update(f"{n}:{dns['port']}" for n in dns["names"])
    for kind, port in SERVICE_PORTS.items():
        assert f"{kind}:{port}" in targets, kind
        assert kind in compose["services"]
