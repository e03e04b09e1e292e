"""Kafka and a MongoDB-wire server together: what ``make run`` and the test suite both start."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lanes_common.kafka import ensure_topics
from lanes_devstack.servers import KafkaServer, MongoWireServer


@dataclass
class LocalInfra:
    """A running Kafka broker and MongoDB-wire server, each with its own port and data folder."""

    data_dir: Path
    kafka_port: int
    kafka_controller_port: int
    mongo_port: int
    kafka: KafkaServer = field(init=False)
    mongo: MongoWireServer = field(init=False)

    def __post_init__(self) -> None:
        self.kafka = KafkaServer(
            self.kafka_port, self.kafka_controller_port, self.data_dir / "kafka"
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
        """Create the given topics with ``partitions`` partitions each."""
        ensure_topics(self.kafka_bootstrap_servers, topics, partitions)

    def stop(self) -> None:
        """Stop both servers."""
        self.kafka.stop()
        self.mongo.stop()
