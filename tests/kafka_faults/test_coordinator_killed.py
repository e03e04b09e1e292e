"""Proof 3: the broker coordinating the processor group is ``kill -9``'d mid-run.

Two replicas process 600 requests from 60 users in six partitions. While
they do, the group's coordinator (as the cluster's metadata names it) is
killed; it may also lead partitions, which then move too. Right after the
kill, one more request goes to every partition. Within `RESUME_BOUND`
seconds of the kill each of those is processed, and every partition's
committed offset has moved past where it stood at the kill, through the new
coordinator: processing and commits resume. Every request
succeeds exactly once, each user's in Kafka order, and the group ends
committed at the end of every partition.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from pathlib import Path

import pytest

from lanes_devstack.kafka_cluster import KafkaCluster
from lanes_devstack.kafka_topology import group_coordinator
from lanes_devstack.waiting import eventually
from tests.kafka_faults.conftest import ClusterInfra
from tests.processor.proof_checks import assert_one_at_a_time_in_offset_order
from tests.processor.proof_kafka import (
    RequestProducer,
    committed_offsets,
    interleaved_sleeps,
    request,
)
from tests.processor.proof_status import StatusReader, StatusWatcher
from tests.processor.proof_support import ProofNames, processor_fleet, replica_metric

pytestmark = [pytest.mark.integration, pytest.mark.slow]

logger = logging.getLogger(__name__)

USERS = 60
REQUESTS = 600
PARTITIONS = 6
PROBE_USERS = 60
"""One request each, sent after the kill: enough users to reach every partition."""
RESUME_BOUND = 60.0
"""Seconds from the kill until a request sent to each partition after it is processed, and
each partition's committed offset has moved on: the controller declares the broker dead
after 9 s, elects leaders and moves the group; each partition's commit then waits for the
work queued before the probe."""
RUN_DEADLINE = 300


@pytest.mark.timeout(2 * RUN_DEADLINE + 120)
async def test_killed_coordinator_moves_and_commits_resume(
    cluster: KafkaCluster, cluster_infra: ClusterInfra, unique_name: str, tmp_path: Path
) -> None:
    rng = random.Random(unique_name)
    names = ProofNames.fresh(unique_name)
    bootstrap = cluster.bootstrap_servers
    with processor_fleet(
        cluster_infra, names, tmp_path / "logs", replicas=2, partitions=PARTITIONS
    ) as fleet:
        async with (
            StatusReader(cluster_infra.mongo_uri, names.database) as reader,
            RequestProducer(bootstrap, names.topic) as producer,
        ):
            messages = interleaved_sleeps(rng, USERS, REQUESTS, max_ms=10)
            first_wave = REQUESTS // 5
            produced = await producer.produce(messages[:first_wave])
            async with StatusWatcher(reader, [m.id for m in messages]) as watcher:
                await watcher.wait_done(REQUESTS // 10, within=RUN_DEADLINE)

                async def coordinator() -> int | None:
                    return await asyncio.to_thread(group_coordinator, bootstrap, names.group_id)

                victim = await eventually(coordinator, 60, "the group's coordinator")
                before = committed_offsets(bootstrap, names.group_id)
                at_kill = {
                    (names.topic, p): before.get((names.topic, p), -1) for p in range(PARTITIONS)
                }
                # The rest of the run is produced just before the kill, so the kill lands
                # mid-run however fast the first wave went (one user's order is kept: the
                # list is in queue order and this wave follows the first).
                produced += await producer.produce(messages[first_wave:])
                done_at_kill = watcher.done
                killed_at = time.monotonic()
                await asyncio.to_thread(cluster.kill, victim)
                probes = await producer.produce(
                    [
                        request(f"probe-{unique_name}-{n}", "echo", {"n": n})
                        for n in range(PROBE_USERS)
                    ]
                )
                await reader.wait_terminal([p.id for p in probes], within=RESUME_BOUND)
                processed_in = time.monotonic() - killed_at

                async def every_partition_committed_again() -> bool:
                    now = await asyncio.to_thread(committed_offsets, bootstrap, names.group_id)
                    return all(now.get(tp, -1) > offset for tp, offset in at_kill.items())

                await eventually(
                    every_partition_committed_again,
                    RESUME_BOUND - processed_in,
                    "every partition's committed offset moved past its value at the kill",
                )
                committed_in = time.monotonic() - killed_at
                new_coordinator = await eventually(coordinator, 60, "a new coordinator")
                await asyncio.to_thread(cluster.restart, victim)
                await watcher.wait_all_done(within=RUN_DEADLINE)
            every = [*produced, *probes]
            docs = await reader.wait_terminal([p.id for p in every], within=RUN_DEADLINE)
            last = {(names.topic, p.partition): p.offset + 1 for p in every}

            async def all_committed() -> bool:
                now = await asyncio.to_thread(committed_offsets, bootstrap, names.group_id)
                return all(now.get(tp, -1) >= offset for tp, offset in last.items())

            await eventually(all_committed, 60, "every partition committed to its end")
            succeeded = sum(
                [
                    await replica_metric(
                        r, "lanes_processor_finished_total", {"state": "succeeded"}
                    )
                    for r in fleet.replicas
                ]
            )
    logger.info(
        "coordinator %d killed at %d of %d done; every partition processed after %.1f s "
        "and committed after %.1f s; new coordinator %d",
        victim,
        done_at_kill,
        REQUESTS,
        processed_in,
        committed_in,
        new_coordinator,
    )

    assert done_at_kill < REQUESTS
    assert {p.partition for p in probes} == set(range(PARTITIONS))
    assert new_coordinator != victim
    assert {doc["state"] for doc in docs.values()} == {"succeeded"}
    assert set(docs) >= {p.id for p in every}
    # Nothing ran to success twice, and each user's requests ran one at a time, in order.
    assert succeeded == REQUESTS + PROBE_USERS
    assert assert_one_at_a_time_in_offset_order(produced, docs) == REQUESTS - USERS
    assert watcher.history.regressions == []
