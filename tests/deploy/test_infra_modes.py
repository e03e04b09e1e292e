"""LANES_TEST_INFRA picks where integration tests get Kafka and MongoDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from lanes_devstack.errors import DevstackError
from lanes_devstack.infra import LocalInfra
from lanes_devstack.infra_modes import (
    EXTERNAL_KAFKA_VARIABLE,
    EXTERNAL_MONGO_VARIABLE,
    MONGO_IMAGE,
    DockerInfra,
    ExternalInfra,
    docker_engine_answers,
    infra_from_environment,
    kafka_container_env,
    kafka_image,
)
from lanes_devstack.process import free_port


def test_local_is_the_default(tmp_path: Path) -> None:
    """Without the variable, the devstack's own servers."""
    assert isinstance(infra_from_environment(tmp_path, {}), LocalInfra)
    assert isinstance(infra_from_environment(tmp_path, {"LANES_TEST_INFRA": "local"}), LocalInfra)


def test_an_unknown_mode_names_the_choices(tmp_path: Path) -> None:
    """A typo fails before anything starts."""
    with pytest.raises(DevstackError, match="local, docker, external"):
        infra_from_environment(tmp_path, {"LANES_TEST_INFRA": "dokcer"})


def test_external_needs_both_addresses(tmp_path: Path) -> None:
    """The error names the missing variable."""
    with pytest.raises(DevstackError, match=EXTERNAL_MONGO_VARIABLE):
        infra_from_environment(
            tmp_path, {"LANES_TEST_INFRA": "external", EXTERNAL_KAFKA_VARIABLE: "127.0.0.1:9092"}
        )


def test_external_reads_its_addresses(tmp_path: Path) -> None:
    """Both addresses come from the environment."""
    servers = infra_from_environment(
        tmp_path,
        {
            "LANES_TEST_INFRA": "external",
            EXTERNAL_KAFKA_VARIABLE: "kafka.test:9092",
            EXTERNAL_MONGO_VARIABLE: "mongodb://mongo.test:27017",
        },
    )
    assert isinstance(servers, ExternalInfra)
    assert servers.kafka_bootstrap_servers == "kafka.test:9092"
    assert servers.mongo_uri == "mongodb://mongo.test:27017"


def test_external_fails_at_its_deadline_when_nothing_answers() -> None:
    """An address where nothing listens fails with that address in the message."""
    address = f"127.0.0.1:{free_port()}"
    servers = ExternalInfra(address, f"mongodb://127.0.0.1:{free_port()}", timeout=1.0)
    with pytest.raises(DevstackError, match=address):
        servers.start()


def test_docker_mode_fails_fast_without_an_engine(tmp_path: Path) -> None:
    """No engine: a message that says so and how to go on, before any container is asked for."""
    servers = DockerInfra(docker_host=f"unix://{tmp_path}/no-docker.sock")
    assert not docker_engine_answers(servers.docker_host)
    with pytest.raises(DevstackError, match="no Docker engine answers"):
        servers.start()


def test_docker_kafka_advertises_the_published_port() -> None:
    """Clients outside the container are told the host port; the broker uses its own listener."""
    env = kafka_container_env("127.0.0.1", 39092)
    assert "PLAINTEXT://127.0.0.1:39092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == "INTERNAL"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_docker_mode_uses_the_compose_images(compose: dict[str, Any]) -> None:
    """The containers are the ones docker-compose.yml runs: same Kafka, a real MongoDB."""
    assert kafka_image() == compose["services"]["kafka"]["image"]
    assert compose["services"]["mongo"]["image"] == MONGO_IMAGE


@pytest.mark.integration
def test_external_mode_serves_tests_from_running_servers(
    infra: LocalInfra, unique_name: str
) -> None:
    """Pointed at servers that are up (here, the session's), it is ready and creates topics."""
    servers = infra_from_environment(
        Path("unused"),
        {
            "LANES_TEST_INFRA": "external",
            EXTERNAL_KAFKA_VARIABLE: infra.kafka_bootstrap_servers,
            EXTERNAL_MONGO_VARIABLE: infra.mongo_uri,
        },
    )
    servers.start()
    servers.create_topics([unique_name], partitions=2)
    servers.stop()
    metadata = AdminClient({"bootstrap.servers": servers.kafka_bootstrap_servers}).list_topics(
        timeout=10
    )
    assert len(metadata.topics[unique_name].partitions) == 2
