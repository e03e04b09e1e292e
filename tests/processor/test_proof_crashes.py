"""Proof 1: replicas are SIGKILLed mid-run and restarted; nothing is lost, reordered or rewound.

Three replicas share six partitions. 3,000 requests from 120 users go to
Kafka in four waves: the first up front, then one just before each of three
kills. Each time half of what was produced so far is done, the next wave is
produced and a replica that owns partitions and holds unfinished work is
killed without warning; a fresh one is started in its place. Its partitions
move to the other members once the group notices (session timeout), and the
work it had not committed is redelivered to them. (Producing before each kill
keeps work in hand however fast the store runs: with everything up front the
replicas could finish the run between two looks for a victim.)
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lanes_devstack.infra_modes import IntegrationInfra
from lanes_devstack.services import RunningService
from lanes_devstack.waiting import eventually
from tests.processor.proof_checks import assert_each_succeeded_once_in_order
from tests.processor.proof_kafka import interleaved_sleeps, read_whole_topic
from tests.processor.proof_status import StatusWatcher
from tests.processor.proof_support import ProcessorFleet, proof_run, replica_metric

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USERS = 120
REQUESTS = 3_000
REPLICAS = 3
PARTITIONS = 6
KILLS = 3
KILL_WHEN_DONE = 0.5
"""Each kill comes once this fraction of what was produced so far is done."""
RUN_DEADLINE = 900
"""Seconds for the whole run, generous for a busy machine; a lost request shows sooner,
as no progress at all (`StatusWatcher.wait_done`)."""


async def busy_replica(fleet: ProcessorFleet, rng: random.Random) -> RunningService:
    """A replica that owns partitions and holds work it has not finished: a worthwhile victim."""

    async def busy() -> list[RunningService]:
        found = []
        for replica in fleet.replicas:
            owned = await replica_metric(replica, "lanes_processor_assigned_partitions")
            buffered = await replica_metric(replica, "lanes_processor_buffered")
            if owned > 0 and buffered > 0:
                found.append(replica)
        return found

    candidates = await eventually(busy, 60, "a replica with unfinished work", interval=0.2)
    return rng.choice(candidates)


@pytest.mark.timeout(RUN_DEADLINE + 120)
async def test_sigkilled_replicas_lose_nothing_and_keep_each_users_order(
    infra: IntegrationInfra, unique_name: str, tmp_path: Path
) -> None:
    rng = random.Random(unique_name)
    async with proof_run(
        infra, unique_name, tmp_path / "logs", replicas=REPLICAS, partitions=PARTITIONS
    ) as run:
        names, fleet, producer, reader = run
        messages = interleaved_sleeps(rng, USERS, REQUESTS)
        # Each user's requests keep their order across the waves: the list is in each
        # user's queue order, and a wave is produced only after the one before it.
        waves = [
            messages[n * REQUESTS // (KILLS + 1) : (n + 1) * REQUESTS // (KILLS + 1)]
            for n in range(KILLS + 1)
        ]
        killed = []
        async with StatusWatcher(reader, [m.id for m in messages]) as watcher:
            produced = await producer.produce(waves[0])
            for wave in waves[1:]:
                await watcher.wait_done(int(KILL_WHEN_DONE * len(produced)), within=RUN_DEADLINE)
                produced += await producer.produce(wave)
                victim = await busy_replica(fleet, rng)
                fleet.kill(victim)
                killed.append((victim.name, watcher.done))
                await fleet.add_in_background()
            docs = await watcher.wait_all_done(within=RUN_DEADLINE)

    # The kills hit a run in progress, each time a replica with work in hand.
    assert len(killed) == KILLS
    assert all(done < REQUESTS for _, done in killed), killed
    # Every request Kafka acknowledged succeeded, once; per user one at a time, in
    # enqueue (offset) order, across every takeover; no read saw a state go backwards.
    assert len(produced) == REQUESTS
    assert_each_succeeded_once_in_order(produced, docs, USERS, watcher.history)
    assert read_whole_topic(infra.kafka_bootstrap_servers, names.dead_letter_topic) == []
    assert watcher.history.reads >= 10
    assert len(watcher.history.seen_in_progress) > 0
