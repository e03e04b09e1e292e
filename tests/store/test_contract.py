"""What Lanes needs from a MongoDB-wire server, stated as tests.

Run against the session's server: the embedded one by default, a real MongoDB
with ``LANES_TEST_INFRA=external`` (or ``docker``). A server that Lanes may
run on passes every test here; where the embedded server differs from MongoDB
in something Lanes does not rely on, a test says so and pins what it does.
Durability across a ``kill -9`` is in ``test_contract_durability.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pymongo import AsyncMongoClient, InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from lanes_common.mongo import create_mongo_client
from lanes_common.types import MongoDocument
from lanes_devstack.infra_modes import IntegrationInfra

pytestmark = pytest.mark.integration

WRITERS = 16
RACED_DOCUMENTS = 20
INCREMENTS_PER_WRITER = 25
DUPLICATE_KEY = 11000


@pytest.fixture
async def collection(
    infra: IntegrationInfra, unique_name: str
) -> AsyncIterator[AsyncCollection[MongoDocument]]:
    """A fresh collection in a database of this test's own (tz-aware client, as Lanes uses)."""
    client = create_mongo_client(infra.mongo_uri)
    yield client[unique_name]["contract"]
    await client.drop_database(unique_name)
    await client.close()


@pytest.fixture
async def writers(
    infra: IntegrationInfra, unique_name: str
) -> AsyncIterator[list[AsyncCollection[MongoDocument]]]:
    """The same collection through 16 clients: 16 connections racing at the server."""
    clients = [create_mongo_client(infra.mongo_uri) for _ in range(WRITERS)]
    yield [client[unique_name]["contract"] for client in clients]
    await asyncio.gather(*(client.close() for client in clients))


async def test_exactly_one_of_16_concurrent_conditional_transitions_wins(
    collection: AsyncCollection[MongoDocument], writers: list[AsyncCollection[MongoDocument]]
) -> None:
    """The processor's transitions: one conditional write each, and a race has one winner."""
    ids = [f"r{n}" for n in range(RACED_DOCUMENTS)]
    await collection.insert_many([{"_id": i, "state_rank": 0, "starts": 0} for i in ids])

    async def start(writer: AsyncCollection[MongoDocument], request_id: str) -> int:
        result = await writer.update_one(
            {"_id": request_id, "state_rank": {"$lt": 1}},
            {"$set": {"state": "processing", "state_rank": 1}, "$inc": {"starts": 1}},
        )
        return result.modified_count

    wins = await asyncio.gather(*(start(w, i) for i in ids for w in writers))
    per_document = [sum(wins[n * WRITERS : (n + 1) * WRITERS]) for n in range(len(ids))]
    assert per_document == [1] * len(ids)
    stored = await collection.find({}, {"starts": 1, "state_rank": 1}).to_list()
    assert all(d["starts"] == 1 and d["state_rank"] == 1 for d in stored)


async def test_concurrent_increments_are_never_lost(
    collection: AsyncCollection[MongoDocument], writers: list[AsyncCollection[MongoDocument]]
) -> None:
    """Per-user counts are `$inc`s from many writers: every one of them lands."""
    await collection.insert_one({"_id": "counts", "queued": 0, "open": 0})

    async def increment(writer: AsyncCollection[MongoDocument]) -> None:
        for _ in range(INCREMENTS_PER_WRITER):
            await writer.update_one({"_id": "counts"}, {"$inc": {"queued": 1, "open": 2}})

    await asyncio.gather(*(increment(w) for w in writers))
    counts = await collection.find_one({"_id": "counts"})
    total = WRITERS * INCREMENTS_PER_WRITER
    assert counts == {"_id": "counts", "queued": total, "open": 2 * total}


async def test_concurrent_upserts_of_one_id_insert_once(
    collection: AsyncCollection[MongoDocument], writers: list[AsyncCollection[MongoDocument]]
) -> None:
    """An upsert by `_id` racing others inserts once; the rest update, none fails."""

    async def upsert(writer: AsyncCollection[MongoDocument], n: int) -> bool:
        result = await writer.update_one(
            {"_id": "u1"}, {"$setOnInsert": {"first": n}, "$inc": {"seen": 1}}, upsert=True
        )
        return result.upserted_id is not None

    inserted = await asyncio.gather(*(upsert(w, n) for n, w in enumerate(writers)))
    assert sum(inserted) == 1
    document = await collection.find_one({"_id": "u1"})
    assert document is not None
    assert document["seen"] == WRITERS
    assert document["first"] == inserted.index(True)


async def test_a_duplicate_unique_key_answers_e11000(
    collection: AsyncCollection[MongoDocument],
) -> None:
    """Claims (`_id`) and user names (a unique index) rely on E11000, on insert and update."""
    await collection.create_index("username_lower", unique=True)
    await collection.insert_one({"_id": "a", "username_lower": "ada"})
    await collection.insert_one({"_id": "b", "username_lower": "bob"})
    with pytest.raises(DuplicateKeyError) as same_id:
        await collection.insert_one({"_id": "a", "username_lower": "cy"})
    with pytest.raises(DuplicateKeyError) as same_name:
        await collection.insert_one({"_id": "c", "username_lower": "ada"})
    with pytest.raises(DuplicateKeyError) as renamed_onto:
        await collection.update_one({"_id": "b"}, {"$set": {"username_lower": "ada"}})
    assert {e.value.code for e in (same_id, same_name, renamed_onto)} == {DUPLICATE_KEY}
    assert await collection.count_documents({}) == 2
    assert await collection.find_one({"_id": "b"}) == {"_id": "b", "username_lower": "bob"}


