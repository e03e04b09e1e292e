"""Fixtures shared by the whole suite: the real servers, started once per session.

Integration tests talk to a real Kafka broker and a real MongoDB-wire server
over TCP. They are provisioned and started here by `lanes_devstack` (the same
code ``make run`` uses) on free loopback ports and in a temporary folder, so
they never collide with a running ``make run``. If a server cannot be had,
the tests that need it fail with the devstack's message; nothing is skipped.

A test that needs anything ``make provision`` fetches or builds (servers,
promtool, kustomize, packages uv fetches) is an integration test: the pure
ones (``make test-unit``) run with no network and no compiler.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lanes_devstack.infra import LocalInfra
from lanes_devstack.infra_modes import IntegrationInfra, infra_from_environment
from lanes_devstack.process import free_port
from lanes_devstack.stack import LanesStack, StackConfig

# Fixtures that start servers or run provisioned tools; asking for one makes
# a test an integration test, and it must say so.
PROVISIONED_FIXTURES = frozenset(
    {
        "infra",
        "local_infra",
        "lanes_stack",
        "kustomize",
        "overlays",
        "base_objects",
        "promtool",
        "image_venv",
        "compose_project",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse to run a test that uses provisioned servers or tools without the integration mark."""
    unmarked = [
        f"{item.nodeid} (uses {', '.join(sorted(PROVISIONED_FIXTURES & set(names)))})"
        for item in items
        if (names := getattr(item, "fixturenames", ()))
        and PROVISIONED_FIXTURES & set(names)
        and item.get_closest_marker("integration") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests need provisioned servers or tools but are not marked "
            "@pytest.mark.integration:\n  " + "\n  ".join(unmarked)
        )


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IntegrationInfra]:
    """Kafka and a MongoDB-wire server for this session.

    ``LANES_TEST_INFRA`` picks where they come from: ``local`` (the default:
    provisioned and started here), ``docker`` (testcontainers) or ``external``.
    """
    servers = infra_from_environment(Path(tmp_path_factory.mktemp("infra")))
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture
def local_infra(infra: IntegrationInfra) -> LocalInfra:
    """The session's servers when this test must stop and start them itself (local mode only)."""
    if not isinstance(infra, LocalInfra):
        pytest.fail("this test stops and restarts servers: it needs LANES_TEST_INFRA=local")
    return infra


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: for topics, databases and consumer groups."""
    return f"t{uuid.uuid4().hex[:12]}"


StackFactory = Callable[..., LanesStack]


@pytest.fixture
def stack_infra(infra: IntegrationInfra) -> IntegrationInfra:
    """The servers `lanes_stack` runs Lanes on (tests/kafka_faults: a three-broker cluster)."""
    return infra


@pytest.fixture
def lanes_stack(
    stack_infra: IntegrationInfra, unique_name: str, tmp_path: Path
) -> Iterator[StackFactory]:
    """Start all of Lanes (auth, gateway, processors) as real processes on the real servers.

    Each call gets its own topics, database and consumer group; everything is
    stopped when the test ends. Keyword arguments: ``processors`` (replica
    count), ``partitions``, and ``env`` (extra ``LANES_*`` settings).
    """
    started: list[LanesStack] = []

    def start(
        processors: int = 2, partitions: int = 6, env: dict[str, str] | None = None
    ) -> LanesStack:
        config = StackConfig(
            log_dir=tmp_path / "logs",
            keys_dir=tmp_path / "keys",
            auth_port=free_port(),
            gateway_port=free_port(),
            processor_ports=[free_port() for _ in range(processors)],
            database=unique_name,
            requests_topic=f"{unique_name}.requests",
            dead_letter_topic=f"{unique_name}.requests.dlq",
            status_topic=f"{unique_name}.status",
            partitions=partitions,
            group_id=f"{unique_name}-processor",
            extra_env={"LANES_LOG_FORMAT": "json", **(env or {})},
        )
        stack_infra.create_topics(
            [config.requests_topic, config.dead_letter_topic, config.status_topic], partitions
        )
        stack = LanesStack(config, stack_infra.kafka_bootstrap_servers, stack_infra.mongo_uri)
        started.append(stack)
        stack.start()
        return stack

    yield start
    for stack in started:
        stack.stop()
