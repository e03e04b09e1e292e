"""The objects point at each other correctly: Services, budgets, policies, secrets, keys."""

from __future__ import annotations

from typing import Any

import pytest

from lanes_common.settings import SECRETS_DIR

from .kustomize import Manifest
from .manifests import (
    container_env,
    containers,
    objects_of,
    one,
    pod_labels,
    pod_template,
    secret_files,
    selected_workloads,
)
from .paths import K8S_OVERLAYS

OVERLAYS = sorted(K8S_OVERLAYS)

# Rendered by the kustomize `make provision` builds from the Go module proxy.
pytestmark = pytest.mark.integration
LANES_DEPLOYMENTS = ("lanes-auth", "lanes-gateway", "lanes-processor")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_reach_named_container_ports(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """Each Service selects pods, and each target port is a port those pods declare."""
    manifests = overlays[overlay]
    for service in objects_of(manifests, "Service"):
        name = service["metadata"]["name"]
        targets = selected_workloads(manifests, {"matchLabels": service["spec"]["selector"]})
        assert len(targets) == 1, f"Service {name} selects {len(targets)} workloads"
        declared = {p.get("name") for c in containers(targets[0]) for p in c.get("ports", [])}
        declared |= {p["containerPort"] for c in containers(targets[0]) for p in c["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in declared, f"Service {name}: {port['targetPort']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_disruption_budget(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """Exactly one PodDisruptionBudget per Deployment, and none that selects nothing."""
    manifests = overlays[overlay]
    covered: list[str] = []
    for budget in objects_of(manifests, "PodDisruptionBudget"):
        selected = selected_workloads(manifests, budget["spec"]["selector"])
        assert len(selected) == 1, budget["metadata"]["name"]
        covered.append(selected[0]["metadata"]["name"])
    assert sorted(covered) == sorted(
        d["metadata"]["name"] for d in objects_of(manifests, "Deployment")
    )


def _open_ingress(policy: Manifest) -> bool:
    """Whether a policy lets in traffic from any source (a rule without ``from``)."""
    rules: list[dict[str, Any]] = policy["spec"].get("ingress", [])
    return any(not rule.get("from") for rule in rules)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_is_reachable_from_outside(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """Default deny for every pod; the one open ingress rule selects only the gateway."""
    manifests = overlays[overlay]
    policies = objects_of(manifests, "NetworkPolicy")
    deny_all = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    ]
    assert deny_all, "no default-deny NetworkPolicy"
    for policy in filter(_open_ingress, policies):
        selected = {
            w["metadata"]["name"]
            for w in selected_workloads(manifests, policy["spec"]["podSelector"])
        }
        assert selected == {"lanes-gateway"}, f"{policy['metadata']['name']} opens {selected}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_auth_accepts_connections_only_from_the_gateway(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """Pods reach auth only if they are gateway pods (monitoring scrapes from its namespace)."""
    manifests = overlays[overlay]
    auth = one(manifests, "Deployment", "lanes-auth")
    for policy in objects_of(manifests, "NetworkPolicy"):
        if auth not in selected_workloads(manifests, policy["spec"]["podSelector"]):
            continue
        for rule in policy["spec"].get("ingress", []):
            for peer in rule["from"]:
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    pods = {
                        w["metadata"]["name"]
                        for w in selected_workloads(manifests, peer["podSelector"])
                    }
                    assert pods == {"lanes-gateway"}, pods
                else:
                    assert peer["namespaceSelector"]["matchLabels"] == {
                        "kubernetes.io/metadata.name": "monitoring"
                    }, peer


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_lanes_pod_may_reach_dns_and_the_data_stores(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """Under default-deny egress, every workload still resolves names and reaches Kafka."""
    manifests = overlays[overlay]
    by_port: dict[int, set[str]] = {}
    for policy in objects_of(manifests, "NetworkPolicy"):
        pods = {
            w["metadata"]["name"]
            for w in selected_workloads(manifests, policy["spec"]["podSelector"])
        }
        for rule in policy["spec"].get("egress", []):
            for port in rule.get("ports", []):
                by_port.setdefault(port["port"], set()).update(pods)
    everyone = {w["metadata"]["name"] for w in objects_of(manifests, "Deployment")}
    everyone |= {w["metadata"]["name"] for w in objects_of(manifests, "Job")}
    assert by_port[53] >= everyone
    assert by_port[9092] >= everyone
    assert by_port[27017] >= set(LANES_DEPLOYMENTS)
    assert by_port[8001] == {"lanes-gateway"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secret_files_are_settings_that_nothing_overrides(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """Files in /run/secrets/lanes are read as settings, and env would silently win over them."""
    manifests = overlays[overlay]
    for name in LANES_DEPLOYMENTS:
        deployment = one(manifests, "Deployment", name)
        container = containers(deployment)[0]
        files = secret_files(deployment, container, str(SECRETS_DIR))
        assert "LANES_MONGO_URI" in files, f"{name} gets no MongoDB URI secret"
        shadowed = set(files) & set(container_env(manifests, container))
        assert not shadowed, f"{name}: env {shadowed} would override the secret files"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_auth_finds_its_signing_keys(overlays: dict[str, list[Manifest]], overlay: str) -> None:
    """LANES_AUTH_KEYS_DIR is the Secret mount, or (dev) a folder auth creates in a volume."""
    manifests = overlays[overlay]
    auth = one(manifests, "Deployment", "lanes-auth")
    container = containers(auth)[0]
    env = container_env(manifests, container)
    keys_dir = env["LANES_AUTH_KEYS_DIR"]
    generate = env["LANES_AUTH_GENERATE_KEYS"].lower() == "true"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_template(auth)["spec"]["volumes"]}
    if not generate:
        assert keys_dir in mounts, f"nothing is mounted at {keys_dir}"
        assert "secret" in volumes[mounts[keys_dir]["name"]], "signing keys must come from a Secret"
        return
    # auth makes its key folder 0700, which it can do only to a folder it created itself.
    parent = next(path for path in mounts if keys_dir.startswith(path.rstrip("/") + "/"))
    assert not mounts[parent].get("readOnly"), "auth cannot write its generated key"
    assert "emptyDir" in volumes[mounts[parent]["name"]]
    assert auth["spec"].get("replicas") == 1, "generated keys differ per replica"


def test_prod_never_generates_signing_keys(overlays: dict[str, list[Manifest]]) -> None:
    """A generated key is a development convenience: prod signs with the operator's key."""
    auth = one(overlays["prod"], "Deployment", "lanes-auth")
    env = container_env(overlays["prod"], containers(auth)[0])
    assert env["LANES_AUTH_GENERATE_KEYS"] == "false"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_carry_the_part_of_label(overlays: dict[str, list[Manifest]], overlay: str) -> None:
    """The data-store egress policy selects pods by app.kubernetes.io/part-of=lanes."""
    for workload in objects_of(overlays[overlay], "Deployment") + objects_of(
        overlays[overlay], "Job"
    ):
        assert pod_labels(workload).get("app.kubernetes.io/part-of") == "lanes"
