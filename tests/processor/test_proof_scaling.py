"""Proof 4: scale from 1 to 3 replicas and back to 1 during a run; nothing lost, order kept.

Scaling up moves partitions away from a replica that is busy with them;
scaling down (SIGTERM) has a replica drain its in-flight work, commit and
leave, and its partitions move to the survivor. Each move must hand over
exactly where the last owner stopped.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from lanes_devstack.infra_modes import IntegrationInfra
from lanes_devstack.services import RunningService
from lanes_devstack.waiting import eventually
from tests.processor.proof_checks import assert_each_succeeded_once_in_order
from tests.processor.proof_kafka import interleaved_sleeps, read_whole_topic
from tests.processor.proof_status import StatusWatcher
from tests.processor.proof_support import proof_run, replica_metric

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USERS = 100
REQUESTS = 1_200
PARTITIONS = 6
FIRST_WAVE = 0.4
"""The share produced before scaling up; the rest is produced once the added replicas own
partitions, so they have work however slowly they start on a loaded machine."""
SCALE_UP_WHEN_DONE = 0.2
SCALE_DOWN_WHEN_DONE = 0.55
RUN_DEADLINE = 600
"""Seconds for the whole run on a busy machine; a lost request shows sooner, as no progress."""
IN_FLIGHT = 4
MAX_SLEEP_MS = 200
"""Each replica runs at most 4 requests of up to 200 ms at once: one replica needs ~30 s for
the run, so the added replicas (which take seconds to start) join while most of it remains."""


async def all_own_partitions(replicas: list[RunningService]) -> bool:
    """True when every replica owns at least one partition."""
    owned = [await replica_metric(r, "lanes_processor_assigned_partitions") for r in replicas]
    return all(count > 0 for count in owned)


@pytest.mark.timeout(RUN_DEADLINE + 120)
async def test_scaling_up_and_down_mid_run_loses_nothing_and_keeps_order(
    infra: IntegrationInfra, unique_name: str, tmp_path: Path
) -> None:
    rng = random.Random(unique_name)
    env = {"LANES_PROCESSOR_MAX_IN_FLIGHT": str(IN_FLIGHT)}
    async with proof_run(
        infra, unique_name, tmp_path / "logs", partitions=PARTITIONS, env=env
    ) as run:
        names, fleet, producer, reader = run
        [first] = fleet.replicas
        messages = interleaved_sleeps(rng, USERS, REQUESTS, MAX_SLEEP_MS)
        first_wave = int(FIRST_WAVE * REQUESTS)
        async with StatusWatcher(reader, [m.id for m in messages]) as watcher:
            # One user's requests keep their order across the waves: the list is in
            # each user's queue order, and the second wave is produced after the first.
            produced = await producer.produce(messages[:first_wave])
            await watcher.wait_done(int(SCALE_UP_WHEN_DONE * REQUESTS), within=RUN_DEADLINE)
            added = await asyncio.gather(fleet.add_in_background(), fleet.add_in_background())
            await eventually(
                lambda: all_own_partitions(fleet.replicas), 60, "3 replicas sharing", 0.5
            )
            produced += await producer.produce(messages[first_wave:])

            # The added replicas must take part in the run, not merely own partitions.
            async def added_did_work() -> bool:
                counts = [await replica_metric(r, "lanes_processor_finished_total") for r in added]
                return all(count > 0 for count in counts)

            await eventually(added_did_work, 120, "added replicas finishing requests", 0.5)
            await watcher.wait_done(int(SCALE_DOWN_WHEN_DONE * REQUESTS), within=RUN_DEADLINE)
            finished_by_added = [
                await replica_metric(r, "lanes_processor_finished_total") for r in added
            ]
            done_at_scale_down = watcher.done
            leaving = [first, added[0]]
            exit_codes = await asyncio.gather(*(fleet.stop_in_background(r) for r in leaving))
            [survivor] = fleet.replicas

            async def survivor_owns_all() -> bool:
                owned = await replica_metric(survivor, "lanes_processor_assigned_partitions")
                return owned == PARTITIONS

            await eventually(survivor_owns_all, 60, "survivor owns every partition", 0.5)
            docs = await watcher.wait_all_done(within=RUN_DEADLINE)

    # The replicas added mid-run took partitions and did work; the scale-down hit a
    # run in progress and each leaving replica drained and exited cleanly (no SIGKILL).
    assert all(count > 0 for count in finished_by_added), finished_by_added
    assert done_at_scale_down < REQUESTS
    assert exit_codes == [0, 0]
    # Nothing lost, each user's queue in order, no state backwards.
    assert len(produced) == REQUESTS
    assert_each_succeeded_once_in_order(produced, docs, USERS, watcher.history)
    assert read_whole_topic(infra.kafka_bootstrap_servers, names.dead_letter_topic) == []
    assert len(watcher.history.seen_in_progress) > 0
