"""Who does what in a Kafka cluster right now, as its metadata says: leaders, ISRs, coordinators.

Fault tests choose their victim from these answers (the broker leading the
most partitions, the group's coordinator) and wait on them (every partition
led by a live broker again) instead of on time.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from confluent_kafka import ConsumerGroupState, KafkaException
from confluent_kafka.admin import AdminClient

from lanes_devstack.waiting import wait_until

METADATA_TIMEOUT_SECONDS = 5.0

# A dead broker in the bootstrap list is expected here; librdkafka would log each refusal.
_quiet = logging.getLogger("lanes.devstack.kafka_topology")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


def _admin(bootstrap_servers: str) -> AdminClient:
    config: dict[str, Any] = {"bootstrap.servers": bootstrap_servers, "logger": _quiet}
    return AdminClient(config)


@dataclass(frozen=True)
class PartitionState:
    """One partition's leader (-1 while none) and in-sync replicas."""

    partition: int
    leader: int
    isr: tuple[int, ...]


def cluster_brokers(bootstrap_servers: str) -> set[int]:
    """Ids of the brokers the cluster's metadata lists as alive (empty when none answers)."""
    try:
        metadata = _admin(bootstrap_servers).list_topics(timeout=METADATA_TIMEOUT_SECONDS)
    except KafkaException:
        return set()
    return set(metadata.brokers)


def partition_states(bootstrap_servers: str, topic: str) -> list[PartitionState]:
    """Leader and ISR of every partition of ``topic`` (empty when no broker answers)."""
    try:
        metadata = _admin(bootstrap_servers).list_topics(topic, timeout=METADATA_TIMEOUT_SECONDS)
    except KafkaException:
        return []
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        return []
    return sorted(
        (PartitionState(p.id, p.leader, tuple(sorted(p.isrs))) for p in found.partitions.values()),
        key=lambda state: state.partition,
    )


def busiest_leader(bootstrap_servers: str, topic: str) -> int:
    """The broker that leads the most partitions of ``topic`` (the lowest id on a tie)."""
    leaders = Counter(s.leader for s in partition_states(bootstrap_servers, topic) if s.leader >= 0)
    if not leaders:
        raise KafkaException(f"no partition of {topic} has a leader")
    most = max(leaders.values())
    return min(broker for broker, count in leaders.items() if count == most)


def group_coordinator(bootstrap_servers: str, group_id: str) -> int | None:
    """The broker coordinating ``group_id``, or None while the group is not stable or unknown."""
    # Held until the answer is in: a collected client never resolves its futures.
    admin = _admin(bootstrap_servers)
    futures = admin.describe_consumer_groups([group_id], request_timeout=METADATA_TIMEOUT_SECONDS)
    try:
        description = futures[group_id].result(timeout=METADATA_TIMEOUT_SECONDS * 2)
    except (KafkaException, TimeoutError):
        return None
    if description.state != ConsumerGroupState.STABLE or description.coordinator is None:
        return None
    return int(description.coordinator.id)


def wait_for_leaders_among(
    bootstrap_servers: str, topic: str, brokers: Collection[int], timeout: float
) -> list[PartitionState]:
    """Wait until every partition of ``topic`` is led by one of ``brokers``; return the states."""
    states: list[PartitionState] = []

    def elected() -> bool:
        nonlocal states
        states = partition_states(bootstrap_servers, topic)
        return bool(states) and all(s.leader in brokers for s in states)

    wait_until(elected, timeout, f"every partition of {topic} led by one of {sorted(brokers)}")
    return states
