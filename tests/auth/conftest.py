"""Fixtures for the auth tests: real auth processes on the session's MongoDB-wire server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from lanes_devstack.infra import LocalInfra
from lanes_devstack.services import RunningService

from .processes import AuthProcesses


@pytest.fixture
def auth_processes(infra: LocalInfra) -> Iterator[AuthProcesses]:
    """Auth processes of this test's own, stopped when it ends."""
    processes = AuthProcesses(infra)
    yield processes
    processes.stop_all()


@pytest.fixture(scope="module")
def auth_database() -> str:
    """The database of the module's shared auth process."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def auth_service(
    infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory, auth_database: str
) -> Iterator[RunningService]:
    """One auth process (own database, generated key) shared by a test module.

    Its tests stay independent by registering users under names no other test
    uses, and by failing logins from client addresses of their own (auth
    trusts X-Forwarded-For from loopback, as it does from a local gateway).
    """
    processes = AuthProcesses(infra)
    service = processes.start(tmp_path_factory.mktemp("auth"), database=auth_database)
    try:
        yield service
        processes.stop(service)
    finally:
        processes.stop_all()


@pytest.fixture
def auth(auth_service: RunningService) -> Iterator[httpx.Client]:
    """An HTTP client for the shared auth process."""
    with httpx.Client(base_url=auth_service.url, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="module")
def mongo(infra: LocalInfra, auth_database: str) -> Iterator[Any]:
    """The shared auth process's database, for checking what it stored."""
    client: MongoClient[dict[str, Any]] = MongoClient(infra.mongo_uri)
    yield client[auth_database]
    client.close()
