"""One topic durability everywhere: the devstack's cluster, Kubernetes and compose's comment agree.

Production keeps three replicas and needs two in sync for an ``acks=all``
write. The three-broker devstack (``LANES_DEV_BROKERS=3``), on which the
fault proofs run, creates topics with `REPLICATED`; the Kubernetes base and
prod overlay must create them with the same values, and compose (one broker)
must tell whoever runs three what to set.
"""

from __future__ import annotations

import re

import pytest

from lanes_devstack.kafka_cluster import REPLICATED

from .kustomize import Manifest
from .manifests import container_env, containers, one
from .paths import COMPOSE_FILE, K8S_BASE


def _env_file(text: str) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


def test_k8s_base_defaults_are_the_replicated_durability() -> None:
    """deploy/k8s/base/config/topics.env: RF 3, min ISR 2, as the devstack cluster."""
    topics = _env_file((K8S_BASE / "config" / "topics.env").read_text())
    assert int(topics["TOPIC_REPLICATION_FACTOR"]) == REPLICATED.replication_factor
    assert int(topics["TOPIC_MIN_INSYNC_REPLICAS"]) == REPLICATED.min_insync_replicas


@pytest.mark.integration  # kustomize renders the overlay
def test_prod_topics_job_creates_the_replicated_durability(
    overlays: dict[str, list[Manifest]],
) -> None:
    """The prod overlay's topic Job gets exactly the devstack cluster's values."""
    job = one(overlays["prod"], "Job", "lanes-create-topics")
    env = container_env(overlays["prod"], containers(job)[0])
    assert int(env["TOPIC_REPLICATION_FACTOR"]) == REPLICATED.replication_factor
    assert int(env["TOPIC_MIN_INSYNC_REPLICAS"]) == REPLICATED.min_insync_replicas


def test_compose_names_the_replicated_values_for_three_brokers() -> None:
    """Compose runs one broker (1/1) and its comment says what three brokers take."""
    text = COMPOSE_FILE.read_text()
    rf = rf"TOPIC_REPLICATION_FACTOR={REPLICATED.replication_factor}\b"
    isr = rf"TOPIC_MIN_INSYNC_REPLICAS={REPLICATED.min_insync_replicas}\b"
    assert re.search(rf"#.*{rf}", text), "compose's comment must name the production RF"
    assert re.search(rf"#.*{isr}", text), "compose's comment must name the production min ISR"