async def _unordered_bulk_with_two_duplicates(
    collection: AsyncCollection[MongoDocument],
) -> dict[str, Any]:
    await collection.insert_many([{"_id": "old", "v": 0}, {"_id": "done", "state_rank": 2}])
    with pytest.raises(BulkWriteError) as failed:
        await collection.bulk_write(
            [
                InsertOne({"_id": "old", "v": 1}),
                InsertOne({"_id": "new", "v": 1}),
                UpdateOne({"_id": "done", "state_rank": {"$lt": 2}}, {"$set": {"state_rank": 1}}),
                UpdateOne({"_id": "upserted"}, {"$set": {"v": 1}}, upsert=True),
                InsertOne({"_id": "new", "v": 2}),
                UpdateOne({"_id": "old"}, {"$set": {"v": 3}}),
            ],
            ordered=False,
        )
    return failed.value.details


async def test_an_unordered_bulk_applies_the_rest_and_lists_each_error_by_index(
    collection: AsyncCollection[MongoDocument],
) -> None:
    """The processor's and gateway's group commits read per-operation errors and upserts."""
    details = await _unordered_bulk_with_two_duplicates(collection)
    errors = [(e["index"], e["code"]) for e in details["writeErrors"]]
    assert errors == [(0, DUPLICATE_KEY), (4, DUPLICATE_KEY)]
    assert [(u["index"], u["_id"]) for u in details["upserted"]] == [(3, "upserted")]
    assert (details["nMatched"], details["nModified"], details["nUpserted"]) == (1, 1, 1)
    stored = {d["_id"]: d for d in await collection.find({}).to_list()}
    assert stored == {
        "old": {"_id": "old", "v": 3},
        "done": {"_id": "done", "state_rank": 2},
        "new": {"_id": "new", "v": 1},
        "upserted": {"_id": "upserted", "v": 1},
    }


async def test_documented_difference_n_inserted_may_count_failed_inserts(
    collection: AsyncCollection[MongoDocument],
) -> None:
    """Lanes never reads ``nInserted``: mongo-java-server counts inserts that failed too.

    MongoDB answers 1 here (one of three inserts applied); mongo-java-server
    1.47 answers 3 (every insert sent). Lanes reads ``writeErrors`` instead.
    """
    details = await _unordered_bulk_with_two_duplicates(collection)
    assert details["nInserted"] in (1, 3)


async def test_max_and_set_on_insert(collection: AsyncCollection[MongoDocument]) -> None:
    """Upserts stamp creation once (`$setOnInsert`) and keep the latest time (`$max`)."""
    first = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    # 13:00 at +02:00 is 11:00 UTC: earlier, though its wall clock reads later.
    earlier = datetime(2026, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=2)))
    later = first + timedelta(seconds=1)

    async def stamp(at: datetime) -> None:
        await collection.update_one(
            {"_id": "u1"},
            {"$max": {"updated_at": at}, "$setOnInsert": {"created_at": at}},
            upsert=True,
        )

    await stamp(first)
    assert await collection.find_one({"_id": "u1"}) == {
        "_id": "u1",
        "updated_at": first,
        "created_at": first,
    }
    await stamp(earlier)
    assert await collection.find_one({"_id": "u1"}) == {
        "_id": "u1",
        "updated_at": first,
        "created_at": first,
    }
    await stamp(later)
    assert await collection.find_one({"_id": "u1"}) == {
        "_id": "u1",
        "updated_at": later,
        "created_at": first,
    }


async def test_timezone_aware_datetimes_round_trip_as_utc(
    collection: AsyncCollection[MongoDocument],
) -> None:
    """Times go in aware (any offset) and come back aware, in UTC, to the millisecond."""
    sent = [
        datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 0, 0, 1_500, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 7, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    ]
    await collection.insert_many([{"_id": n, "at": at} for n, at in enumerate(sent)])
    stored = await collection.find({}).sort("at", 1).to_list()
    for document, at in zip(stored, sorted(sent), strict=True):
        expected = at.astimezone(UTC).replace(microsecond=at.microsecond // 1000 * 1000)
        assert document["at"] == expected
        assert document["at"].utcoffset() == timedelta(0)
    cutoff = datetime(2026, 3, 29, 1, 0, 0, 1_000, tzinfo=UTC)
    assert await collection.count_documents({"at": {"$lt": cutoff}}) == 1


async def test_counts_per_state_and_a_page_sorted_on_two_keys(
    collection: AsyncCollection[MongoDocument],
) -> None:
    """`/v1/queue` groups a user's requests by state; the list pages newest first."""
    await collection.insert_many(
        [
            {"_id": f"r{n}", "user_id": "u1", "state": s, "enqueued_at": n // 2}
            for n, s in enumerate(["queued", "queued", "succeeded", "failed", "queued"])
        ]
    )
    groups = await collection.aggregate(
        [{"$match": {"user_id": "u1"}}, {"$group": {"_id": "$state", "n": {"$sum": 1}}}]
    )
    assert {g["_id"]: g["n"] async for g in groups} == {"queued": 3, "succeeded": 1, "failed": 1}
    page = collection.find({"user_id": "u1"}).sort([("enqueued_at", -1), ("_id", -1)]).limit(3)
    assert [d["_id"] for d in await page.to_list()] == ["r4", "r3", "r2"]


async def test_ping_and_client_handshake(infra: IntegrationInfra) -> None:
    """PyMongo 4.20 accepts the server (wire version 9, MongoDB 4.4, or later)."""
    client: AsyncMongoClient[MongoDocument] = create_mongo_client(infra.mongo_uri)
    try:
        hello = await client.admin.command("isMaster")
        build = await client.admin.command("buildInfo")
    finally:
        await client.close()
    assert hello["maxWireVersion"] >= 9
    assert tuple(build["versionArray"][:2]) >= (4, 4)
