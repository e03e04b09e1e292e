"""Every overlay renders, and every object is valid Kubernetes (strict: no unknown field).

KEDA's ScaledObject is a custom resource the Kubernetes schemas do not know;
its required fields are checked by hand in test_k8s_scaling.py.
"""

from __future__ import annotations

import kubernetes_validate
import pytest

from .kustomize import Manifest
from .paths import K8S_OVERLAYS

# The oldest Kubernetes the manifests support (the preStop sleep action is on by
# default from 1.30), and the newest the validator knows.
KUBERNETES_VERSIONS = ["1.30", kubernetes_validate.utils.latest_version()]
CUSTOM_RESOURCES = {("keda.sh/v1alpha1", "ScaledObject")}

# Rendered by the kustomize `make provision` builds from the Go module proxy.
pytestmark = pytest.mark.integration


def test_base_renders_on_its_own(base_objects: list[Manifest]) -> None:
    """The base is a complete kustomization too (overlays only adjust it)."""
    kinds = {m["kind"] for m in base_objects}
    assert {
        "Deployment",
        "Service",
        "ConfigMap",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "ScaledObject",
        "Job",
    } <= kinds


@pytest.mark.parametrize("overlay", sorted(K8S_OVERLAYS))
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(
    overlays: dict[str, list[Manifest]], overlay: str, version: str
) -> None:
    """kubernetes-validate, strict, against each supported Kubernetes version."""
    errors = []
    for manifest in overlays[overlay]:
        if (manifest["apiVersion"], manifest["kind"]) in CUSTOM_RESOURCES:
            continue
        name = f"{manifest['kind']}/{manifest['metadata']['name']}"
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{name} at {'.'.join(map(str, exc.path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{name}: {exc.message}")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("overlay", sorted(K8S_OVERLAYS))
def test_everything_lands_in_the_overlay_namespace(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """One namespace per overlay, created by the overlay, holding every namespaced object."""
    manifests = overlays[overlay]
    namespaces = [m for m in manifests if m["kind"] == "Namespace"]
    assert len(namespaces) == 1
    name = namespaces[0]["metadata"]["name"]
    assert namespaces[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for manifest in manifests:
        if manifest["kind"] != "Namespace":
            assert manifest["metadata"].get("namespace") == name, manifest["metadata"]["name"]


def test_the_validator_rejects_a_misspelt_field(overlays: dict[str, list[Manifest]]) -> None:
    """Strict mode is on: a typo in a probe's name would not slip through."""
    deployment = next(m for m in overlays["prod"] if m["kind"] == "Deployment")
    container = dict(deployment["spec"]["template"]["spec"]["containers"][0])
    container["readinesProbe"] = container.pop("readinessProbe")
    broken = {
        **deployment,
        "spec": {
            **deployment["spec"],
            "template": {
                **deployment["spec"]["template"],
                "spec": {**deployment["spec"]["template"]["spec"], "containers": [container]},
            },
        },
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)
