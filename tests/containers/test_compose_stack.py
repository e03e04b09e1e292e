"""docker-compose.yml as an operator meets it, on real containers (rootful Podman).

One `up` of the stack with two processor replicas, on the image built from the
Dockerfile and, for the third-party servers, images built on this machine
(infra/containers/compose.local.yml). Then, through the gateway's published
port: twenty users register, log in and enqueue two hundred requests; one
processor container is killed half-way and the other one finishes its work;
every request succeeds, each user's in enqueue order. Prometheus scrapes every
service, and `down -v` leaves no container, network or volume behind.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from lanes_devstack.containers.compose import LOCAL_SERVICES
from lanes_devstack.containers.healthchecks import health_status
from lanes_devstack.waiting import eventually

from .conftest import RunningProject, podman_exec

pytestmark = [pytest.mark.integration, pytest.mark.containers]

log = logging.getLogger(__name__)

USERS = 20
REQUESTS_PER_USER = 10
PROCESSORS = 2
PARTITIONS = 6  # docker-compose.yml's TOPIC_PARTITIONS default
PASSWORD = "correct-horse-battery"
METRICS_SCRIPT = (
    "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8002/metrics').read()"
    ".decode())"
)


def inspect(running: RunningProject) -> list[dict[str, Any]]:
    """``podman inspect`` of every container of the project, whatever its state."""
    ids = running.compose.container_ids(all_states=True)
    result = subprocess.run(
        ["podman", "inspect", *ids],
        env=running.compose.env,
        capture_output=True,
        text=True,
        check=True,
    )
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def not_yet_healthy(running: RunningProject) -> list[str]:
    """Containers that are not where `up` should bring them: healthy, or exited 0 (topics)."""
    waiting = []
    for container in inspect(running):
        service = container["Config"]["Labels"]["com.docker.compose.service"]
        state = container["State"]
        if service == "kafka-topics":
            if state["Status"] != "exited" or state["ExitCode"] != 0:
                waiting.append(f"{service} ({state['Status']}, exit {state['ExitCode']})")
        elif health_status(container) != "healthy":
            waiting.append(f"{service} ({health_status(container) or state['Status']})")
    return waiting


def metric(container_id: str, name: str) -> float:
    """The sum of one metric's samples on a processor's /metrics, read inside its container."""
    text = podman_exec(container_id, "python", "-c", METRICS_SCRIPT)
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


async def post_like_a_client(
    client: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> list[httpx.Response]:
    """POST, and on 429/503 wait the ``Retry-After`` the API documents and again; every answer.

    argon2 is slow by design, and on a loaded 2-core machine auth can take
    longer than the gateway waits for it: a client is told to retry then.
    """
    answers = []
    deadline = time.monotonic() + 180
    while True:
        response = await client.post(path, json=body)
        answers.append(response)
        if response.status_code not in (429, 503) or time.monotonic() > deadline:
            return answers
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))


async def sign_up(client: httpx.AsyncClient, username: str) -> str:
    """Register and log in through the gateway; the access token."""
    body = {"username": username, "password": PASSWORD}
    *retried, registered = await post_like_a_client(client, "/v1/auth/register", body)
    # 409 only when an answer went missing: the attempt the gateway gave up on registered.
    done = {201, 409} if retried else {201}
    assert registered.status_code in done, registered.text
    *_, login = await post_like_a_client(client, "/v1/auth/login", body)
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


async def enqueue(client: httpx.AsyncClient, token: str, numbers: range) -> list[str]:
    """One user's requests, each sent after the previous was accepted: that is their order."""
    ids = []
    for n in numbers:
        # A few milliseconds each, so that "one at a time" shows in the timestamps.
        body = {"type": "sleep", "payload": {"ms": 3, "n": n}}
        response = await client.post(
            "/v1/requests", json=body, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 202, response.text
        ids.append(str(response.json()["id"]))
    return ids


async def prometheus_targets_up(port: int, expected: int) -> list[str] | None:
    """Every active target's health when all ``expected`` are up, else None."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"http://127.0.0.1:{port}/api/v1/targets")
    targets = response.json()["data"]["activeTargets"]
    health = [f"{t['labels']['job']} {t['health']}" for t in targets]
    if len(targets) == expected and all(t["health"] == "up" for t in targets):
        return health
    return None


# Images are built in setup when `make provision` has not (minutes, the first time).
@pytest.mark.timeout(1800)
async def test_the_stack_serves_users_survives_a_killed_processor_and_leaves_nothing(
    compose_project: RunningProject,
) -> None:
    compose = compose_project.compose
    log.info("image %s", compose_project.image.summary())

    started = time.monotonic()
    compose.run(["up", "-d", "--no-build", *LOCAL_SERVICES])
    await eventually(
        lambda: asyncio.to_thread(lambda: not not_yet_healthy(compose_project)),
        timeout=600,
        what="every container healthy (kafka-topics exited 0)",
        interval=1.0,
    )
    log.info("up to all healthy: %.1f s", time.monotonic() - started)
    processors = compose.container_ids("processor")
    assert len(processors) == PROCESSORS

    # gateway, auth, each processor, and Prometheus itself.
    targets = await eventually(
        lambda: prometheus_targets_up(compose_project.prometheus_port, expected=3 + PROCESSORS),
        timeout=120,
        what="Prometheus scraping every service",
        interval=1.0,
    )
    log.info("Prometheus targets: %s", targets)

    base_url = f"http://127.0.0.1:{compose_project.gateway_port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        signups = asyncio.Semaphore(2)  # argon2 is slow by design: a few at a time

        async def user(u: int) -> str:
            async with signups:
                return await sign_up(client, f"user{u}")

        tokens = await asyncio.gather(*(user(u) for u in range(USERS)))
        half = REQUESTS_PER_USER // 2
        first = await asyncio.gather(*(enqueue(client, t, range(half)) for t in tokens))

        # Kill a processor that owns partitions: what it held must finish on the other.
        victim, survivor = processors
        assert metric(victim, "lanes_processor_assigned_partitions") > 0
        await asyncio.to_thread(
            subprocess.run, ["podman", "kill", victim], env=compose.env, check=True
        )
        second = await asyncio.gather(
            *(enqueue(client, t, range(half, REQUESTS_PER_USER)) for t in tokens)
        )
        ids_by_user = [a + b for a, b in zip(first, second, strict=True)]

        async def drained(token: str) -> bool:
            headers = {"authorization": f"Bearer {token}"}
            summary = (await client.get("/v1/queue", headers=headers)).json()
            return bool(summary["counts"]["succeeded"] == REQUESTS_PER_USER)

        for token in tokens:
            await eventually(lambda t=token: drained(t), timeout=300, what="queue drained")

        for u, (token, ids) in enumerate(zip(tokens, ids_by_user, strict=True)):
            headers = {"authorization": f"Bearer {token}"}
            views = [(await client.get(f"/v1/requests/{i}", headers=headers)).json() for i in ids]
            assert [v["state"] for v in views] == ["succeeded"] * REQUESTS_PER_USER
            assert [v["payload"]["n"] for v in views] == list(range(REQUESTS_PER_USER))
            starts = [datetime.fromisoformat(v["started_at"]) for v in views]
            ends = [datetime.fromisoformat(v["finished_at"]) for v in views]
            for n in range(REQUESTS_PER_USER - 1):
                assert starts[n] < starts[n + 1], f"user{u} request {n + 1} started before {n}"
                assert ends[n] <= starts[n + 1], f"user{u} requests {n} and {n + 1} overlapped"

    # The killed replica stayed down: the survivor took every partition and did the rest.
    assert victim not in compose.container_ids("processor")
    assert metric(survivor, "lanes_processor_assigned_partitions") == PARTITIONS
    log.info("stack test up to checks done: %.1f s", time.monotonic() - started)

    compose.run(["down", "-v", "--remove-orphans", "--timeout", "30"])
    assert compose.leftovers() == []
