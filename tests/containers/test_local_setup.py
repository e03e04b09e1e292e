"""The pieces of the container run that need no container: override, prerequisites, opt-out."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from lanes_devstack.containers import podman
from lanes_devstack.containers.cli import containers_skipped
from lanes_devstack.containers.compose import COMPOSE_FILES, LOCAL_SERVICES
from lanes_devstack.containers.images import KAFKA_IMAGE, MONGO_IMAGE, PROMETHEUS_IMAGE
from lanes_devstack.errors import DevstackError

BASE, OVERRIDE = (yaml.safe_load(path.read_text()) for path in COMPOSE_FILES)
# What the override may change: the image, and what a stand-in image needs.
OVERRIDABLE = {"image", "healthcheck", "environment"}


def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def test_the_override_only_swaps_images_of_services_the_operator_file_has() -> None:
    for name, service in services(OVERRIDE).items():
        assert name in services(BASE), name
        assert set(service) <= OVERRIDABLE, f"{name}: {set(service) - OVERRIDABLE}"


def test_every_official_image_that_runs_locally_is_replaced_by_one_built_here() -> None:
    built_here = {KAFKA_IMAGE, MONGO_IMAGE, PROMETHEUS_IMAGE}
    for name in LOCAL_SERVICES:
        if "build" in services(BASE)[name]:
            continue  # the Lanes services: the project's own Dockerfile
        assert services(OVERRIDE)[name]["image"] in built_here, name


def test_only_grafana_and_jaeger_stay_out_of_the_local_run() -> None:
    assert set(services(BASE)) - set(LOCAL_SERVICES) == {"grafana", "jaeger"}


def test_missing_tools_are_named_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    present = {"podman", "runc"}
    monkeypatch.setattr(
        podman.shutil, "which", lambda name: f"/usr/bin/{name}" if name in present else None
    )
    with pytest.raises(DevstackError) as raised:
        podman.require_prerequisites()
    message = str(raised.value)
    assert "missing: docker-compose, debootstrap" in message
    assert "apt-get install" in message
    assert "--no-install-recommends docker-compose" in message
    assert "LANES_TEST_CONTAINERS=0" in message


def test_only_an_explicit_zero_leaves_the_containers_out(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, skipped in (("0", True), ("1", False), ("", False), ("no", False)):
        monkeypatch.setenv("LANES_TEST_CONTAINERS", value)
        assert containers_skipped() is skipped, value
    monkeypatch.delenv("LANES_TEST_CONTAINERS")
    assert containers_skipped() is False
