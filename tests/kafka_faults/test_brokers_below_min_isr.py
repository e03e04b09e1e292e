"""Proof 2: two of three brokers down (below ``min.insync.replicas``): 503, nothing lost, back.

Ten users each get five requests accepted. Two brokers are then killed:
the survivor alone cannot hold a record twice, so every enqueue is answered
503 with Retry-After (after the gateway's enqueue timeout), and nothing is
answered 202. One broker comes back; each user's client, retrying its
refused key as Retry-After says, is accepted once the cluster can
acknowledge again, and each key stands for exactly one request. Every
request accepted before, during and after the outage runs to success.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from lanes_devstack.kafka_cluster import KafkaCluster
from lanes_devstack.kafka_topology import busiest_leader
from tests.kafka_faults.gateway_clients import (
    TokenMinter,
    UserClient,
    gateway_http,
    sign_up,
    user_requests,
)
from tests.processor.proof_status import StatusReader
from tests.processor.proof_support import replica_metric

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USERS = 10
BEFORE = 5
PARTITIONS = 3
ENQUEUE_TIMEOUT = "3"
"""Seconds the gateway waits for acks=all before answering 503: short, to keep the proof lean."""
RESUME_DEADLINE = 120
"""Seconds for a returning broker to restore the quorum, fence the dead one and accept writes."""


@pytest.mark.timeout(600)
async def test_below_min_insync_replicas_refuses_then_resumes(
    lanes_stack: Any, cluster: KafkaCluster, unique_name: str, tmp_path: Path
) -> None:
    minter = TokenMinter(tmp_path / "keys")
    stack = lanes_stack(
        processors=1, partitions=PARTITIONS, env={"LANES_ENQUEUE_TIMEOUT_SECONDS": ENQUEUE_TIMEOUT}
    )
    async with gateway_http(stack.gateway.url) as http:
        # One user signs up for real; the others' tokens are minted (argon2 is slow).
        tokens = await sign_up(http, [unique_name])
        tokens += await minter.tokens(stack.auth.url, USERS - 1)
        clients = [UserClient(token, http) for token in tokens]
        plans = [user_requests(u, BEFORE + 1) for u in range(USERS)]

        # All brokers up: accepted at once.
        for client, plan in zip(clients, plans, strict=True):
            for key, body in plan[:BEFORE]:
                await client.enqueue(key, body, give_up_after=0)

        # Two brokers down: the busiest leader and one more; one survivor.
        first = busiest_leader(cluster.bootstrap_servers, stack.config.requests_topic)
        second = next(n for n in cluster.running() if n != first)
        await asyncio.to_thread(cluster.kill, first)
        await asyncio.to_thread(cluster.kill, second)
        down_at = time.monotonic()
        headers = [
            {"authorization": f"Bearer {t}", "idempotency-key": p[BEFORE][0]}
            for t, p in zip(tokens, plans, strict=True)
        ]
        outage = await asyncio.gather(
            *(
                http.post("/v1/requests", json=p[BEFORE][1], headers=h)
                for p, h in zip(plans, headers, strict=True)
            )
        )
        assert [r.status_code for r in outage] == [503] * USERS, [r.text for r in outage]
        assert all(r.headers.get("retry-after", "").isdigit() for r in outage)
        assert all(r.json()["code"] == "unavailable" for r in outage)

        # One broker back: the quorum returns, and the refused keys are accepted, once each.
        restarted_at = time.monotonic()
        await asyncio.to_thread(cluster.restart, second)
        retried = await asyncio.gather(
            *(
                client.enqueue(plan[BEFORE][0], plan[BEFORE][1], give_up_after=RESUME_DEADLINE)
                for client, plan in zip(clients, plans, strict=True)
            )
        )
        resumed_at = time.monotonic()

    async with StatusReader(stack.mongo_uri, stack.config.database) as reader:
        ids = [i for c in clients for i in c.accepted]
        docs = await reader.wait_terminal(ids, within=RESUME_DEADLINE)
        everything = await reader.all()
    succeeded = await replica_metric(
        stack.processors[0], "lanes_processor_finished_total", {"state": "succeeded"}
    )

    assert restarted_at - down_at >= float(ENQUEUE_TIMEOUT)  # the refusals waited for Kafka
    assert resumed_at > restarted_at
    assert len(set(retried)) == USERS
    # Each user: five accepted before, one during-then-after; one request per key.
    assert all(len(c.accepted) == len(set(c.accepted)) == BEFORE + 1 for c in clients)
    # Nothing accepted was lost, and no refused attempt became a request of its own.
    assert set(everything) == set(ids)
    assert {doc["state"] for doc in docs.values()} == {"succeeded"}
    assert succeeded == USERS * (BEFORE + 1)
