"""The container parts of ``lanes-dev``: provisioning the images, ``image``, ``healthchecks``."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable

from lanes_devstack.containers.base_images import (
    BASE_IMAGE,
    UV_IMAGE,
    ensure_base_image,
    ensure_uv_image,
)
from lanes_devstack.containers.healthchecks import HealthcheckDriver
from lanes_devstack.containers.images import (
    KAFKA_IMAGE,
    LANES_IMAGE,
    MONGO_IMAGE,
    PROMETHEUS_IMAGE,
    build_lanes_image,
    ensure_kafka_image,
    ensure_mongo_image,
    ensure_prometheus_image,
)
from lanes_devstack.containers.podman import image_id, missing_prerequisites, require_prerequisites
from lanes_devstack.tools import ProvisionRecord

SKIP_VARIABLE = "LANES_TEST_CONTAINERS"
IMAGE_NAMES = {
    "image lanes-base": BASE_IMAGE,
    "image lanes-uv": UV_IMAGE,
    "image lanes-kafka": KAFKA_IMAGE,
    "image lanes-mongo": MONGO_IMAGE,
    "image lanes-prometheus": PROMETHEUS_IMAGE,
    "image lanes": LANES_IMAGE,
}


def containers_skipped() -> bool:
    """True when ``LANES_TEST_CONTAINERS=0`` leaves the container images and test out."""
    return os.environ.get(SKIP_VARIABLE, "1").strip() == "0"


def _timed(name: str, source: str, ensure: Callable[[], str]) -> ProvisionRecord:
    """Run one ``ensure_*``; "cached" when the image it names did not change."""
    started = time.monotonic()
    before = image_id(IMAGE_NAMES[name])
    built = ensure()
    action = "cached" if image_id(built) == before else "built"
    return ProvisionRecord(name, action, source, time.monotonic() - started)


def provision_container_images() -> list[ProvisionRecord]:
    """Build (or find cached) every image of the local compose run, for ``make provision``."""
    if containers_skipped():
        print(f"Container images: left out ({SKIP_VARIABLE}=0)")
        return []
    missing = missing_prerequisites()
    if missing:
        # Not fatal here (make bench needs no images); the stack test fails on it.
        print(f"Container images: not built, missing {', '.join(missing)} (see README)")
        return []
    return [
        _timed("image lanes-base", "Debian (debootstrap)", ensure_base_image),
        _timed("image lanes-uv", "the project's uv", ensure_uv_image),
        _timed("image lanes-kafka", "the Kafka jars, Debian", ensure_kafka_image),
        _timed("image lanes-mongo", "the MongoDB-wire server", ensure_mongo_image),
        _timed("image lanes-prometheus", "Debian", ensure_prometheus_image),
        _timed("image lanes", "Dockerfile (podman build)", lambda: build_lanes_image().name),
    ]


def image() -> None:
    """Build the Lanes image from the Dockerfile on the local base; print size and build time."""
    require_prerequisites()
    built = build_lanes_image(show_output=True)
    print(built.summary())


def healthchecks() -> None:
    """Run every running container's healthcheck on schedule until Ctrl-C (Podman 4.3)."""
    require_prerequisites()
    print("Running container healthchecks (Ctrl-C to stop)...")
    with contextlib.suppress(KeyboardInterrupt):
        HealthcheckDriver().run_forever()
