"""Kafka and a MongoDB-wire server together: what ``make run`` and the test suite both start."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lanes_common.kafka import ensure_topics
from lanes_devstack.kafka_cluster import KafkaCluster, TopicDurability, durability_for
from lanes_devstack.servers import KafkaServer, MongoWireServer


@dataclass
class LocalInfra:
    """A running Kafka broker and MongoDB-wire server, each with its own port and data folder."""

    data_dir: Path
    kafka_port: int
    kafka_controller_port: int
    mongo_port: int
    kafka_brokers: int = 1
    """1, or 3 for a replicated cluster (nodes at ``kafka_port`` + 0, 100, 200)."""
    kafka: KafkaServer | KafkaCluster = field(init=False)
    durability: TopicDurability = field(init=False)
    mongo: MongoWireServer = field(init=False)

    def __post_init__(self) -> None:
        self.durability = durability_for(self.kafka_brokers)
        self.kafka = (
            KafkaServer(self.kafka_port, self.kafka_controller_port, self.data_dir / "kafka")
            if self.kafka_brokers == 1
            else KafkaCluster.on_ports(
                self.kafka_port, self.kafka_controller_port, self.data_dir / "kafka-cluster"
            )
        )
        self.mongo = MongoWireServer(self.mongo_port, self.data_dir / "mongo")

    @property
    def kafka_bootstrap_servers(self) -> str:
        """Where clients reach Kafka."""
        return self.kafka.bootstrap_servers

    @property
    def mongo_uri(self) -> str:
        """Where clients reach the MongoDB-wire server."""
        return self.mongo.uri

    def start(self) -> None:
        """Start both servers and wait until each answers; stop both if either fails."""
        try:
            self.mongo.start()
            self.kafka.start()
        except BaseException:
            self.stop()
            raise

    def create_topics(self, topics: list[str], partitions: int) -> None:
        """Create the given topics with ``partitions`` partitions each, replicated as configured."""
        ensure_topics(
            self.kafka_bootstrap_servers,
            topics,
            partitions,
            self.durability.replication_factor,
            self.durability.min_insync_replicas,
        )

    def stop(self) -> None:
        """Stop both servers."""
        self.kafka.stop()
        self.mongo.stop()
