"""The whole of Lanes on one machine: auth, gateway and processor replicas on real infra."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lanes_devstack.infra import LocalInfra
from lanes_devstack.services import RunningService, start_service


@dataclass
class StackConfig:
    """Ports, names and folders for one running Lanes."""

    log_dir: Path
    keys_dir: Path
    auth_port: int = 8001
    gateway_port: int = 8000
    processor_ports: list[int] = field(default_factory=lambda: [8002])
    database: str = "lanes"
    requests_topic: str = "lanes.requests"
    dead_letter_topic: str = "lanes.requests.dlq"
    status_topic: str = "lanes.status"
    partitions: int = 12
    group_id: str = "lanes-processor"
    extra_env: dict[str, str] = field(default_factory=dict)


class LanesStack:
    """Starts and stops the three services against a `LocalInfra` (or any Kafka and Mongo)."""

    def __init__(self, config: StackConfig, kafka_bootstrap_servers: str, mongo_uri: str) -> None:
        self.config = config
        self.kafka_bootstrap_servers = kafka_bootstrap_servers
        self.mongo_uri = mongo_uri
        self.auth: RunningService | None = None
        self.gateway: RunningService | None = None
        self.processors: list[RunningService] = []

    @classmethod
    def on(cls, infra: LocalInfra, config: StackConfig) -> LanesStack:
        """A stack using a running `LocalInfra`."""
        return cls(config, infra.kafka_bootstrap_servers, infra.mongo_uri)

    def env(self) -> dict[str, str]:
        """The ``LANES_*`` settings every service of this stack shares."""
        c = self.config
        return {
            "LANES_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "LANES_MONGO_URI": self.mongo_uri,
            "LANES_MONGO_DATABASE": c.database,
            "LANES_REQUESTS_TOPIC": c.requests_topic,
            "LANES_DEAD_LETTER_TOPIC": c.dead_letter_topic,
            "LANES_STATUS_TOPIC": c.status_topic,
            "LANES_PROCESSOR_GROUP_ID": c.group_id,
            "LANES_AUTH_URL": f"http://127.0.0.1:{c.auth_port}",
            **c.extra_env,
        }

    def start(self) -> None:
        """Start auth, then the gateway, then every processor replica; all or nothing."""
        c = self.config
        try:
            self.auth = start_service(
                "auth",
                c.auth_port,
                {
                    **self.env(),
                    "LANES_AUTH_HOST": "127.0.0.1",
                    "LANES_AUTH_PORT": str(c.auth_port),
                    "LANES_AUTH_KEYS_DIR": str(c.keys_dir),
                    "LANES_AUTH_GENERATE_KEYS": "true",
                },
                c.log_dir,
            )
            self.gateway = start_service(
                "gateway",
                c.gateway_port,
                {
                    **self.env(),
                    "LANES_GATEWAY_HOST": "127.0.0.1",
                    "LANES_GATEWAY_PORT": str(c.gateway_port),
                },
                c.log_dir,
            )
            for port in c.processor_ports:
                self.start_processor(port)
        except BaseException:
            self.stop()
            raise

    def start_processor(self, port: int, name: str | None = None) -> RunningService:
        """Start one more processor replica with its probes on ``port``."""
        processor = start_service(
            "processor",
            port,
            {
                **self.env(),
                "LANES_PROCESSOR_HOST": "127.0.0.1",
                "LANES_PROCESSOR_PORT": str(port),
            },
            self.config.log_dir,
            name=name or f"processor-{port}",
        )
        self.processors.append(processor)
        return processor

    def stop(self) -> None:
        """Stop processors first (they drain and commit), then the gateway and auth."""
        for processor in self.processors:
            processor.stop()
        self.processors.clear()
        for service in (self.gateway, self.auth):
            if service is not None:
                service.stop()
        self.gateway = self.auth = None
