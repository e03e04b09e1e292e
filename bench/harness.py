"""What every benchmark phase shares: settings, medians, one user's token, servers, processes."""

from __future__ import annotations

import base64
import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import ManagedProcess, free_port
from lanes_devstack.waiting import eventually

REPO_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-not-secret"  # noqa: S105  (a throwaway account on a throwaway server)


@dataclass(frozen=True)
class Settings:
    """Sizes and durations; ``quick`` is a smoke run of the same code."""

    quick: bool
    repetitions: int
    accept_seconds: float
    accept_connections: int
    accept_users: int
    drain_requests: int
    drain_partitions: int
    drain_users: int
    scaling_requests: int
    scaling_sleep_ms: int
    scaling_replicas: tuple[int, ...]
    scaling_repetitions: int
    scaling_in_flight: int
    head_of_line_repetitions: int
    noisy_repetitions: int
    history_seeded: int

    @classmethod
    def create(cls, quick: bool) -> Settings:
        """The full run, or the quick one."""
        if quick:
            return cls(True, 1, 3, 16, 8, 300, 4, 100, 300, 20, (1, 2, 4), 1, 4, 1, 1, 10_000)
        # Sized so the whole run takes about half an hour on a busy 2-core box.
        return cls(False, 3, 10, 16, 8, 2000, 4, 200, 1200, 20, (1, 2, 4), 2, 4, 2, 2, 100_000)


def local_infra(data_dir: Path) -> LocalInfra:
    """Kafka and the MongoDB-wire server keeping their data in ``data_dir``, on free ports."""
    return LocalInfra(
        data_dir=data_dir,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        mongo_port=free_port(),
    )


def processor_env(infra: LocalInfra, base: str, port: int) -> dict[str, str]:
    """A processor replica's settings for a run of its own: database ``base``, its own topics."""
    topic = f"{base}.requests"
    return {
        "LANES_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "LANES_MONGO_URI": infra.mongo_uri,
        "LANES_MONGO_DATABASE": base,
        "LANES_REQUESTS_TOPIC": topic,
        "LANES_DEAD_LETTER_TOPIC": f"{topic}.dlq",
        "LANES_PROCESSOR_GROUP_ID": f"{base}-processor",
        "LANES_PROCESSOR_HOST": "127.0.0.1",
        "LANES_PROCESSOR_PORT": str(port),
    }


def median(values: Sequence[float]) -> float:
    """The median, rounded for a table."""
    return round(statistics.median(values), 2)


async def register_and_login(auth_url: str, username: str) -> str:
    """A new account's access token."""
    async with httpx.AsyncClient(base_url=auth_url, timeout=30) as client:
        created = await client.post(
            "/v1/auth/register", json={"username": username, "password": PASSWORD}
        )
        created.raise_for_status()
        login = await client.post(
            "/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        login.raise_for_status()
        return str(login.json()["access_token"])


def token_subject(token: str) -> str:
    """The user id (``sub``) of an access token, read without verifying it (our own token)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


async def start_python(
    name: str, module: str, args: list[str], log_dir: Path, ready_url: str
) -> ManagedProcess:
    """``python -m module args`` from the repository root, ready when ``ready_url`` answers 200."""
    process = ManagedProcess(
        name, [sys.executable, "-m", module, *args], log_dir / f"{name}.log", cwd=REPO_ROOT
    )
    process.start()

    async def answers() -> bool:
        if not process.is_running():
            raise RuntimeError(f"{name} exited:\n{process.log_tail()}")
        try:
            async with httpx.AsyncClient(timeout=1) as client:
                return (await client.get(ready_url)).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(answers, 60, f"{name} ready", 0.2)
    return process
