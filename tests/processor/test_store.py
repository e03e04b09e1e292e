"""Status writes on a real MongoDB-wire server: forward only, race-safe, each counted once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from lanes_common.documents import decode_json_value, encode_json_value
from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.mongo import create_mongo_client
from lanes_common.states import RequestState
from lanes_common.types import MongoDocument
from lanes_common.user_queues import USER_QUEUES_COLLECTION, UserQueue
from lanes_devstack.infra_modes import IntegrationInfra
from lanes_devstack.waiting import eventually
from lanes_gateway.queued_inserts import QueuedInserts
from lanes_gateway.store import RequestStore, queued_document
from lanes_processor.store import StatusStore, WriteOutcome

pytestmark = pytest.mark.integration

AWKWARD = {"a.b": {"$gt": 1}, "list": [{"$x": None}]}
RETENTION = timedelta(days=7)


@pytest.fixture
async def database(
    infra: IntegrationInfra, unique_name: str
) -> AsyncIterator[AsyncDatabase[MongoDocument]]:
    client: AsyncMongoClient[MongoDocument] = create_mongo_client(infra.mongo_uri)
    yield client[unique_name]
    await client.close()


@pytest.fixture
async def store(database: AsyncDatabase[MongoDocument]) -> AsyncIterator[StatusStore]:
    status = StatusStore(database, RETENTION)
    status.start()
    yield status
    await status.close()


def message(user: str = "u1", payload: Any = None) -> RequestMessage:
    return RequestMessage(
        id=new_request_id(), user_id=user, type="echo", payload=payload, enqueued_at=utc_now()
    )


async def doc(database: AsyncDatabase[MongoDocument], request_id: str) -> MongoDocument:
    found = await database["requests"].find_one({"_id": request_id})
    assert found is not None
    return found


async def queue(database: AsyncDatabase[MongoDocument], user: str = "u1") -> UserQueue:
    return UserQueue.from_document(await database[USER_QUEUES_COLLECTION].find_one({"_id": user}))


async def open_counts(database: AsyncDatabase[MongoDocument], user: str = "u1") -> tuple[int, int]:
    """(queued, processing) as the user's queue document has them."""
    q = await queue(database, user)
    return q.count(RequestState.QUEUED), q.count(RequestState.PROCESSING)


async def counts_become(
    database: AsyncDatabase[MongoDocument], expected: tuple[int, int], user: str = "u1"
) -> None:
    """Until the user's (queued, processing) counts are ``expected``.

    A start answers once its status is written; its open entry follows in the
    next entries bulk, so the counts are polled after starts.
    """

    async def reached() -> bool:
        return await open_counts(database, user) == expected

    await eventually(reached, 10, f"{user}'s open counts are {expected}")


async def test_an_attempt_materialises_the_request_and_finishing_records_it(
    store: StatusStore, database: AsyncDatabase[MongoDocument]
) -> None:
    m = message(payload=AWKWARD)
    assert await store.begin_attempt(m, partition=3, offset=42, attempt=1) is WriteOutcome.APPLIED
    started = await doc(database, m.id)
    assert (started["state"], started["user_id"]) == ("processing", "u1")
    assert (started["partition"], started["offset"], started["attempts"]) == (3, 42, 1)
    assert decode_json_value(started["payload_json"]) == AWKWARD
    assert "expires_at" not in started
    await counts_become(database, (0, 1))

    finished_at = utc_now()
    result = encode_json_value({"echo": AWKWARD})
    await store.finish(m, RequestState.SUCCEEDED, result_json=result, finished_at=finished_at)
    finished = await doc(database, m.id)
    assert finished["state"] == "succeeded"
    assert decode_json_value(finished["result_json"]) == {"echo": AWKWARD}
    assert abs(finished["expires_at"] - (finished_at + RETENTION)) < timedelta(milliseconds=1)
    assert await open_counts(database) == (0, 0)


