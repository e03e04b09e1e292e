"""The three-broker cluster's configuration: what each node is told, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanes_devstack.errors import DevstackError
from lanes_devstack.kafka_cluster import (
    REPLICATED,
    SINGLE_BROKER,
    KafkaCluster,
    durability_for,
)
from lanes_devstack.servers import KafkaServer


def _properties(text: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")]
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"a property is set twice: {sorted(keys)}"
    return dict(pairs)


def test_nodes_form_one_static_quorum_of_three(tmp_path: Path) -> None:
    cluster = KafkaCluster([9101, 9102, 9103], [9201, 9202, 9203], tmp_path)
    voters = "1@127.0.0.1:9201,2@127.0.0.1:9202,3@127.0.0.1:9203"
    for n, node in enumerate(cluster.nodes, start=1):
        props = _properties(node.properties())
        assert props["node.id"] == str(n)
        assert props["controller.quorum.voters"] == voters
        assert "controller.quorum.bootstrap.servers" not in props
        assert props["listeners"].startswith(f"PLAINTEXT://127.0.0.1:910{n},")
        assert node.format_options() == [f"--cluster-id={node.cluster_id}"]
    assert len({node.cluster_id for node in cluster.nodes}) == 1
    assert cluster.bootstrap_servers == "127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103"


def test_internal_topics_are_replicated_like_lanes_topics(tmp_path: Path) -> None:
    props = _properties(KafkaCluster([1, 2, 3], [4, 5, 6], tmp_path).nodes[0].properties())
    rf, isr = str(REPLICATED.replication_factor), str(REPLICATED.min_insync_replicas)
    assert props["offsets.topic.replication.factor"] == rf
    assert props["transaction.state.log.replication.factor"] == rf
    assert props["transaction.state.log.min.isr"] == isr
    assert props["min.insync.replicas"] == isr
    assert props["unclean.leader.election.enable"] == "false"
    # What the single broker tunes for a dev box, the cluster keeps.
    single = _properties(KafkaServer(1, 4, tmp_path).properties())
    assert (
        props["group.consumer.heartbeat.interval.ms"]
        == single["group.consumer.heartbeat.interval.ms"]
    )


def test_the_cluster_id_survives_a_restart_of_the_devstack(tmp_path: Path) -> None:
    first = KafkaCluster.on_ports(9092, 9093, tmp_path)
    again = KafkaCluster.on_ports(9092, 9093, tmp_path)
    assert first.nodes[0].cluster_id == again.nodes[0].cluster_id
    assert [n.port for n in again.nodes] == [9092, 9192, 9292]
    assert [n.controller_port for n in again.nodes] == [9093, 9193, 9293]


def test_durability_follows_the_broker_count() -> None:
    assert durability_for(1) == SINGLE_BROKER
    assert durability_for(3) == REPLICATED
    with pytest.raises(DevstackError, match="LANES_DEV_BROKERS"):
        durability_for(2)
