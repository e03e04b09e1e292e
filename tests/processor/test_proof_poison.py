"""Proof 3: a poison request is retried in place a bounded number of times, then dead-lettered.

One replica, one partition: every user shares it, so a retry that held up the
partition would show in everyone's timestamps. Retries use 3 attempts and a
0.3 s backoff base. Also here: failures retrying cannot fix (permanent errors,
unknown types) are not retried, and a request cancelled while queued is
skipped without running.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from confluent_kafka import Message

from lanes_common.messages import RequestMessage, utc_now
from lanes_devstack.infra_modes import IntegrationInfra
from tests.processor.proof_checks import assert_one_at_a_time_in_offset_order
from tests.processor.proof_kafka import RequestProducer, headers_of, read_whole_topic, request
from tests.processor.proof_status import StatusReader
from tests.processor.proof_support import (
    ProcessorFleet,
    ProofNames,
    processor_fleet,
    replica_metric,
)

pytestmark = pytest.mark.integration

MAX_ATTEMPTS = 3
OTHER_USERS = 30
LATER_REQUESTS = 5


@pytest.fixture(scope="module")
def fleet(
    infra: IntegrationInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProcessorFleet]:
    """One replica on a one-partition topic, with quick, bounded retries."""
    env = {
        "LANES_PROCESSOR_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "LANES_PROCESSOR_RETRY_BASE_SECONDS": "0.3",
    }
    with processor_fleet(
        infra, ProofNames.fresh(), tmp_path_factory.mktemp("poison"), partitions=1, env=env
    ) as started:
        yield started


def dead_letters_for(fleet: ProcessorFleet, request_id: str) -> list[Message]:
    """The dead-letter records of one request (the origin's headers travel with it)."""
    records = read_whole_topic(fleet.infra.kafka_bootstrap_servers, fleet.names.dead_letter_topic)
    return [r for r in records if headers_of(r).get("lanes-request-id") == request_id]


async def test_a_poison_request_is_tried_max_attempts_then_dead_lettered_alone(
    fleet: ProcessorFleet,
) -> None:
    poison = request("poison-user", "fail", {"message": "always broken"})
    later = [request("poison-user", "echo", {"n": n}) for n in range(LATER_REQUESTS)]
    # One request per other user: each needs two status writes, while the poison
    # needs three attempts' writes and two backoffs, so "finished before the
    # poison was dead-lettered" is what key-level concurrency gives, no luck needed.
    others = [request(f"other-{n:02d}", "echo", {"n": 0}) for n in range(OTHER_USERS)]
    per_slot = OTHER_USERS // LATER_REQUESTS
    behind_poison: list[RequestMessage] = []
    for n, mine in enumerate(later):
        behind_poison += [*others[n * per_slot : (n + 1) * per_slot], mine]

    async with RequestProducer(fleet.infra.kafka_bootstrap_servers, fleet.names.topic) as producer:
        produced = await producer.produce([poison, *behind_poison])
    async with StatusReader(fleet.infra.mongo_uri, fleet.names.database) as reader:
        docs = await reader.wait_terminal([p.id for p in produced], within=120)

    dead = docs[poison.id]
    assert dead["state"] == "dead_lettered"
    assert dead["attempts"] == MAX_ATTEMPTS
    assert dead["error"] == {"code": "handler_error", "message": "always broken"}

    [letter] = dead_letters_for(fleet, poison.id)
    headers = headers_of(letter)
    assert headers["lanes-error"] == "always broken"
    assert headers["lanes-error-code"] == "handler_error"
    assert headers["lanes-attempts"] == str(MAX_ATTEMPTS)
    assert headers["lanes-origin-topic"] == fleet.names.topic
    assert (headers["lanes-origin-partition"], headers["lanes-origin-offset"]) == (
        str(produced[0].partition),
        str(produced[0].offset),
    )
    assert letter.key() == b"poison-user"
    assert RequestMessage.decode(letter.value()) == poison

    # The poison's user: the queue moved on after it, in order.
    assert [docs[m.id]["state"] for m in later] == ["succeeded"] * LATER_REQUESTS
    mine = [p for p in produced if p.user == "poison-user"]
    assert assert_one_at_a_time_in_offset_order(mine, docs) == LATER_REQUESTS
    # Everyone else: behind the poison in the partition, yet done before it was.
    poison_offset = produced[0].offset
    for p in produced:
        if p.user != "poison-user":
            assert p.offset > poison_offset
            assert docs[p.id]["state"] == "succeeded"
            assert docs[p.id]["finished_at"] < dead["finished_at"], (
                f"{p.user} finished at {docs[p.id]['finished_at'].isoformat()}, after the "
                f"poison was dead-lettered at {dead['finished_at'].isoformat()}"
            )


async def test_permanent_errors_and_unknown_types_are_not_retried(fleet: ProcessorFleet) -> None:
    permanent = request("strict-user", "fail", {"permanent": True, "message": "bad payload"})
    unknown = request("curious-user", "no-such-type", {"x": 1})
    followers = [request("strict-user", "echo", {"n": 1}), request("curious-user", "echo", {})]

    async with RequestProducer(fleet.infra.kafka_bootstrap_servers, fleet.names.topic) as producer:
        produced = await producer.produce([permanent, unknown, *followers])
    async with StatusReader(fleet.infra.mongo_uri, fleet.names.database) as reader:
        docs = await reader.wait_terminal([p.id for p in produced], within=120)

    failed = docs[permanent.id]
    assert (failed["state"], failed["attempts"]) == ("failed", 1)
    assert failed["error"] == {"code": "permanent_error", "message": "bad payload"}
    assert dead_letters_for(fleet, permanent.id) == []

    dead = docs[unknown.id]
    assert (dead["state"], dead["attempts"]) == ("dead_lettered", 1)
    assert dead["error"]["code"] == "unknown_type"
    [letter] = dead_letters_for(fleet, unknown.id)
    assert headers_of(letter)["lanes-error-code"] == "unknown_type"
    assert headers_of(letter)["lanes-attempts"] == "1"

    assert [docs[m.id]["state"] for m in followers] == ["succeeded", "succeeded"]
    assert assert_one_at_a_time_in_offset_order(produced, docs) == 2


async def test_a_record_that_is_not_a_request_is_dead_lettered_and_the_queue_moves_on(
    fleet: ProcessorFleet,
) -> None:
    garbage = b"{not a lanes request"
    after = request("sloppy-user", "echo", {"n": 1})
    async with RequestProducer(fleet.infra.kafka_bootstrap_servers, fleet.names.topic) as producer:
        await producer.produce_raw(garbage, b"sloppy-user")
        await producer.produce([after])
    async with StatusReader(fleet.infra.mongo_uri, fleet.names.database) as reader:
        docs = await reader.wait_terminal([after.id], within=120)

    assert docs[after.id]["state"] == "succeeded"
    records = read_whole_topic(fleet.infra.kafka_bootstrap_servers, fleet.names.dead_letter_topic)
    [letter] = [r for r in records if r.value() == garbage]
    assert letter.key() == b"sloppy-user"
    assert headers_of(letter)["lanes-error-code"] == "undecodable"
    assert headers_of(letter)["lanes-attempts"] == "0"


async def test_a_request_cancelled_while_queued_is_skipped(fleet: ProcessorFleet) -> None:
    sleep_ms = 20_000
    cancelled = request("fickle-user", "sleep", {"ms": sleep_ms})
    after = request("fickle-user", "echo", {"n": 1})
    async with StatusReader(fleet.infra.mongo_uri, fleet.names.database) as reader:
        # What the gateway's DELETE leaves behind, before the processor reaches the record.
        now = utc_now()
        await reader.insert(
            {
                "_id": cancelled.id,
                "user_id": cancelled.user_id,
                "type": cancelled.type,
                "state": "cancelled",
                "state_rank": 2,
                "attempts": 0,
                "enqueued_at": cancelled.enqueued_at,
                "started_at": None,
                "finished_at": now,
                "updated_at": now,
            }
        )
        async with RequestProducer(
            fleet.infra.kafka_bootstrap_servers, fleet.names.topic
        ) as producer:
            await producer.produce([cancelled, after])
        docs = await reader.wait_terminal([after.id], within=120)
        skipped = await reader.one(cancelled.id)

    assert skipped is not None
    assert (skipped["state"], skipped["attempts"], skipped["started_at"]) == ("cancelled", 0, None)
    assert docs[after.id]["state"] == "succeeded"
    # The next request did not wait out the cancelled one's 20 s sleep...
    assert docs[after.id]["finished_at"] - cancelled.enqueued_at < timedelta(milliseconds=sleep_ms)
    # ...because the sleep handler never ran at all (the only sleep this replica saw).
    [replica] = fleet.replicas
    assert await replica_metric(replica, "lanes_processor_skipped_total", {"type": "sleep"}) == 1
    runs = await replica_metric(replica, "lanes_processor_processing_seconds_count")
    sleeps = await replica_metric(
        replica, "lanes_processor_processing_seconds_count", {"type": "sleep"}
    )
    assert runs > 0
    assert sleeps == 0


async def test_requests_waiting_to_retry_do_not_hold_back_other_users(
    infra: IntegrationInfra, unique_name: str, tmp_path: Path
) -> None:
    """Retrying in place must cost only the failing user's queue, even at the in-flight bound.

    Two poison requests and an in-flight bound of two: once both have failed
    their first attempt they are only waiting out a backoff, and the healthy
    user's request should take a free slot then. It needs two status writes;
    each poison still needs two more attempts, a dead letter and a final write.
    """
    names = ProofNames.fresh(unique_name)
    env = {
        "LANES_PROCESSOR_MAX_IN_FLIGHT": "2",
        "LANES_PROCESSOR_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "LANES_PROCESSOR_RETRY_BASE_SECONDS": "2.0",
    }
    with processor_fleet(infra, names, tmp_path / "logs", partitions=1, env=env):
        poisons = [request(f"poison-{n}", "fail", {"message": "always broken"}) for n in range(2)]
        healthy = request("healthy-user", "echo", {"n": 0})
        async with RequestProducer(infra.kafka_bootstrap_servers, names.topic) as producer:
            produced = await producer.produce([*poisons, healthy])
        async with StatusReader(infra.mongo_uri, names.database) as reader:
            docs = await reader.wait_terminal([p.id for p in produced], within=120)

    assert [docs[p.id]["state"] for p in poisons] == ["dead_lettered"] * 2
    assert docs[healthy.id]["state"] == "succeeded"
    first_dead_letter = min(docs[p.id]["finished_at"] for p in poisons)
    assert docs[healthy.id]["finished_at"] < first_dead_letter, (
        f"the healthy user's request finished at {docs[healthy.id]['finished_at'].isoformat()}, "
        f"only after a poison request was dead-lettered at {first_dead_letter.isoformat()}"
    )
