"""On MongoDB, the queries that may walk a user's history are served by the indexes made for them.

The embedded server answers every query it is sent, but it plans nothing
(it ignores secondary indexes), so these plans are only MongoDB's to show:
the test needs ``LANES_TEST_INFRA=external`` with ``LANES_TEST_MONGO_URI``
naming a real MongoDB, which this machine cannot run. In any other mode it
is skipped with that reason (``-ra`` prints it in the summary); in external
mode against a server that returns no query plans it fails.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.mongo import create_mongo_client
from lanes_common.states import RequestState
from lanes_common.types import MongoDocument
from lanes_devstack.infra_modes import EXTERNAL_MONGO_VARIABLE, MODE_VARIABLE, IntegrationInfra
from lanes_gateway.cursor import PageCursor
from lanes_gateway.store import (
    EXPIRY_INDEX,
    LIST_INDEX,
    STATE_INDEX,
    RequestStore,
    page_filter,
    queued_document,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def real_mongodb() -> None:
    """Skip, saying why, unless the servers are external (where MongoDB itself can be)."""
    if os.environ.get(MODE_VARIABLE, "local") != "external":
        pytest.skip(
            f"query plans are MongoDB's: needs {MODE_VARIABLE}=external with "
            f"{EXTERNAL_MONGO_VARIABLE} naming a real MongoDB (none runs on this machine)"
        )


@pytest.fixture
async def database(
    real_mongodb: None, infra: IntegrationInfra, unique_name: str
) -> AsyncIterator[AsyncDatabase[MongoDocument]]:
    client = create_mongo_client(infra.mongo_uri)
    database = client[unique_name]
    store = RequestStore(database, timedelta(days=7))
    await store.ensure_indexes()
    now = utc_now()
    documents = []
    for n in range(200):
        user = f"u{n % 4}"
        m = RequestMessage(id=new_request_id(), user_id=user, type="echo", enqueued_at=now)
        document = queued_document(m, "null", 0, n, now)
        if n % 3:
            document.update(state="succeeded", state_rank=2, expires_at=now + timedelta(days=7))
        documents.append(document)
    await database["requests"].insert_many(documents)
    yield database
    await client.drop_database(unique_name)
    await client.close()


def _stages(explained: Any, in_plan: bool = False) -> Iterator[tuple[str, Any]]:
    """(stage, keyPattern) of every stage inside a winning plan, however deeply nested."""
    if isinstance(explained, dict):
        if in_plan and "stage" in explained:
            yield str(explained["stage"]), explained.get("keyPattern")
        for key, value in explained.items():
            yield from _stages(value, in_plan or key == "winningPlan")
    elif isinstance(explained, list):
        for item in explained:
            yield from _stages(item, in_plan)


def _assert_indexed(explained: MongoDocument, index: list[tuple[str, int]] | str) -> None:
    stages = list(_stages(explained))
    assert stages, f"the server returned no query plan (is it MongoDB?): {explained}"
    names = {stage for stage, _ in stages}
    assert "COLLSCAN" not in names, stages
    assert "SORT" not in names, f"sorted in memory: {stages}"
    if isinstance(index, str):
        assert any(stage in ("IXSCAN", "EXPRESS_IXSCAN") for stage, _ in stages), stages
    else:
        assert dict(index) in [dict(key) for _, key in stages if key], stages


@pytest.mark.parametrize(
    ("state", "after", "index"),
    [
        (None, None, LIST_INDEX),
        (RequestState.SUCCEEDED, None, STATE_INDEX),
        (None, "cursor", LIST_INDEX),
    ],
)
async def test_a_page_of_a_users_requests_walks_an_index_in_order(
    database: AsyncDatabase[MongoDocument],
    state: RequestState | None,
    after: str | None,
    index: list[tuple[str, int]],
) -> None:
    cursor = PageCursor(utc_now(), "f" * 36) if after else None
    command = {
        "find": "requests",
        "filter": page_filter("u1", state, cursor),
        "sort": {"enqueued_at": -1, "_id": -1},
        "limit": 21,
    }

    _assert_indexed(await database.command("explain", command), index)


async def test_per_state_totals_are_counted_from_an_index(
    database: AsyncDatabase[MongoDocument],
) -> None:
    pipeline = [
        {"$match": {"user_id": "u1", "state": {"$in": ["succeeded", "failed"]}}},
        {"$group": {"_id": "$state", "count": {"$sum": 1}}},
    ]
    explained = await database.command("aggregate", "requests", pipeline=pipeline, explain=True)

    _assert_indexed(explained, STATE_INDEX)


async def test_retention_finds_expired_requests_by_index_and_mongodb_expires_them(
    database: AsyncDatabase[MongoDocument],
) -> None:
    indexes = await database["requests"].index_information()
    assert indexes[EXPIRY_INDEX]["expireAfterSeconds"] == 0
    command = {
        "delete": "requests",
        "deletes": [{"q": {"expires_at": {"$lte": utc_now()}}, "limit": 0}],
    }

    _assert_indexed(await database.command("explain", command), EXPIRY_INDEX)
