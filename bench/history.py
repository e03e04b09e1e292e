"""History: accept and drain with many finished requests already stored, beside an empty store.

Lanes must not slow down as its history grows. Two of everything run at
once: two gateways (each with its auth) and two processors, each pair on its
own databases; one database of each pair is first seeded (``insert_many``,
``history_seeded`` documents) with finished requests of the very users the phase then
loads (so every per-user path meets a long history). wrk alternates between
the two gateways and the bursts alternate between the two processors, as in
the accept and drain phases, so drift on the shared machine hits both alike.
The figure is the seeded rate over the empty one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.accept import alternate_wrk, ratio_of_runs, start_gateway, summarise_wrk
from bench.drain import (
    Burst,
    ProcessorDrain,
    _echo_payload,
    burst_messages,
    drain_burst,
    produce,
    summarise,
    user_id,
    wait_all_assigned,
)
from bench.harness import Settings, median
from bench.rss import PeakRss
from lanes_common.documents import REQUESTS_COLLECTION, encode_json_value
from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.messages import new_request_id, utc_now
from lanes_common.mongo import create_mongo_client
from lanes_common.types import MongoDocument
from lanes_devstack.infra import LocalInfra

logger = logging.getLogger("bench.history")

SEED_CHUNK = 5_000
WARMUP_REQUESTS = 200


def finished_document(user_id: str, n: int, count: int) -> MongoDocument:
    """The ``n``-th of ``count`` finished ``echo`` requests, as the processor leaves them."""
    now = utc_now()
    enqueued = now - timedelta(seconds=count - n)
    payload = {"n": n, "text": "hello"}
    return {
        "_id": new_request_id(),
        "user_id": user_id,
        "type": "echo",
        "payload_json": encode_json_value(payload),
        "state": "succeeded",
        "state_rank": 2,
        "attempts": 1,
        "result_json": encode_json_value({"echo": payload}),
        "error": None,
        "partition": 0,
        "offset": n,
        "enqueued_at": enqueued,
        "started_at": enqueued,
        "finished_at": enqueued,
        "updated_at": enqueued,
        "expires_at": now + timedelta(days=7),
        "idempotency_key": None,
    }


async def seed_history(mongo_uri: str, database: str, user_ids: Sequence[str], count: int) -> float:
    """Insert ``count`` finished requests spread over ``user_ids``; returns the seconds it took."""
    client = create_mongo_client(mongo_uri, timeout_ms=60_000)
    started = asyncio.get_running_loop().time()
    try:
        collection = client[database][REQUESTS_COLLECTION]
        for start in range(0, count, SEED_CHUNK):
            documents = [
                finished_document(user_ids[n % len(user_ids)], n, count)
                for n in range(start, min(count, start + SEED_CHUNK))
            ]
            await collection.insert_many(documents, ordered=False)
    finally:
        await client.close()
    seconds = asyncio.get_running_loop().time() - started
    logger.info("seeded %d finished requests into %s in %.1f s", count, database, seconds)
    return round(seconds, 1)


async def _accept(
    infra: LocalInfra, settings: Settings, work_dir: Path, log_dir: Path
) -> dict[str, Any]:
    empty = await start_gateway(infra, settings, work_dir, log_dir, "history-empty")
    try:
        seeded = await start_gateway(infra, settings, work_dir, log_dir, "history-seeded")
        try:
            seconds = await seed_history(
                infra.mongo_uri, seeded.database, seeded.user_ids, settings.history_seeded
            )
            runs = await alternate_wrk(
                {"empty": (empty.url, empty.script), "seeded": (seeded.url, seeded.script)},
                settings,
                "history accept",
            )
        finally:
            await asyncio.to_thread(seeded.stack.stop)
    finally:
        await asyncio.to_thread(empty.stack.stop)
    return {
        "seed_seconds": seconds,
        "empty": summarise_wrk(runs["empty"]),
        "seeded": summarise_wrk(runs["seeded"]),
        "ratio": ratio_of_runs(runs["seeded"], runs["empty"]),
    }


async def _drain(infra: LocalInfra, settings: Settings, log_dir: Path) -> dict[str, Any]:
    empty = ProcessorDrain(infra, settings.drain_partitions, log_dir)
    seeded = ProcessorDrain(infra, settings.drain_partitions, log_dir)
    users = [user_id(n) for n in range(settings.drain_users)]
    seconds = await seed_history(infra.mongo_uri, seeded.base, users, settings.history_seeded)
    producer = AsyncProducer(producer_config(infra.kafka_bootstrap_servers, "lanes-bench"))
    await asyncio.to_thread(empty.start, 1)
    await asyncio.to_thread(seeded.start, 1)
    try:
        targets: dict[str, ProcessorDrain] = {"empty": empty, "seeded": seeded}
        for drain in targets.values():
            await wait_all_assigned([r.url for r in drain.replicas], settings.drain_partitions)
        done = dict.fromkeys(targets, 0)
        for name, drain in targets.items():
            warmup = burst_messages(WARMUP_REQUESTS, settings.drain_users, "echo", _echo_payload)
            await produce(producer, drain.topic, warmup)
            done[name] += WARMUP_REQUESTS
            await drain.wait_done(done[name], 300)
        bursts: dict[str, list[Burst]] = {name: [] for name in targets}
        for rep in range(settings.repetitions):
            for name, drain in targets.items():
                messages = burst_messages(
                    settings.drain_requests, settings.drain_users, "echo", _echo_payload
                )
                wait: Callable[[int, float], Awaitable[None]] = drain.wait_done
                burst = await drain_burst(
                    infra, producer, drain.topic, drain.base, messages, wait, done[name]
                )
                done[name] += len(messages)
                logger.info("history drain rep %d %s: %s", rep + 1, name, burst)
                bursts[name].append(burst)
    finally:
        await producer.close()
        await asyncio.to_thread(empty.stop)
        await asyncio.to_thread(seeded.stop)
    ratios = [
        s.throughput_rps / e.throughput_rps
        for s, e in zip(bursts["seeded"], bursts["empty"], strict=True)
    ]
    return {
        "seed_seconds": seconds,
        "empty": summarise(bursts["empty"]),
        "seeded": summarise(bursts["seeded"]),
        "ratio": round(median(ratios), 3),
    }


async def run_history(
    infra: LocalInfra, settings: Settings, work_dir: Path, log_dir: Path, rss: PeakRss
) -> dict[str, Any]:
    """Accept and drain, each on an empty and on a seeded store; the seeded / empty ratios."""
    rss.phase = "history accept"
    accept = await _accept(infra, settings, work_dir, log_dir)
    rss.sample()
    rss.phase = "history drain"
    drain = await _drain(infra, settings, log_dir)
    rss.sample()
    return {
        "seeded_requests": settings.history_seeded,
        "accept_users": settings.accept_users,
        "drain_users": settings.drain_users,
        "requests_per_burst": settings.drain_requests,
        "repetitions": settings.repetitions,
        "accept": accept,
        "drain": drain,
    }
