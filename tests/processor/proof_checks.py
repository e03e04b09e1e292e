"""What a correct run looks like, checked against what Kafka stored and the processor recorded."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from lanes_common.types import MongoDocument
from tests.processor.proof_kafka import Produced, by_user_in_offset_order
from tests.processor.proof_status import RankHistory


def assert_one_at_a_time_in_offset_order(
    produced: Iterable[Produced], docs: Mapping[str, MongoDocument]
) -> int:
    """Per user, each request finished before the next (by Kafka offset) started.

    Returns how many consecutive pairs were checked, so a caller can show the
    check was not vacuous.
    """
    pairs = 0
    for user, requests in by_user_in_offset_order(produced).items():
        for earlier, later in itertools.pairwise(requests):
            first, second = docs[earlier.id], docs[later.id]
            finished: datetime = first["finished_at"]
            started: datetime = second["started_at"]
            assert finished <= started, (
                f"{user}: offset {later.offset} started at {started.isoformat()} before "
                f"offset {earlier.offset} finished at {finished.isoformat()}"
            )
            pairs += 1
    return pairs


def assert_recorded_where_kafka_stored(
    produced: Iterable[Produced], docs: Mapping[str, MongoDocument]
) -> None:
    """Each status document names the partition and offset Kafka acknowledged."""
    for p in produced:
        doc = docs[p.id]
        assert (doc["partition"], doc["offset"]) == (p.partition, p.offset), p.id


def assert_each_succeeded_once_in_order(
    produced: Sequence[Produced],
    docs: Mapping[str, MongoDocument],
    users: int,
    history: RankHistory,
) -> None:
    """How a run that loses nothing ends, whatever happened to it on the way.

    Every request Kafka acknowledged has a status, succeeded, recorded where
    Kafka stored it; per user, one at a time in offset order; and no read
    saw a request further back than an earlier read had.
    """
    assert len(docs) == len(produced), f"{len(docs)} statuses for {len(produced)} requests"
    assert set(docs) == {p.id for p in produced}, "statuses of requests never produced"
    states = {doc["state"] for doc in docs.values()}
    assert states == {"succeeded"}, states
    assert_recorded_where_kafka_stored(produced, docs)
    pairs = assert_one_at_a_time_in_offset_order(produced, docs)
    assert pairs == len(produced) - users, f"{pairs} pairs checked"
    assert history.regressions == [], history.regressions
