"""Where the integration tests get Kafka and MongoDB: ``LANES_TEST_INFRA``.

- ``local`` (default): the devstack provisions and starts the real servers on
  loopback (Kafka and mongo-java-server, both from Maven Central jars).
- ``docker``: ``apache/kafka`` and ``mongo`` containers through testcontainers,
  where a Docker engine answers (``DOCKER_HOST`` or the default socket).
- ``external``: servers already running somewhere, named by
  ``LANES_TEST_KAFKA_BOOTSTRAP_SERVERS`` and ``LANES_TEST_MONGO_URI``.

All three give the tests the same surface as `LocalInfra`:
``kafka_bootstrap_servers``, ``mongo_uri``, ``create_topics``, ``start``, ``stop``.
Only the standard library, lanes_common and lanes_devstack are imported at the
top (testcontainers only in docker mode), so the module can move into
lanes_devstack unchanged.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import httpx

from lanes_common.kafka import ensure_topics, kafka_is_ready
from lanes_devstack.errors import DevstackError
from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import free_port
from lanes_devstack.provision import KAFKA_POM
from lanes_devstack.servers import mongo_answers_ping

MODE_VARIABLE = "LANES_TEST_INFRA"
MODES = ("local", "docker", "external")
EXTERNAL_KAFKA_VARIABLE = "LANES_TEST_KAFKA_BOOTSTRAP_SERVERS"
EXTERNAL_MONGO_VARIABLE = "LANES_TEST_MONGO_URI"
MONGO_IMAGE = "mongo:8.0"
READY_POLL_SECONDS = 0.2
DEFAULT_DOCKER_SOCKET = "unix:///var/run/docker.sock"


class IntegrationInfra(Protocol):
    """What the integration tests use of their servers, whichever mode provides them."""

    @property
    def kafka_bootstrap_servers(self) -> str:
        """Where clients reach Kafka."""
        ...

    @property
    def mongo_uri(self) -> str:
        """Where clients reach the MongoDB-wire server."""
        ...

    def start(self) -> None:
        """Make the servers available and wait until both answer."""
        ...

    def create_topics(self, topics: list[str], partitions: int) -> None:
        """Create the given topics with ``partitions`` partitions each."""
        ...

    def stop(self) -> None:
        """Release what ``start`` started."""
        ...


def kafka_image() -> str:
    """The apache/kafka image at the version the devstack runs (infra/kafka/pom.xml)."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", KAFKA_POM.read_text())
    if match is None:
        raise DevstackError(f"no <kafka.version> in {KAFKA_POM}")
    return f"apache/kafka:{match[1]}"


def wait_for(ready: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``ready`` until it is true; a `DevstackError` naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise DevstackError(f"{what} did not answer within {timeout:.0f}s")
        time.sleep(READY_POLL_SECONDS)


@dataclass
class ExternalInfra:
    """Servers someone else runs and stops; the tests only check that they answer."""

    kafka_bootstrap_servers: str
    mongo_uri: str
    timeout: float = 30.0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> ExternalInfra:
        """Read the two addresses; fail naming whichever variable is missing."""
        missing = [
            v for v in (EXTERNAL_KAFKA_VARIABLE, EXTERNAL_MONGO_VARIABLE) if not environ.get(v)
        ]
        if missing:
            raise DevstackError(
                f"{MODE_VARIABLE}=external needs {' and '.join(missing)} "
                f"(e.g. {EXTERNAL_KAFKA_VARIABLE}=127.0.0.1:9092 "
                f"{EXTERNAL_MONGO_VARIABLE}=mongodb://127.0.0.1:27017)"
            )
        return cls(environ[EXTERNAL_KAFKA_VARIABLE], environ[EXTERNAL_MONGO_VARIABLE])

    def start(self) -> None:
        """Wait until both servers answer."""
        wait_for(
            lambda: kafka_is_ready(self.kafka_bootstrap_servers, timeout=1.0),
            self.timeout,
            f"Kafka at {self.kafka_bootstrap_servers} ({EXTERNAL_KAFKA_VARIABLE})",
        )
        wait_for(
            lambda: mongo_answers_ping(self.mongo_uri),
            self.timeout,
            f"MongoDB at {self.mongo_uri} ({EXTERNAL_MONGO_VARIABLE})",
        )

    def create_topics(self, topics: list[str], partitions: int) -> None:
        """Create the given topics with ``partitions`` partitions each."""
        ensure_topics(self.kafka_bootstrap_servers, topics, partitions)

    def stop(self) -> None:
        """Nothing: the servers are not ours."""


def docker_engine_answers(docker_host: str) -> bool:
    """True when the Docker API at ``docker_host`` (unix:// or tcp://) answers ``/_ping``."""
    url = urlparse(docker_host)
    if url.scheme == "unix":
        return _unix_socket_answers_ping(url.path)
    if url.scheme in ("tcp", "http", "https"):
        scheme = "https" if url.scheme == "https" else "http"
        try:
            return httpx.get(f"{scheme}://{url.netloc}/_ping", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False
    # ssh:// and other transports: let the Docker client itself try.
    return True


def _unix_socket_answers_ping(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2.0)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            status_line = sock.recv(64).split(b"\r\n", 1)[0]
    except OSError:
        return False
    return status_line.split(b" ")[1:2] == [b"200"]


def kafka_container_env(advertised_host: str, port: int) -> dict[str, str]:
    """A one-node KRaft broker whose clients connect to ``advertised_host:port``.

    Clients outside the container use the published port; the broker talks to
    itself on an internal listener, so it never depends on the published one.
    """
    return {
        "CLUSTER_ID": "d1b3KPn0SWCUmd3n8RtB2w",
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,INTERNAL://:19092,CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": (
            f"PLAINTEXT://{advertised_host}:{port},INTERNAL://localhost:19092"
        ),
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
            "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
        ),
        "KAFKA_INTER_BROKER_LISTENER_NAME": "INTERNAL",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        # The same test-friendly settings as the devstack's broker.
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "4",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_GROUP_CONSUMER_MIN_SESSION_TIMEOUT_MS": "6000",
        "KAFKA_GROUP_CONSUMER_SESSION_TIMEOUT_MS": "10000",
    }


