"""create-topics.sh, the script of the topic Job and the compose one-shot, against real Kafka.

It runs here with Kafka's real TopicCommand at the version the images use:
creates both topics with the partitions and min.insync.replicas asked for,
and refuses (exit 1) to go on when an existing topic has another count.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from lanes_devstack.infra import LocalInfra
from lanes_devstack.provision import kafka_version

from .kafka_tools import write_kafka_topics_command
from .kustomize import Manifest
from .manifests import containers, one, workloads
from .paths import CREATE_TOPICS_SCRIPT


def run_script(kafka_topics: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run create-topics.sh as the Job does: sh, the settings in the environment."""
    return subprocess.run(
        ["/bin/sh", str(CREATE_TOPICS_SCRIPT)],
        env={"PATH": os.environ["PATH"], "KAFKA_TOPICS": str(kafka_topics), **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def partition_counts(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """How many partitions each topic has, from the broker's metadata."""
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    return {t: len(metadata.topics[t].partitions) for t in topics if t in metadata.topics}


def topic_config(bootstrap: str, topic: str, key: str) -> str:
    """One configuration value of a topic."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=10)
    return str(configs[key].value)


def test_script_is_valid_posix_shell() -> None:
    """``sh -n``: the script parses (it runs under busybox or dash, not bash)."""
    result = subprocess.run(
        ["/bin/sh", "-n", str(CREATE_TOPICS_SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_script_refuses_to_run_without_its_settings(tmp_path: Path) -> None:
    """A missing variable stops it before it touches Kafka, naming the variable."""
    result = run_script(tmp_path / "never-called", {"LANES_KAFKA_BOOTSTRAP_SERVERS": "x:9092"})
    assert result.returncode != 0
    assert "LANES_REQUESTS_TOPIC" in result.stderr


@pytest.mark.integration
def test_deploy_images_run_the_kafka_version_proven_here(
    overlays: dict[str, list[Manifest]], compose: dict[str, Any]
) -> None:
    """The apache/kafka image of the Job and of compose is the version the tests run."""
    images = {
        c["image"]
        for w in workloads(overlays["prod"])
        for c in containers(w)
        if c["image"].startswith("apache/kafka:")
    }
    images |= {compose["services"][s]["image"] for s in ("kafka", "kafka-topics")}
    assert images == {f"apache/kafka:{kafka_version()}"}
    job = one(overlays["prod"], "Job", "lanes-create-topics")
    assert containers(job)[0]["command"][-1].endswith(CREATE_TOPICS_SCRIPT.name)


@pytest.mark.integration
def test_script_creates_topics_and_refuses_to_change_partitions(
    infra: LocalInfra, unique_name: str, tmp_path: Path
) -> None:
    """Creates both topics as asked; a later run with another count exits 1 and changes nothing."""
    kafka_topics = write_kafka_topics_command(tmp_path)
    requests, dead_letters = f"{unique_name}.requests", f"{unique_name}.requests.dlq"
    env = {
        "LANES_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "LANES_REQUESTS_TOPIC": requests,
        "LANES_DEAD_LETTER_TOPIC": dead_letters,
        "TOPIC_PARTITIONS": "3",
        "TOPIC_REPLICATION_FACTOR": "1",
        "TOPIC_MIN_INSYNC_REPLICAS": "1",
    }

    created = run_script(kafka_topics, env)
    assert created.returncode == 0, created.stdout + created.stderr
    assert partition_counts(infra.kafka_bootstrap_servers, [requests, dead_letters]) == {
        requests: 3,
        dead_letters: 3,
    }
    assert topic_config(infra.kafka_bootstrap_servers, requests, "min.insync.replicas") == "1"

    changed = run_script(kafka_topics, {**env, "TOPIC_PARTITIONS": "4"})
    assert changed.returncode == 1
    assert "has 3 partitions" in changed.stderr and "expects 4" in changed.stderr
    assert partition_counts(infra.kafka_bootstrap_servers, [requests]) == {requests: 3}
