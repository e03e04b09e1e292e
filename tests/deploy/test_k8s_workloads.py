"""Every workload is probed, bounded and locked down, in every overlay."""

from __future__ import annotations

import pytest

from .kustomize import Manifest
from .manifests import containers, objects_of, pod_template, quantity, workloads
from .paths import K8S_OVERLAYS

OVERLAYS = sorted(K8S_OVERLAYS)

# Rendered by the kustomize `make provision` builds from the Go module proxy.
pytestmark = pytest.mark.integration


def _named_ports(container: Manifest) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployments_have_liveness_and_readiness_probes(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """Liveness on /healthz, readiness on /readyz, both on a port the container declares."""
    for deployment in objects_of(overlays[overlay], "Deployment"):
        for container in containers(deployment):
            where = f"{deployment['metadata']['name']}/{container['name']}"
            ports = _named_ports(container)
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                assert probe in container, f"{where} has no {probe}"
                http = container[probe]["httpGet"]
                assert http["path"] == path, f"{where} {probe} checks {http['path']}"
                assert http["port"] in ports or http["port"] in ports.values(), where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_within_limits(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """CPU and memory requests and limits on every container; a request never above its limit."""
    for workload in workloads(overlays[overlay]):
        for container in containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            resources = container.get("resources", {})
            for resource in ("cpu", "memory"):
                request = resources.get("requests", {}).get(resource)
                limit = resources.get("limits", {}).get(resource)
                assert request is not None and limit is not None, f"{where}: {resource} unbounded"
                assert quantity(request) <= quantity(limit), f"{where}: {resource} request > limit"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_meets_the_restricted_pod_security_standard(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """Non-root, read-only root filesystem, no privilege escalation, no capabilities, seccomp."""
    for workload in workloads(overlays[overlay]):
        spec = pod_template(workload)["spec"]
        pod_security = spec.get("securityContext", {})
        assert pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault"
        assert spec.get("automountServiceAccountToken") is False
        for container in containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            security = {**pod_security, **container.get("securityContext", {})}
            assert security.get("runAsNonRoot") is True, f"{where} may run as root"
            assert security.get("runAsUser", 1) != 0, f"{where} runs as uid 0"
            assert security.get("readOnlyRootFilesystem") is True, f"{where} root fs writable"
            assert security.get("allowPrivilegeEscalation") is False, f"{where} can escalate"
            assert security.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not security.get("privileged"), f"{where} is privileged"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_lanes_containers_run_as_the_image_user(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """The uid the manifests run Lanes as is the one the Dockerfile creates (10001)."""
    for deployment in objects_of(overlays[overlay], "Deployment"):
        assert pod_template(deployment)["spec"]["securityContext"]["runAsUser"] == 10001


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned(overlays: dict[str, list[Manifest]], overlay: str) -> None:
    """Every container names a tag or digest, never latest; prod never a local image."""
    for workload in workloads(overlays[overlay]):
        for container in containers(workload):
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1] or "@sha256:" in image, image
            assert not image.endswith(":latest"), image
            if overlay == "prod":
                assert "/" in image, f"prod pulls {image} from no registry"