@dataclass
class DockerInfra:
    """Kafka and MongoDB in containers (testcontainers), published on free host ports."""

    timeout: float = 120.0
    docker_host: str = field(
        default_factory=lambda: os.environ.get("DOCKER_HOST", DEFAULT_DOCKER_SOCKET)
    )
    kafka_bootstrap_servers: str = field(init=False, default="")
    mongo_uri: str = field(init=False, default="")
    _containers: list[Any] = field(init=False, default_factory=list)

    def require_engine(self) -> None:
        """Fail at once, saying what to do, when no Docker engine answers."""
        if not docker_engine_answers(self.docker_host):
            raise DevstackError(
                f"{MODE_VARIABLE}=docker, but no Docker engine answers at {self.docker_host}. "
                f"Start Docker (or set DOCKER_HOST), or use {MODE_VARIABLE}=local."
            )

    def start(self) -> None:
        """Start both containers and wait until both servers answer; stop both on failure."""
        self.require_engine()
        # Imported here: a dev dependency, needed in this mode only.
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.docker_client import DockerClient

        host = DockerClient().host()
        kafka_port, mongo_port = free_port(), free_port()
        kafka = DockerContainer(kafka_image()).with_bind_ports(9092, kafka_port)
        for name, value in kafka_container_env(host, kafka_port).items():
            kafka = kafka.with_env(name, value)
        mongo = DockerContainer(MONGO_IMAGE).with_bind_ports(27017, mongo_port)
        self.kafka_bootstrap_servers = f"{host}:{kafka_port}"
        self.mongo_uri = f"mongodb://{host}:{mongo_port}/"
        try:
            for container in (mongo, kafka):
                container.start()
                self._containers.append(container)
            wait_for(
                lambda: kafka_is_ready(self.kafka_bootstrap_servers, timeout=1.0),
                self.timeout,
                f"Kafka container ({kafka_image()})",
            )
            wait_for(
                lambda: mongo_answers_ping(self.mongo_uri),
                self.timeout,
                f"MongoDB container ({MONGO_IMAGE})",
            )
        except BaseException:
            self.stop()
            raise

    def create_topics(self, topics: list[str], partitions: int) -> None:
        """Create the given topics with ``partitions`` partitions each."""
        ensure_topics(self.kafka_bootstrap_servers, topics, partitions)

    def stop(self) -> None:
        """Stop and remove the containers."""
        while self._containers:
            self._containers.pop().stop()


def infra_from_environment(
    data_dir: Path, environ: Mapping[str, str] = os.environ
) -> IntegrationInfra:
    """The servers ``LANES_TEST_INFRA`` asks for (not started yet)."""
    mode = environ.get(MODE_VARIABLE, "local") or "local"
    if mode == "local":
        return LocalInfra(
            data_dir=data_dir,
            kafka_port=free_port(),
            kafka_controller_port=free_port(),
            mongo_port=free_port(),
        )
    if mode == "docker":
        return DockerInfra()
    if mode == "external":
        return ExternalInfra.from_environment(environ)
    raise DevstackError(f"{MODE_VARIABLE}={mode!r} is not one of {', '.join(MODES)}")