async def test_redeliveries_neither_move_state_back_nor_count_twice(
    store: StatusStore, database: AsyncDatabase[MongoDocument]
) -> None:
    m = message()
    assert await store.begin_attempt(m, 0, 1, attempt=1) is WriteOutcome.APPLIED
    # The record is redelivered while it runs (a rebalance): the same attempt again.
    assert await store.begin_attempt(m, 0, 1, attempt=1) is WriteOutcome.APPLIED
    await counts_become(database, (0, 1))
    await store.finish(m, RequestState.SUCCEEDED, result_json="1")
    # Redelivered after it finished, and a late failure report.
    assert await store.begin_attempt(m, 0, 1, attempt=1) is WriteOutcome.SUPERSEDED
    late = {"code": "late", "message": "late"}
    assert await store.finish(m, RequestState.FAILED, error=late) is WriteOutcome.SUPERSEDED
    final = await doc(database, m.id)
    assert final["state"] == "succeeded"
    assert final["error"] is None
    assert await open_counts(database) == (0, 0)


async def test_a_lost_close_is_repaired_by_the_redelivery(
    store: StatusStore, database: AsyncDatabase[MongoDocument]
) -> None:
    """A crash between the status write and the queue write leaves an entry open; the record's
    redelivery finds the request finished and closes it."""
    m = message()
    await store.begin_attempt(m, 0, 1, attempt=1)
    await store.finish(m, RequestState.SUCCEEDED, result_json="1")
    stale = {f"open.{m.id}": {"r": 1, "o": 1, "t": m.enqueued_at}}
    await database[USER_QUEUES_COLLECTION].update_one({"_id": "u1"}, {"$set": stale})
    assert await open_counts(database) == (0, 1)

    assert await store.begin_attempt(m, 0, 1, attempt=1) is WriteOutcome.SUPERSEDED

    assert await open_counts(database) == (0, 0)


async def test_a_lost_close_is_repaired_by_the_periodic_pass(
    store: StatusStore, database: AsyncDatabase[MongoDocument]
) -> None:
    """The same lost close, when the record is never run again: the gateway's pass closes it."""
    finished, running = message(), message()
    for m in (finished, running):
        await store.begin_attempt(m, 0, 1, attempt=1)
    await store.finish(finished, RequestState.SUCCEEDED, result_json="1")
    stale = {f"open.{finished.id}": {"r": 1, "o": 1, "t": finished.enqueued_at}}
    await database[USER_QUEUES_COLLECTION].update_one({"_id": "u1"}, {"$set": stale})

    assert await RequestStore(database, RETENTION).close_finished_entries() == 1

    assert set((await queue(database)).entries) == {running.id}


async def test_a_cancelled_request_is_not_started(
    store: StatusStore, database: AsyncDatabase[MongoDocument]
) -> None:
    m = message()
    await database["requests"].insert_one(
        {"_id": m.id, "user_id": m.user_id, "state": "cancelled", "state_rank": 2}
    )
    assert await store.begin_attempt(m, 0, 7, attempt=1) is WriteOutcome.SUPERSEDED
    assert (await doc(database, m.id))["state"] == "cancelled"


async def test_another_users_request_is_never_written(
    store: StatusStore, database: AsyncDatabase[MongoDocument]
) -> None:
    m = message(user="alice")
    await database["requests"].insert_one(
        {"_id": m.id, "user_id": "bob", "state": "queued", "state_rank": 0}
    )
    forged = m.model_copy(update={"user_id": "alice"})

    assert await store.begin_attempt(forged, 0, 7, attempt=1) is WriteOutcome.SUPERSEDED
    assert (await doc(database, m.id))["state"] == "queued"


async def test_retries_record_the_attempt_count(
    store: StatusStore, database: AsyncDatabase[MongoDocument]
) -> None:
    m = message()
    for attempt in (1, 2, 3):
        assert await store.begin_attempt(m, 0, 0, attempt) is WriteOutcome.APPLIED
    assert (await doc(database, m.id))["attempts"] == 3
    await counts_become(database, (0, 1))


