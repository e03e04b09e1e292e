"""Status writes on a real MongoDB-wire server: forward only, idempotent, race-safe."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from lanes_common.documents import decode_json_value, encode_json_value
from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.mongo import MongoDocument, create_mongo_client
from lanes_common.states import RequestState
from lanes_devstack.infra import LocalInfra
from lanes_processor.store import StatusStore, WriteOutcome

pytestmark = pytest.mark.integration

AWKWARD = {"a.b": {"$gt": 1}, "list": [{"$x": None}]}


@pytest.fixture
async def mongo(infra: LocalInfra) -> AsyncIterator[AsyncMongoClient[MongoDocument]]:
    client = create_mongo_client(infra.mongo_uri)
    yield client
    await client.close()


@pytest.fixture(params=[True, False], ids=["atomic-conditions", "read-check-write"])
async def store(
    mongo: AsyncMongoClient[MongoDocument], unique_name: str, request: pytest.FixtureRequest
) -> AsyncIterator[StatusStore]:
    """Both ways of applying a batch, on the real server (FerretDB serves both)."""
    status = StatusStore(mongo[unique_name]["requests"], atomic_conditions=request.param)
    status.start()
    yield status
    await status.close()


def message(user: str = "u1", payload: Any = None) -> RequestMessage:
    return RequestMessage(
        id=new_request_id(), user_id=user, type="echo", payload=payload, enqueued_at=utc_now()
    )


async def doc(mongo: AsyncMongoClient[MongoDocument], db: str, request_id: str) -> MongoDocument:
    found = await mongo[db]["requests"].find_one({"_id": request_id})
    assert found is not None
    return found


async def test_an_attempt_materialises_the_request_and_finishing_records_it(
    store: StatusStore, mongo: AsyncMongoClient[MongoDocument], unique_name: str
) -> None:
    m = message(payload=AWKWARD)
    assert await store.begin_attempt(m, partition=3, offset=42, attempt=1) is WriteOutcome.APPLIED
    started = await doc(mongo, unique_name, m.id)
    assert started["state"] == "processing"
    assert (started["partition"], started["offset"], started["attempts"]) == (3, 42, 1)
    assert decode_json_value(started["payload_json"]) == AWKWARD

    await store.finish(
        m.id, RequestState.SUCCEEDED, result_json=encode_json_value({"echo": AWKWARD})
    )
    finished = await doc(mongo, unique_name, m.id)
    assert finished["state"] == "succeeded"
    assert decode_json_value(finished["result_json"]) == {"echo": AWKWARD}


async def test_state_never_moves_backwards(
    store: StatusStore, mongo: AsyncMongoClient[MongoDocument], unique_name: str
) -> None:
    m = message()
    await store.begin_attempt(m, 0, 1, attempt=1)
    await store.finish(m.id, RequestState.SUCCEEDED, result_json="1")
    # A redelivered copy of the same record, and a late failure report.
    assert await store.begin_attempt(m, 0, 1, attempt=1) is WriteOutcome.SUPERSEDED
    await store.finish(m.id, RequestState.FAILED, error={"code": "late", "message": "late"})
    final = await doc(mongo, unique_name, m.id)
    assert final["state"] == "succeeded"
    assert "error" not in final


async def test_a_cancelled_request_is_not_started(
    store: StatusStore, mongo: AsyncMongoClient[MongoDocument], unique_name: str
) -> None:
    m = message()
    await mongo[unique_name]["requests"].insert_one(
        {"_id": m.id, "user_id": m.user_id, "state": "cancelled", "state_rank": 2}
    )
    assert await store.begin_attempt(m, 0, 7, attempt=1) is WriteOutcome.SUPERSEDED
    assert (await doc(mongo, unique_name, m.id))["state"] == "cancelled"


async def test_retries_record_the_attempt_count(
    store: StatusStore, mongo: AsyncMongoClient[MongoDocument], unique_name: str
) -> None:
    m = message()
    for attempt in (1, 2, 3):
        assert await store.begin_attempt(m, 0, 0, attempt) is WriteOutcome.APPLIED
    assert (await doc(mongo, unique_name, m.id))["attempts"] == 3


async def test_upserts_racing_the_gateways_inserts_all_land(
    store: StatusStore, mongo: AsyncMongoClient[MongoDocument], unique_name: str
) -> None:
    """The gateway inserts `queued` while the processor may already upsert the same id."""
    messages = [message(user=f"u{n}") for n in range(200)]
    collection = mongo[unique_name]["requests"]

    async def gateway_insert(m: RequestMessage) -> None:
        # DuplicateKeyError: the processor got there first, as the gateway tolerates.
        with contextlib.suppress(DuplicateKeyError):
            await collection.insert_one(
                {
                    "_id": m.id,
                    "user_id": m.user_id,
                    "state": "queued",
                    "state_rank": 0,
                    "attempts": 0,
                }
            )

    outcomes = await asyncio.wait_for(
        asyncio.gather(
            *(store.begin_attempt(m, 0, n, 1) for n, m in enumerate(messages)),
            *(gateway_insert(m) for m in messages),
        ),
        timeout=60,
    )
    assert outcomes[: len(messages)] == [WriteOutcome.APPLIED] * len(messages)
    states = {d["_id"]: d["state"] async for d in collection.find({}, {"state": 1})}
    assert states == {m.id: "processing" for m in messages}
