"""Replaying dead letters: new ids at the end of the user's queue, once only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from confluent_kafka import Consumer, TopicPartition

from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.mongo import create_mongo_client
from lanes_devstack.infra_modes import IntegrationInfra
from lanes_processor.replay import read_dead_letters, replay

pytestmark = pytest.mark.integration


@pytest.fixture
async def producer(infra: IntegrationInfra) -> AsyncIterator[AsyncProducer]:
    kafka = AsyncProducer(producer_config(infra.kafka_bootstrap_servers, "test-replay"))
    yield kafka
    await kafka.close()


def read_all(bootstrap: str, topic: str) -> list[RequestMessage]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused"})
    consumer.assign([TopicPartition(topic, 0, 0)])
    messages = consumer.consume(100, timeout=5)
    consumer.close()
    return [RequestMessage.decode(m.value()) for m in messages if m.error() is None]


async def test_dead_letters_are_replayed_once_with_new_ids(
    infra: IntegrationInfra, producer: AsyncProducer, unique_name: str
) -> None:
    requests_topic, dlq_topic = f"{unique_name}.requests", f"{unique_name}.dlq"
    infra.create_topics([requests_topic, dlq_topic], partitions=1)
    mongo = create_mongo_client(infra.mongo_uri)
    statuses = mongo[unique_name][REQUESTS_COLLECTION]
    dead = [
        RequestMessage(
            id=new_request_id(), user_id=user, type="fail", payload={"n": n}, enqueued_at=utc_now()
        )
        for n, user in enumerate(["ann", "bob", "ann"])
    ]
    for message in dead:
        await producer.produce(dlq_topic, message.encode(), message.key(), message.headers())
        await statuses.insert_one(
            {
                "_id": message.id,
                "user_id": message.user_id,
                "state": "dead_lettered",
                "state_rank": 2,
            }
        )
    # A dead letter whose request was meanwhile handled some other way is left alone.
    await statuses.update_one({"_id": dead[1].id}, {"$set": {"state": "succeeded"}})

    records = read_dead_letters(infra.kafka_bootstrap_servers, dlq_topic)
    assert len(records) == 3
    first = await replay(records, producer, requests_topic, statuses, user_id="ann")
    again = await replay(records, producer, requests_topic, statuses)
    await mongo.close()

    assert (first.replayed, first.skipped) == (2, 0)
    assert (again.replayed, again.skipped) == (0, 3)
    replayed = read_all(infra.kafka_bootstrap_servers, requests_topic)
    assert [m.replay_of for m in replayed] == [dead[0].id, dead[2].id]
    assert all(m.user_id == "ann" and m.id not in {d.id for d in dead} for m in replayed)
    assert [m.payload for m in replayed] == [{"n": 0}, {"n": 2}]
