"""Questions about rendered Kubernetes objects: which pods, which env, which settings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Manifest = dict[str, Any]

WORKLOAD_KINDS = ("Deployment", "Job")


def objects_of(manifests: list[Manifest], kind: str) -> list[Manifest]:
    """Every object of one kind."""
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    """The object with this kind and name; fails when there is not exactly one."""
    found = [m for m in objects_of(manifests, kind) if m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def config_map(manifests: list[Manifest], name: str) -> dict[str, str]:
    """A ConfigMap's data, by the name a workload refers to (hash suffix included)."""
    return dict(one(manifests, "ConfigMap", name).get("data", {}))


def pod_template(workload: Manifest) -> Manifest:
    """The pod template of a Deployment or Job."""
    template: Manifest = workload["spec"]["template"]
    return template


def containers(workload: Manifest) -> list[Manifest]:
    """The (non-init) containers of a workload's pod template."""
    return list(pod_template(workload)["spec"]["containers"])


def workloads(manifests: list[Manifest]) -> Iterator[Manifest]:
    """Every Deployment and Job."""
    for kind in WORKLOAD_KINDS:
        yield from objects_of(manifests, kind)


def container_env(manifests: list[Manifest], container: Manifest) -> dict[str, str]:
    """The environment a container starts with: ``envFrom`` ConfigMaps, then ``env``.

    Only ConfigMaps and literal values: Lanes takes its secrets as files.
    """
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, f"only ConfigMaps feed env, not {source}"
        env.update(config_map(manifests, source["configMapRef"]["name"]))
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = str(variable["value"])
        else:
            ref = variable["valueFrom"]["configMapKeyRef"]
            env[variable["name"]] = config_map(manifests, ref["name"])[ref["key"]]
    return env


def secret_files(workload: Manifest, container: Manifest, mount_path: str) -> list[str]:
    """The file names a container sees in ``mount_path`` from a Secret volume with items."""
    mounts = [m for m in container.get("volumeMounts", []) if m["mountPath"] == mount_path]
    if not mounts:
        return []
    volumes = {v["name"]: v for v in pod_template(workload)["spec"].get("volumes", [])}
    secret = volumes[mounts[0]["name"]]["secret"]
    assert "items" in secret, f"{mount_path}: list the Secret's keys, so a missing key fails fast"
    return [item["path"] for item in secret["items"]]


def labels_match(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects these labels."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def pod_labels(workload: Manifest) -> dict[str, str]:
    """The labels of a workload's pods."""
    return dict(pod_template(workload)["metadata"].get("labels", {}))


def selected_workloads(manifests: list[Manifest], selector: Mapping[str, Any]) -> list[Manifest]:
    """The workloads whose pods a selector picks."""
    return [w for w in workloads(manifests) if labels_match(selector, pod_labels(w))]


_QUANTITY_SUFFIXES = {
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
}


def quantity(value: str | int | float) -> float:
    """A Kubernetes resource quantity as a number (``250m`` -> 0.25, ``1Gi`` -> 2**30)."""
    text = str(value)
    for suffix in sorted(_QUANTITY_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * _QUANTITY_SUFFIXES[suffix]
    return float(text)
