"""Scaling: the processor on consumer lag (KEDA), capped by partitions; the gateway on CPU."""

from __future__ import annotations

import pytest

from .kustomize import Manifest
from .manifests import container_env, containers, objects_of, one, pod_template
from .paths import K8S_OVERLAYS
from .settings_classes import settings_class

OVERLAYS = sorted(K8S_OVERLAYS)

# Rendered by the kustomize `make provision` builds from the Go module proxy.
pytestmark = pytest.mark.integration
KEDA_KAFKA_REQUIRED = ("bootstrapServers", "consumerGroup", "topic", "lagThreshold")
# What the processor needs after its drain deadline: final status writes,
# the offset commit, leaving the group, closing clients.
SHUTDOWN_HEADROOM_SECONDS = 15


def _scaled_object(manifests: list[Manifest]) -> Manifest:
    return one(manifests, "ScaledObject", "lanes-processor")


def _processor_env(manifests: list[Manifest]) -> dict[str, str]:
    deployment = one(manifests, "Deployment", "lanes-processor")
    return container_env(manifests, containers(deployment)[0])


def _topic_settings(manifests: list[Manifest]) -> dict[str, str]:
    job = one(manifests, "Job", "lanes-create-topics")
    return container_env(manifests, containers(job)[0])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaled_object_has_keda_required_fields(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """What KEDA's CRD requires, and what its Kafka scaler needs to read the lag."""
    scaled = _scaled_object(overlays[overlay])
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    target = spec["scaleTargetRef"]
    assert target.get("kind", "Deployment") == "Deployment"
    one(overlays[overlay], "Deployment", target["name"])
    assert spec["triggers"], "a ScaledObject needs at least one trigger"
    kafka = [t for t in spec["triggers"] if t["type"] == "kafka"]
    assert len(kafka) == 1
    metadata = kafka[0]["metadata"]
    for field in KEDA_KAFKA_REQUIRED:
        assert metadata.get(field), f"kafka trigger without {field}"
    # KEDA's trigger metadata is map[string]string: a bare number or bool is rejected.
    assert all(isinstance(v, str) for v in metadata.values()), metadata
    assert int(metadata["lagThreshold"]) > 0
    assert metadata.get("allowIdleConsumers", "false") == "false"
    # Kafka 4 refuses the pre-2.1 protocol of KEDA's default client version (1.0.0).
    version = tuple(int(part) for part in metadata.get("version", "1.0.0").split("."))
    assert version >= (2, 1, 0), f"KEDA would talk Kafka {version} to a Kafka 4 broker"
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaled_object_watches_the_group_the_processor_joins(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """Same brokers, topic and group as the processor's settings: the lag of the right group."""
    manifests = overlays[overlay]
    metadata = _scaled_object(manifests)["spec"]["triggers"][0]["metadata"]
    env = _processor_env(manifests)
    defaults = settings_class("processor").model_fields
    group = env.get("LANES_PROCESSOR_GROUP_ID", defaults["processor_group_id"].default)
    assert metadata["bootstrapServers"] == env["LANES_KAFKA_BOOTSTRAP_SERVERS"]
    assert metadata["topic"] == env["LANES_REQUESTS_TOPIC"]
    assert metadata["consumerGroup"] == group


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_processor_replicas_never_exceed_partitions(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """maxReplicaCount <= the partitions the topic Job creates: more would sit idle."""
    manifests = overlays[overlay]
    topics = _topic_settings(manifests)
    partitions = int(topics["TOPIC_PARTITIONS"])
    assert _scaled_object(manifests)["spec"]["maxReplicaCount"] <= partitions
    assert topics["LANES_REQUESTS_TOPIC"] == _processor_env(manifests)["LANES_REQUESTS_TOPIC"]
    assert (
        topics["LANES_KAFKA_BOOTSTRAP_SERVERS"]
        == (_processor_env(manifests)["LANES_KAFKA_BOOTSTRAP_SERVERS"])
    )


def test_prod_topics_survive_a_broker_loss(overlays: dict[str, list[Manifest]]) -> None:
    """Prod: three replicas, two in sync for an acks=all write."""
    topics = _topic_settings(overlays["prod"])
    replication = int(topics["TOPIC_REPLICATION_FACTOR"])
    assert replication >= 3
    assert 2 <= int(topics["TOPIC_MIN_INSYNC_REPLICAS"]) < replication


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_processor_grace_period_covers_its_drain(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """SIGKILL comes only after the drain deadline plus time to record and commit."""
    manifests = overlays[overlay]
    env = _processor_env(manifests)
    default = settings_class("processor").model_fields["processor_drain_timeout_seconds"].default
    drain = float(env.get("LANES_PROCESSOR_DRAIN_TIMEOUT_SECONDS", default))
    grace = pod_template(one(manifests, "Deployment", "lanes-processor"))["spec"][
        "terminationGracePeriodSeconds"
    ]
    assert grace >= drain + SHUTDOWN_HEADROOM_SECONDS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscaled_deployments_leave_replicas_to_the_autoscaler(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """HPA (gateway) and KEDA (processor) own replicas: a re-apply must not reset them."""
    manifests = overlays[overlay]
    targets = [
        h["spec"]["scaleTargetRef"]["name"]
        for h in objects_of(manifests, "HorizontalPodAutoscaler")
    ]
    targets += [s["spec"]["scaleTargetRef"]["name"] for s in objects_of(manifests, "ScaledObject")]
    assert sorted(targets) == ["lanes-gateway", "lanes-processor"]
    for name in targets:
        assert "replicas" not in one(manifests, "Deployment", name)["spec"], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_scales_on_cpu_it_requests(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """CPU utilisation is measured against the request, so the gateway must request CPU."""
    manifests = overlays[overlay]
    hpa = one(manifests, "HorizontalPodAutoscaler", "lanes-gateway")
    metrics = [m["resource"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"]
    assert metrics == ["cpu"]
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    gateway = containers(one(manifests, "Deployment", "lanes-gateway"))[0]
    assert gateway["resources"]["requests"]["cpu"]