async def test_the_gateways_inserts_racing_the_processors_upserts_all_land_counted_once(
    store: StatusStore, database: AsyncDatabase[MongoDocument]
) -> None:
    """The gateway inserts ``queued`` while the processor may already start the same id."""
    messages = [message(user=f"u{n % 10}") for n in range(200)]
    inserts = QueuedInserts(database)

    async with inserts.running():

        async def gateway_insert(n: int, m: RequestMessage) -> bool:
            return await inserts.insert(queued_document(m, "null", 0, n, utc_now()))

        results = await asyncio.wait_for(
            asyncio.gather(
                *(store.begin_attempt(m, 0, n, 1) for n, m in enumerate(messages)),
                *(gateway_insert(n, m) for n, m in enumerate(messages)),
            ),
            timeout=60,
        )

    assert results[: len(messages)] == [WriteOutcome.APPLIED] * len(messages)
    states = {d["_id"]: d["state"] async for d in database["requests"].find({}, {"state": 1})}
    assert states == {m.id: "processing" for m in messages}
    for user in {m.user_id for m in messages}:
        await counts_become(database, (0, 20), user)


async def test_cancellations_racing_starts_leave_one_winner_and_right_counts(
    store: StatusStore, database: AsyncDatabase[MongoDocument]
) -> None:
    messages = [message() for _ in range(60)]
    requests = RequestStore(database, RETENTION)
    async with QueuedInserts(database).running() as inserts:
        for n, m in enumerate(messages):
            assert await inserts.insert(queued_document(m, "null", 0, n, utc_now()))
    assert await open_counts(database) == (60, 0)

    now = utc_now()
    results = await asyncio.gather(
        *(store.begin_attempt(m, 0, n, 1) for n, m in enumerate(messages)),
        *(requests.cancel_queued(m.id, m.user_id, now) for m in messages),
    )

    started = [m for m, r in zip(messages, results, strict=False) if r is WriteOutcome.APPLIED]
    cancels = results[len(messages) :]
    for m, outcome, cancelled in zip(messages, results, cancels, strict=False):
        # Exactly one of the two won, and the document says which.
        assert (outcome is WriteOutcome.APPLIED) != (cancelled is not None)
        expected = "processing" if cancelled is None else "cancelled"
        assert (await doc(database, m.id))["state"] == expected
    await counts_become(database, (0, len(started)))
    for m in started:
        await store.finish(m, RequestState.SUCCEEDED, result_json="1")
    assert await open_counts(database) == (0, 0)


async def test_expired_requests_go_and_counts_stay_right(
    store: StatusStore, database: AsyncDatabase[MongoDocument]
) -> None:
    requests = RequestStore(database, RETENTION)
    old, recent, running = message(), message(), message()
    long_ago = utc_now() - RETENTION - timedelta(minutes=1)
    for m in (old, recent, running):
        await store.begin_attempt(m, 0, 1, attempt=1)
    await store.finish(old, RequestState.SUCCEEDED, result_json="1", finished_at=long_ago)
    await store.finish(recent, RequestState.FAILED, error={"code": "x", "message": "x"})
    assert await requests.count_finished_by_state("u1") == {"succeeded": 1, "failed": 1}

    assert await requests.expire_finished(utc_now()) == 1

    assert await database["requests"].find_one({"_id": old.id}) is None
    assert await requests.count_finished_by_state("u1") == {"failed": 1}
    await counts_become(database, (0, 1))
    assert (await doc(database, running.id))["state"] == "processing"


async def test_requests_that_finish_before_their_open_entry_is_written_leave_none_open(
    store: StatusStore, database: AsyncDatabase[MongoDocument]
) -> None:
    """A start's entry may still wait for its bulk when the request finishes: it is merged with
    the close or written before it, never after (which would reopen a finished request)."""
    messages = [message(user=f"u{n % 10}") for n in range(300)]

    async def run(n: int, m: RequestMessage) -> None:
        assert await store.begin_attempt(m, 0, n, 1) is WriteOutcome.APPLIED
        await store.finish(m, RequestState.SUCCEEDED, result_json="1")

    await asyncio.wait_for(asyncio.gather(*(run(n, m) for n, m in enumerate(messages))), 60)

    # A finish answers only once its close landed: nothing is left to wait for.
    for user in {m.user_id for m in messages}:
        assert (await queue(database, user)).entries == {}, user
