"""Proof 5: one slow user does not hold up the fast users sharing their partition (``key`` mode).

One partition carries everything: a slow user's requests (300 ms each) with
the fast users' requests (5 ms each) enqueued between them. In ``key``
ordering each user is a lane of its own, so the fast users finish while the
slow user is still early in their queue. In ``partition`` ordering the
partition is one lane: every fast request waits for each slow request
enqueued before it. Both are read off the recorded timestamps.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from lanes_common.messages import RequestMessage
from lanes_common.types import MongoDocument
from lanes_devstack.infra_modes import IntegrationInfra
from tests.processor.proof_checks import assert_one_at_a_time_in_offset_order
from tests.processor.proof_kafka import Produced, RequestProducer, request
from tests.processor.proof_status import StatusReader
from tests.processor.proof_support import ProofNames, processor_fleet

pytestmark = pytest.mark.integration

SLOW_USER = "slow-user"
SLOW_REQUESTS = 10
SLOW_MS = 300
FAST_USERS = 40
FAST_PER_USER = 2
FAST_MS = 5


def slow_user_among_fast_ones() -> list[RequestMessage]:
    """Each slow request followed by an equal share of the fast users' requests."""
    fast = [
        request(f"fast-{u:02d}", "sleep", {"ms": FAST_MS, "n": n})
        for n in range(FAST_PER_USER)
        for u in range(FAST_USERS)
    ]
    share = len(fast) // SLOW_REQUESTS
    sequence = []
    for k in range(SLOW_REQUESTS):
        sequence.append(request(SLOW_USER, "sleep", {"ms": SLOW_MS, "n": k}))
        sequence += fast[k * share : (k + 1) * share]
    return sequence


async def run_in_one_partition(
    infra: IntegrationInfra, unique_name: str, log_dir: Path, ordering: str
) -> tuple[list[Produced], dict[str, MongoDocument]]:
    """Run the workload on one replica with the given ordering; return what was recorded."""
    names = ProofNames.fresh(unique_name)
    env = {"LANES_PROCESSOR_ORDERING": ordering}
    with processor_fleet(infra, names, log_dir, partitions=1, env=env):
        async with RequestProducer(infra.kafka_bootstrap_servers, names.topic) as producer:
            produced = await producer.produce(slow_user_among_fast_ones())
        async with StatusReader(infra.mongo_uri, names.database) as reader:
            docs = await reader.wait_terminal([p.id for p in produced], within=120)
    assert {doc["state"] for doc in docs.values()} == {"succeeded"}
    # Whatever the ordering, each user's own queue runs one at a time, in order.
    expected_pairs = SLOW_REQUESTS - 1 + FAST_USERS * (FAST_PER_USER - 1)
    assert assert_one_at_a_time_in_offset_order(produced, docs) == expected_pairs
    return produced, docs


def split(produced: Sequence[Produced]) -> tuple[list[Produced], list[Produced]]:
    """The slow user's requests and the fast users', each in offset order."""
    slow = sorted((p for p in produced if p.user == SLOW_USER), key=lambda p: p.offset)
    fast = [p for p in produced if p.user != SLOW_USER]
    return slow, fast


async def test_key_ordering_lets_fast_users_finish_long_before_the_slow_one(
    infra: IntegrationInfra, unique_name: str, tmp_path: Path
) -> None:
    produced, docs = await run_in_one_partition(infra, unique_name, tmp_path / "logs", "key")
    slow, fast = split(produced)
    last_fast = max(docs[p.id]["finished_at"] for p in fast)
    halfway = docs[slow[SLOW_REQUESTS // 2 - 1].id]["finished_at"]
    # Every fast user was done before the slow user was halfway through their queue,
    # although half the fast requests were enqueued behind the slow user's second half.
    assert last_fast < halfway, (
        f"last fast request finished at {last_fast.isoformat()}, after the slow user's "
        f"request {SLOW_REQUESTS // 2} finished at {halfway.isoformat()}"
    )
    assert sum(p.offset > slow[SLOW_REQUESTS // 2].offset for p in fast) == len(fast) // 2


async def test_partition_ordering_makes_fast_users_wait_behind_the_slow_one(
    infra: IntegrationInfra, unique_name: str, tmp_path: Path
) -> None:
    produced, docs = await run_in_one_partition(infra, unique_name, tmp_path / "logs", "partition")
    slow, fast = split(produced)
    waited = 0
    for p in fast:
        ahead = [s for s in slow if s.offset < p.offset]
        for s in ahead:
            # Strict FIFO over the partition: it started only after each slow request before it.
            assert docs[p.id]["started_at"] >= docs[s.id]["finished_at"]
        waited += len(ahead) > 0
    assert waited == len(fast)
    last_fast = max(docs[p.id]["finished_at"] for p in fast)
    assert last_fast > docs[slow[-1].id]["finished_at"]
