"""A real three-broker Kafka cluster for the fault proofs; the rest of the suite keeps one broker.

The cluster is started once per session, beside the session's MongoDB-wire
server, and only when a test here asks for it. Each test gets it with all
three brokers alive and listed (an earlier test may have killed some), and
Lanes started on it by `lanes_stack` as everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from lanes_common.kafka import ensure_topics
from lanes_devstack.infra_modes import IntegrationInfra
from lanes_devstack.kafka_cluster import REPLICATED, KafkaCluster
from lanes_devstack.process import free_port


@dataclass
class ClusterInfra:
    """The cluster for Kafka and the session's server for MongoDB: an `IntegrationInfra`."""

    cluster: KafkaCluster
    mongo_uri: str

    @property
    def kafka_bootstrap_servers(self) -> str:
        """All three brokers: a client bootstraps through whichever answers."""
        return self.cluster.bootstrap_servers

    def start(self) -> None:
        """Nothing: the fixtures start the servers."""

    def create_topics(self, topics: list[str], partitions: int) -> None:
        """Topics as production has them: three replicas, ``min.insync.replicas=2``."""
        ensure_topics(
            self.kafka_bootstrap_servers,
            topics,
            partitions,
            REPLICATED.replication_factor,
            REPLICATED.min_insync_replicas,
        )

    def stop(self) -> None:
        """Nothing: the fixtures stop the servers."""


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """Three combined broker/controller nodes on free loopback ports, for this session."""
    nodes = REPLICATED.replication_factor
    cluster = KafkaCluster(
        [free_port() for _ in range(nodes)],
        [free_port() for _ in range(nodes)],
        tmp_path_factory.mktemp("kafka-cluster"),
    )
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def cluster(kafka_cluster: KafkaCluster) -> KafkaCluster:
    """The cluster with every broker running and listed in its metadata."""
    for node in kafka_cluster.nodes:
        if not node.is_running():
            kafka_cluster.restart(node.node_id)
    kafka_cluster.wait_for_brokers(len(kafka_cluster.nodes))
    return kafka_cluster


@pytest.fixture
def cluster_infra(cluster: KafkaCluster, infra: IntegrationInfra) -> ClusterInfra:
    """Kafka from the healthy cluster, MongoDB from the session."""
    return ClusterInfra(cluster, infra.mongo_uri)


@pytest.fixture
def stack_infra(cluster_infra: ClusterInfra) -> IntegrationInfra:
    """`lanes_stack` runs Lanes on the cluster here."""
    return cluster_infra
