"""Fixtures shared by the whole suite: the real servers, started once per session.

Integration tests talk to a real Kafka broker and a real MongoDB-wire server
over TCP. They are provisioned and started here by `lanes_devstack` (the same
code ``make run`` uses) on free loopback ports and in a temporary folder, so
they never collide with a running ``make run``. If a server cannot be had,
the tests that need it fail with the devstack's message; nothing is skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import free_port


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfra]:
    """A real Kafka broker and FerretDB server for this test session."""
    servers = LocalInfra(
        data_dir=Path(tmp_path_factory.mktemp("infra")),
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        mongo_port=free_port(),
    )
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: for topics, databases and consumer groups."""
    return f"t{uuid.uuid4().hex[:12]}"
