"""Cancellation end to end: a real processor skips a cancelled request; a running one is 409.

The user's queue is: a slow ``sleep``, then the request to cancel, then an
``echo``. The cancellation happens before any processor runs; then one
starts, and the slow request holds the lane while it is tried (409). When the
``echo`` behind it has succeeded, the processor has passed the cancelled
request: it must still be cancelled, and its handler must never have run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from lanes_devstack.process import free_port
from lanes_devstack.waiting import eventually

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
SLOW_MS = 3_000


async def _state(client: httpx.AsyncClient, headers: dict[str, str], request_id: str) -> Any:
    answer = await client.get(f"/v1/requests/{request_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_the_processor_skips_a_cancelled_request_and_a_running_one_is_409(
    lanes_stack: Any,
) -> None:
    stack = lanes_stack(processors=0, partitions=3)
    assert stack.gateway is not None
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=30) as client:
        credentials = {"username": "canceller", "password": PASSWORD}
        assert (await client.post("/v1/auth/register", json=credentials)).status_code == 201
        login = await client.post("/v1/auth/login", json=credentials)
        headers = {"authorization": f"Bearer {login.json()['access_token']}"}
        ids = []
        for body in (
            {"type": "sleep", "payload": {"ms": SLOW_MS}},
            {"type": "echo", "payload": "never run"},
            {"type": "echo", "payload": "after"},
        ):
            answer = await client.post("/v1/requests", json=body, headers=headers)
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["id"])
        slow, doomed, after = ids

        cancelled = await client.delete(f"/v1/requests/{doomed}", headers=headers)
        assert cancelled.status_code == 200, cancelled.text
        stack.start_processor(free_port())

        async def running() -> bool:
            return (await _state(client, headers, slow))["state"] == "processing"

        await eventually(running, timeout=60, what="the slow request started")
        refused = await client.delete(f"/v1/requests/{slow}", headers=headers)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "not_cancellable"

        async def passed() -> bool:
            return (await _state(client, headers, after))["state"] == "succeeded"

        await eventually(passed, timeout=60, what="the request behind the cancelled one ran")
        skipped = await _state(client, headers, doomed)
        assert skipped == cancelled.json(), "the cancelled request changed after it was skipped"
        assert skipped["state"] == "cancelled"
        assert (skipped["started_at"], skipped["attempts"], skipped["result"]) == (None, 0, None)
        first, last = await _state(client, headers, slow), await _state(client, headers, after)
        assert first["state"] == "succeeded" and first["result"] == {"slept_ms": SLOW_MS}
        assert last["result"] == {"echo": "after"}
        started = datetime.fromisoformat(last["started_at"])
        assert started >= datetime.fromisoformat(first["finished_at"])
