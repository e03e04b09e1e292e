"""Proof 1: the broker leading the most partitions is ``kill -9``'d mid-run, then restarted.

100 users enqueue 20 requests each through the gateway, one after another,
into six partitions replicated three times (``min.insync.replicas=2``),
processed by two replicas. Once 30 % are accepted, the broker that leads
the most partitions is killed without warning; once 60 % are, it is started
again on its old data.

Half the users talk to a gateway with the default enqueue timeout (30 s),
longer than an election: their requests wait for the new leader and are
accepted, never refused. The other half talk to a second gateway whose
timeout (5 s) is shorter than the election: their clients are answered 503
with Retry-After while it lasts, and send the same Idempotency-Key again.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from lanes_common.messages import RequestMessage
from lanes_devstack.kafka_cluster import KafkaCluster
from lanes_devstack.kafka_topology import busiest_leader, partition_states, wait_for_leaders_among
from lanes_devstack.process import free_port
from lanes_devstack.services import start_service
from lanes_devstack.waiting import eventually
from tests.kafka_faults.gateway_clients import (
    TokenMinter,
    UserClient,
    gateway_http,
    sign_up,
    user_requests,
)
from tests.processor.proof_kafka import read_whole_topic
from tests.processor.proof_status import StatusReader
from tests.processor.proof_support import replica_metric

pytestmark = [pytest.mark.integration, pytest.mark.slow]

logger = logging.getLogger(__name__)

USERS = 100
PER_USER = 20
TOTAL = USERS * PER_USER
PARTITIONS = 6
KILL_AT = 0.3
RESTART_AT = 0.6
"""Fractions of all requests accepted when the broker is killed, and when it is restarted."""
SHORT_ENQUEUE_TIMEOUT = "5"
"""Seconds: shorter than an election (the controller waits 9 s to declare a broker dead)."""
ELECTION_DEADLINE = 60
RUN_DEADLINE = 300


@pytest.mark.timeout(2 * RUN_DEADLINE + 300)
async def test_killed_leader_loses_nothing_acknowledged(
    lanes_stack: Any, cluster: KafkaCluster, unique_name: str, tmp_path: Path
) -> None:
    minter = TokenMinter(tmp_path / "keys")
    stack = lanes_stack(processors=2, partitions=PARTITIONS)
    topic = stack.config.requests_topic
    bootstrap = cluster.bootstrap_servers
    port = free_port()
    hasty_gateway = await asyncio.to_thread(
        start_service,
        "gateway",
        port,
        {
            **stack.env(),
            "LANES_GATEWAY_HOST": "127.0.0.1",
            "LANES_GATEWAY_PORT": str(port),
            "LANES_ENQUEUE_TIMEOUT_SECONDS": SHORT_ENQUEUE_TIMEOUT,
        },
        stack.config.log_dir,
        "gateway-hasty",
    )
    try:
        async with (
            gateway_http(stack.gateway.url) as patient,
            gateway_http(hasty_gateway.url) as hasty,
        ):
            # One user signs up for real; the others' tokens are minted (argon2 is slow).
            tokens = await sign_up(patient, [unique_name])
            tokens += await minter.tokens(stack.auth.url, USERS - 1)
            clients = [
                UserClient(token, patient if u % 2 == 0 else hasty)
                for u, token in enumerate(tokens)
            ]

            async def run_user(user: int) -> None:
                for key, body in user_requests(user, PER_USER):
                    await clients[user].enqueue(key, body, give_up_after=RUN_DEADLINE)

            def accepted() -> int:
                return sum(len(c.accepted) for c in clients)

            async def reached(fraction: float) -> bool:
                if users.done():
                    users.result()  # a client failed: raise its error here
                return accepted() >= fraction * TOTAL

            users = asyncio.gather(*(run_user(u) for u in range(USERS)))
            await eventually(lambda: reached(KILL_AT), RUN_DEADLINE, "30 % accepted")
            victim = busiest_leader(bootstrap, topic)
            led = [s.partition for s in partition_states(bootstrap, topic) if s.leader == victim]
            accepted_at_kill = accepted()
            killed_at = time.monotonic()
            await asyncio.to_thread(cluster.kill, victim)
            survivors = set(cluster.running())
            await asyncio.to_thread(
                wait_for_leaders_among, bootstrap, topic, survivors, ELECTION_DEADLINE
            )
            elected_at = time.monotonic()
            await eventually(lambda: reached(RESTART_AT), RUN_DEADLINE, "60 % accepted")
            await asyncio.to_thread(cluster.restart, victim)
            await asyncio.wait_for(users, RUN_DEADLINE)
    finally:
        await asyncio.to_thread(hasty_gateway.stop)

    async with StatusReader(stack.mongo_uri, stack.config.database) as reader:
        ids = [i for c in clients for i in c.accepted]
        docs = await reader.wait_terminal(ids, within=RUN_DEADLINE)
    succeeded = sum(
        [
            await replica_metric(p, "lanes_processor_finished_total", {"state": "succeeded"})
            for p in stack.processors
        ]
    )
    logger.info(
        "broker %d (leading partitions %s) killed at %d accepted; leaders again after %.1f s",
        victim,
        led,
        accepted_at_kill,
        elected_at - killed_at,
    )

    # The kill hit a run in progress, and the partitions it led moved.
    assert led and 0 < accepted_at_kill < TOTAL
    # Every enqueue was accepted once, under its own key: one request per key.
    assert all(len(set(c.accepted)) == PER_USER for c in clients)
    assert len(set(ids)) == TOTAL
    # The patient gateway waited out the election: never a 503, so never a lost 202.
    patient_clients, hasty_clients = clients[0::2], clients[1::2]
    assert [a for c in patient_clients for a in c.refusals] == []
    # The hasty one refused only once the broker was gone; each retry of a key found one request.
    refused = [a for c in hasty_clients for a in c.refusals]
    assert refused, "the short enqueue timeout never ran out: the proof did not test a 503"
    assert all(a.answered_at >= killed_at for a in refused), refused[:3]
    # Every accepted request ran to success, and nothing else is in the status view.
    assert set(docs) == set(ids)
    assert {doc["state"] for doc in docs.values()} == {"succeeded"}
    # Kafka holds every accepted request (a refused attempt may be there too, with the same id).
    in_kafka = {RequestMessage.decode(r.value()).id for r in read_whole_topic(bootstrap, topic)}
    assert set(ids) <= in_kafka
    # Nothing ran to success twice: one applied success per request across both replicas.
    assert succeeded == TOTAL
    # Per user: one at a time, in the order the gateway accepted them.
    for client in clients:
        for earlier, later in itertools.pairwise(client.accepted):
            finished: datetime = docs[earlier]["finished_at"]
            started: datetime = docs[later]["started_at"]
            assert finished <= started, f"{later} started before {earlier} finished"
