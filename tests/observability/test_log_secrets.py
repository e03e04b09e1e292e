"""No password, token or payload body reaches any service's log, even at DEBUG.

The whole stack runs as real processes with ``LANES_LOG_LEVEL=DEBUG``; a user
signs up and logs in (once with a wrong password too), refreshes, and enqueues
secret-looking payloads that succeed, fail until dead-lettered, and come in
through the legacy route. Then every line of every service log is searched.
The same logs must still say what happened: JSON lines whose request id, user
id and trace id tie the gateway's line to the processor's.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from lanes_devstack.waiting import eventually

pytestmark = pytest.mark.integration


def log_lines(log_dir: Path) -> dict[str, list[str]]:
    """Every line of every service log, by file name."""
    return {path.name: path.read_text().splitlines() for path in sorted(log_dir.glob("*.log"))}


async def test_secrets_never_reach_the_logs(lanes_stack: Any, tmp_path: Path) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    wrong_password = f"pw-{uuid.uuid4().hex}"
    payload_secret = f"sk-live-{uuid.uuid4().hex}"
    legacy_secret = f"sk-legacy-{uuid.uuid4().hex}"
    stack = lanes_stack(
        processors=1,
        partitions=2,
        env={"LANES_LOG_LEVEL": "DEBUG", "LANES_PROCESSOR_MAX_ATTEMPTS": "2"},
    )
    assert stack.gateway is not None
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=30) as client:
        credentials = {"username": "carol", "password": password}
        assert (await client.post("/v1/auth/register", json=credentials)).status_code == 201
        refused = await client.post(
            "/v1/auth/login", json={"username": "carol", "password": wrong_password}
        )
        assert refused.status_code == 401
        tokens = (await client.post("/v1/auth/login", json=credentials)).json()
        legacy = (await client.post("/login", json=credentials)).json()
        refreshed = await client.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 200
        headers = {"authorization": f"Bearer {tokens['access_token']}"}

        ids = []
        for body in (
            {"type": "echo", "payload": {"api_key": payload_secret}},
            {"type": "fail", "payload": {"message": payload_secret, "api_key": payload_secret}},
        ):
            accepted = await client.post("/v1/requests", json=body, headers=headers)
            assert accepted.status_code == 202, accepted.text
            ids.append(accepted.json()["id"])
        legacy_enqueued = await client.post(
            "/enqueue", json={"request": legacy_secret}, headers=headers
        )
        assert legacy_enqueued.status_code == 200, legacy_enqueued.text
        ids.append(legacy_enqueued.json()["id"])

        async def all_terminal() -> bool:
            for request_id in ids:
                view = (await client.get(f"/v1/requests/{request_id}", headers=headers)).json()
                if view["state"] not in ("succeeded", "dead_lettered"):
                    return False
            return True

        await eventually(all_terminal, timeout=90, what="every request finished")
    # Stopped first, so everything the services wrote is in their files.
    stack.stop()

    secrets = {
        "password": password,
        "wrong password": wrong_password,
        "payload": payload_secret,
        "legacy payload": legacy_secret,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "refreshed access token": refreshed.json()["access_token"],
        "legacy token": legacy["token"],
    }
    logs = log_lines(stack.config.log_dir)
    assert {"auth.log", "gateway.log"} <= set(logs)
    assert sum(len(lines) for lines in logs.values()) > 50, "DEBUG logging produced lines"
    leaks = [
        f"{what} in {name}: {line[:200]}"
        for name, lines in logs.items()
        for line in lines
        for what, secret in secrets.items()
        if secret in line
    ]
    assert leaks == []

    # Still useful: the failing request's lines carry its ids, and one trace links services.
    failing_id = ids[1]
    events = [
        json.loads(line)
        for lines in logs.values()
        for line in lines
        if line.startswith("{") and failing_id in line
    ]
    retried = [e for e in events if e["msg"] == "attempt failed; retrying in place"]
    assert retried, "the processor logged the retry"
    assert retried[0]["user_id"] and retried[0]["trace_id"]
    gateway_events = [e for e in events if e["service"] == "gateway"]
    assert any(e.get("trace_id") == retried[0]["trace_id"] for e in gateway_events), (
        "the gateway's line for the request shares the processor's trace id"
    )
