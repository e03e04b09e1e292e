"""Fixtures for the auth tests: a real auth process on the session's FerretDB."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import free_port
from lanes_devstack.services import RunningService, start_service


def auth_env(infra: LocalInfra, database: str, port: int, keys_dir: Path) -> dict[str, str]:
    """The settings of an auth process with its own database and keys folder."""
    return {
        "LANES_MONGO_URI": infra.mongo_uri,
        "LANES_MONGO_DATABASE": database,
        "LANES_AUTH_HOST": "127.0.0.1",
        "LANES_AUTH_PORT": str(port),
        "LANES_AUTH_KEYS_DIR": str(keys_dir),
        "LANES_AUTH_GENERATE_KEYS": "false",
        "LANES_JWT_ISSUER": "lanes-auth-test",
        "LANES_JWT_AUDIENCE": "lanes-test",
        "LANES_LOG_LEVEL": "DEBUG",
    }


def start_auth(
    infra: LocalInfra,
    work_dir: Path,
    *,
    generate_keys: bool = True,
    database: str | None = None,
    overrides: dict[str, str] | None = None,
) -> RunningService:
    """Start auth as a real process; its keys are in ``work_dir/keys``, its log in ``work_dir``."""
    port = free_port()
    database = database or f"t{uuid.uuid4().hex[:12]}"
    env = auth_env(infra, database, port, work_dir / "keys")
    env["LANES_AUTH_GENERATE_KEYS"] = str(generate_keys).lower()
    env.update(overrides or {})
    return start_service("auth", port, env, work_dir, timeout=30.0)


@pytest.fixture(scope="module")
def auth_database() -> str:
    """The database of the module's auth process."""
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
    service = start_auth(infra, tmp_path_factory.mktemp("auth"), database=auth_database)
    yield service
    stop_cleanly(service)


def stop_cleanly(service: RunningService) -> None:
    """SIGTERM the service and check that it shut down gracefully."""
    # uvicorn re-raises the SIGTERM it handled once shutdown is complete.
    assert service.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in service.process.log_path.read_text()


@pytest.fixture
def auth(auth_service: RunningService) -> Iterator[httpx.Client]:
    """An HTTP client for the shared auth process."""
    with httpx.Client(base_url=auth_service.url, timeout=30.0) as client:
        yield client
