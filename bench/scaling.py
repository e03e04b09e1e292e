"""Scaling: ``sleep`` requests (I/O-bound, 20 ms) drained by 1, 2 and 4 replicas, key vs partition.

For each ordering and replica count: a fresh topic (as many partitions as the
most replicas, so every replica can own one) and database, the replicas
started and each owning partitions, a warm-up, then the bursts. Throughput as
in the drain benchmark: the burst over first enqueue to last ``finished_at``.

Each replica runs at most ``scaling_in_flight`` requests at once
(``LANES_PROCESSOR_MAX_IN_FLIGHT``), so one replica is bounded by its own
slots (in-flight / 20 ms), not by the shared store or CPU: what more
replicas add is then what scaling out buys.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from bench.drain import (
    ProcessorDrain,
    burst_messages,
    drain_burst,
    produce,
    summarise,
    wait_all_assigned,
)
from bench.harness import Settings
from bench.rss import PeakRss
from lanes_common.kafka import AsyncProducer, producer_config
from lanes_devstack.infra import LocalInfra

logger = logging.getLogger("bench.scaling")

WARMUP_REQUESTS = 100
ORDERINGS = ("key", "partition")


async def run_scaling(
    infra: LocalInfra, settings: Settings, log_dir: Path, rss: PeakRss
) -> dict[str, Any]:
    """Throughput per ordering and replica count; the speed-up over one replica."""
    partitions = max(settings.scaling_replicas)
    sleep_ms = settings.scaling_sleep_ms

    def payload(_n: int) -> Any:
        return {"ms": sleep_ms}

    producer = AsyncProducer(producer_config(infra.kafka_bootstrap_servers, "lanes-bench"))
    results: dict[str, Any] = {
        "sleep_ms": sleep_ms,
        "requests_per_burst": settings.scaling_requests,
        "users": settings.drain_users,
        "partitions": partitions,
        "in_flight_per_replica": settings.scaling_in_flight,
        "repetitions": settings.scaling_repetitions,
        "orderings": {},
    }
    try:
        for ordering in ORDERINGS:
            per_count: dict[str, Any] = {}
            for replicas in settings.scaling_replicas:
                rss.phase = f"scaling {ordering} x{replicas}"
                drain = ProcessorDrain(
                    infra,
                    partitions,
                    log_dir,
                    {
                        "LANES_PROCESSOR_ORDERING": ordering,
                        "LANES_PROCESSOR_MAX_IN_FLIGHT": str(settings.scaling_in_flight),
                    },
                )
                await asyncio.to_thread(drain.start, replicas)
                try:
                    await wait_all_assigned([r.url for r in drain.replicas], partitions)
                    warmup = burst_messages(WARMUP_REQUESTS, settings.drain_users, "sleep", payload)
                    await produce(producer, drain.topic, warmup)
                    done = WARMUP_REQUESTS
                    await drain.wait_done(done, 300)
                    bursts = []
                    for rep in range(settings.scaling_repetitions):
                        messages = burst_messages(
                            settings.scaling_requests, settings.drain_users, "sleep", payload
                        )
                        burst = await drain_burst(
                            infra,
                            producer,
                            drain.topic,
                            drain.base,
                            messages,
                            drain.wait_done,
                            done,
                        )
                        done += len(messages)
                        logger.info("scaling %s x%d rep %d: %s", ordering, replicas, rep + 1, burst)
                        bursts.append(burst)
                    rss.sample()
                finally:
                    await asyncio.to_thread(drain.stop)
                per_count[str(replicas)] = summarise(bursts)
            one = per_count[str(min(settings.scaling_replicas))]["throughput_rps"]
            for summary in per_count.values():
                summary["speedup"] = round(summary["throughput_rps"] / one, 2)
            results["orderings"][ordering] = per_count
    finally:
        await producer.close()
    return results
