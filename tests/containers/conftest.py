"""The compose stack on real containers: prerequisites, images, the Podman API, one project.

``LANES_TEST_CONTAINERS=0`` skips the container test explicitly (the run's
summary shows the reason, as every skip with ``-ra``); without podman, runc,
docker-compose or debootstrap the test fails with one message naming them.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lanes_devstack.containers.cli import SKIP_VARIABLE, containers_skipped
from lanes_devstack.containers.compose import ComposeProject, PodmanService
from lanes_devstack.containers.healthchecks import HealthcheckDriver
from lanes_devstack.containers.images import BuiltImage, build_lanes_image, ensure_server_images
from lanes_devstack.containers.podman import podman_env, require_prerequisites
from lanes_devstack.errors import DevstackError
from lanes_devstack.process import free_port

# The image runs as this user, which must be able to read the key (docs/deploy.md).
LANES_UID = 10001


@dataclass
class RunningProject:
    """A compose project on the Podman API, with the port the gateway is published on."""

    compose: ComposeProject
    gateway_port: int
    prometheus_port: int
    """Published on loopback; the test reads Prometheus's scrape targets there."""
    image: BuiltImage


def write_signing_key(folder: Path) -> Path:
    """An Ed25519 private key for auth, owned by the image's user as docs/deploy.md says."""
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / "auth-signing-key.pem"
    key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chown(key, LANES_UID, LANES_UID)
    key.chmod(0o600)
    return key


@pytest.fixture(scope="module")
def compose_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProject]:
    """Images built, the Podman API up, healthchecks driven; ``down -v`` at the end regardless."""
    if containers_skipped():
        pytest.skip(f"{SKIP_VARIABLE}=0: the container image and compose stack were not tested")
    try:
        require_prerequisites()
        ensure_server_images()
        image = build_lanes_image()
    except DevstackError as exc:
        pytest.fail(str(exc), pytrace=False)
    work = tmp_path_factory.mktemp("compose")
    # Free ports for everything published, so that runs side by side do not collide.
    gateway_port, prometheus_port = free_port(), free_port()
    service = PodmanService(work)
    service.start()
    compose = ComposeProject(
        f"lanes-test-{uuid.uuid4().hex[:8]}",
        service.docker_host,
        {
            "MONGO_PASSWORD": uuid.uuid4().hex,
            "GRAFANA_ADMIN_PASSWORD": uuid.uuid4().hex,
            "AUTH_SIGNING_KEY_FILE": str(write_signing_key(work / "secrets")),
            "GATEWAY_PORT": str(gateway_port),
            "PROMETHEUS_PORT": str(prometheus_port),
            "GRAFANA_PORT": str(free_port()),
            "JAEGER_PORT": str(free_port()),
            "PROCESSOR_REPLICAS": "2",
            "LANES_IMAGE": image.name,
        },
    )
    driver = HealthcheckDriver(label=compose.label)
    driver.start()
    try:
        yield RunningProject(compose, gateway_port, prometheus_port, image)
    finally:
        try:
            compose.run(["down", "-v", "--remove-orphans", "--timeout", "30"])
        finally:
            driver.stop()
            service.stop()


def podman_exec(container_id: str, *command: str) -> str:
    """Run a command in a running container; its stdout."""
    result = subprocess.run(
        ["podman", "exec", container_id, *command],
        env=podman_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout
