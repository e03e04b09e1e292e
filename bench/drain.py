"""Drain rate: ``echo`` requests through the processor, beside the raw consume-and-write floor.

Both consumers run at once, each on its own topic and database, and are
warmed up; then each repetition produces a burst straight to Kafka (no
gateway, so only the drain is measured) first for the processor, then for
the floor. Throughput is the burst over the time from its first enqueue to
its last ``finished_at``; latency is ``finished_at - enqueued_at`` per request,
both read from the status documents the consumers wrote.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from bench.cpu import cpu_ms_per_request, cpu_snapshot, median_by_kind
from bench.harness import REPO_ROOT, Settings, median, processor_env
from bench.processor import percentile
from bench.rss import PeakRss
from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.mongo import create_mongo_client
from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import ManagedProcess, free_port
from lanes_devstack.services import RunningService, start_service
from lanes_devstack.waiting import eventually

logger = logging.getLogger("bench.drain")

WARMUP_REQUESTS = 200
POLL_SECONDS = 0.25
_FINISHED = re.compile(r"^lanes_processor_finished_total\{[^}]*\} ([0-9.e+]+)$", re.MULTILINE)
_ASSIGNED = re.compile(r"^lanes_processor_assigned_partitions ([0-9.e+]+)$", re.MULTILINE)


@dataclass(frozen=True)
class Burst:
    """What one burst measured."""

    requests: int
    seconds: float
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    """Each server's CPU time per request from the produce to the last finish (`bench.cpu`)."""


def user_id(n: int) -> str:
    """The ``n``-th user of a burst."""
    return f"user-{n:04d}"


def burst_messages(
    count: int, users: int, request_type: str, payload: Callable[[int], Any]
) -> list[RequestMessage]:
    """``count`` requests spread round-robin over ``users`` users."""
    return [
        RequestMessage(
            id=new_request_id(),
            user_id=user_id(n % users),
            type=request_type,
            payload=payload(n),
            enqueued_at=utc_now(),
        )
        for n in range(count)
    ]


async def produce(producer: AsyncProducer, topic: str, messages: Sequence[RequestMessage]) -> None:
    """Produce every message and wait for all acknowledgements."""
    await asyncio.gather(
        *(producer.produce(topic, m.encode(), m.key(), m.headers()) for m in messages)
    )


async def measure_burst(
    infra: LocalInfra, database: str, messages: Sequence[RequestMessage]
) -> Burst:
    """Throughput and latency of a finished burst, from its status documents."""
    mongo = create_mongo_client(infra.mongo_uri)
    try:
        wanted = [m.id for m in messages]
        fields = {"finished_at": 1, "enqueued_at": 1, "state": 1}
        # By _id: a store seeded with history must not be scanned to measure a burst.
        docs = {
            d["_id"]: d
            async for d in mongo[database][REQUESTS_COLLECTION].find(
                {"_id": {"$in": wanted}}, fields
            )
        }
    finally:
        await mongo.close()
    missing = [i for i in wanted if docs.get(i, {}).get("state") != "succeeded"]
    if missing:
        raise RuntimeError(f"{len(missing)} requests did not succeed, e.g. {missing[0]}")
    start = min(m.enqueued_at for m in messages)
    end = max(d["finished_at"] for d in docs.values())
    latencies = [
        (docs[m.id]["finished_at"] - m.enqueued_at).total_seconds() * 1000 for m in messages
    ]
    seconds = (end - start).total_seconds()
    return Burst(
        requests=len(messages),
        seconds=round(seconds, 3),
        throughput_rps=round(len(messages) / seconds, 1),
        p50_ms=round(percentile(latencies, 50), 1),
        p95_ms=round(percentile(latencies, 95), 1),
        p99_ms=round(percentile(latencies, 99), 1),
    )


async def finished_count(urls: Sequence[str]) -> int:
    """Requests the replicas at ``urls`` finished, from their ``/metrics``."""
    total = 0.0
    async with httpx.AsyncClient(timeout=5) as client:
        for url in urls:
            text = (await client.get(f"{url}/metrics")).text
            total += sum(float(v) for v in _FINISHED.findall(text))
    return int(total)


async def wait_all_assigned(urls: Sequence[str], partitions: int) -> None:
    """Until every replica owns at least one partition and all are owned."""

    async def assigned() -> bool:
        counts = []
        async with httpx.AsyncClient(timeout=5) as client:
            for url in urls:
                found = _ASSIGNED.search((await client.get(f"{url}/metrics")).text)
                counts.append(int(float(found.group(1))) if found else 0)
        # Every replica owns one or more partitions (there are at least as many), all owned.
        return min(counts) > 0 and sum(counts) == partitions

    await eventually(assigned, 120, "partitions assigned to every replica", POLL_SECONDS)


class ProcessorDrain:
    """Processor replicas on their own topic and database, counted through ``/metrics``."""

    def __init__(
        self, infra: LocalInfra, partitions: int, log_dir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.infra = infra
        self.partitions = partitions
        self.log_dir = log_dir
        self.base = f"bench-drain-{uuid.uuid4().hex[:8]}"
        self.topic = f"{self.base}.requests"
        self.extra_env = env or {}
        self.replicas: list[RunningService] = []

    def start(self, replicas: int) -> None:
        """Create the topics, start the replicas one after another."""
        self.infra.create_topics([self.topic, f"{self.topic}.dlq"], self.partitions)
        for n in range(replicas):
            port = free_port()
            env = {**processor_env(self.infra, self.base, port), **self.extra_env}
            self.replicas.append(
                start_service("processor", port, env, self.log_dir, f"{self.base}-processor-{n}")
            )

    async def wait_done(self, total: int, timeout: float) -> None:  # noqa: ASYNC109  (a polling deadline)
        """Until the replicas together finished ``total`` requests."""
        urls = [r.url for r in self.replicas]

        async def done() -> bool:
            return await finished_count(urls) >= total

        await eventually(done, timeout, f"{total} requests finished", POLL_SECONDS)

    def stop(self) -> None:
        """SIGTERM every replica."""
        for replica in self.replicas:
            replica.stop()
        self.replicas.clear()


class FloorDrain:
    """The raw floor (`bench.floor`) on its own topic and database, counted through a file."""

    def __init__(self, infra: LocalInfra, partitions: int, log_dir: Path, work_dir: Path) -> None:
        self.infra = infra
        self.partitions = partitions
        self.base = f"bench-floor-{uuid.uuid4().hex[:8]}"
        self.topic = f"{self.base}.requests"
        self.progress = work_dir / f"{self.base}.progress"
        self.process = ManagedProcess(
            "raw-floor",
            [
                "python",
                "-m",
                "bench.floor",
                "--bootstrap",
                infra.kafka_bootstrap_servers,
                "--topic",
                self.topic,
                "--group",
                f"{self.base}-floor",
                "--mongo-uri",
                infra.mongo_uri,
                "--database",
                self.base,
                "--progress-file",
                str(self.progress),
            ],
            log_dir / "raw-floor.log",
            cwd=REPO_ROOT,
        )

    def start(self) -> None:
        """Create the topic and start the floor process."""
        import sys

        self.infra.create_topics([self.topic], self.partitions)
        self.process.command[0] = sys.executable
        self.process.start()

    async def wait_done(self, total: int, timeout: float) -> None:  # noqa: ASYNC109  (a polling deadline)
        """Until the floor wrote ``total`` documents."""

        async def done() -> bool:
            if not self.process.is_running():
                raise RuntimeError(f"raw floor exited:\n{self.process.log_tail()}")
            try:
                return int(self.progress.read_text() or 0) >= total
            except (OSError, ValueError):
                return False

        await eventually(done, timeout, f"{total} documents written", POLL_SECONDS)

    def stop(self) -> None:
        """SIGTERM the floor."""
        self.process.stop()


def _echo_payload(n: int) -> Any:
    return {"n": n, "text": "hello"}


async def drain_burst(
    infra: LocalInfra,
    producer: AsyncProducer,
    topic: str,
    database: str,
    messages: Sequence[RequestMessage],
    wait: Callable[[int, float], Awaitable[None]],
    done_before: int,
) -> Burst:
    """Produce a burst, wait until it is drained, measure it."""
    before = cpu_snapshot()
    await produce(producer, topic, messages)
    await wait(done_before + len(messages), 600)
    cpu = cpu_ms_per_request(before, cpu_snapshot(), len(messages))
    return replace(await measure_burst(infra, database, messages), cpu_ms_per_request=cpu)


def summarise(bursts: Sequence[Burst]) -> dict[str, Any]:
    """Medians over the repetitions, and every repetition."""
    return {
        "throughput_rps": median([b.throughput_rps for b in bursts]),
        "p50_ms": median([b.p50_ms for b in bursts]),
        "p95_ms": median([b.p95_ms for b in bursts]),
        "p99_ms": median([b.p99_ms for b in bursts]),
        "cpu_ms_per_request": median_by_kind([b.cpu_ms_per_request for b in bursts]),
        "runs": [b.__dict__ for b in bursts],
    }


async def run_drain(
    infra: LocalInfra, settings: Settings, log_dir: Path, rss: PeakRss
) -> dict[str, Any]:
    """Processor and floor, warmed up, then alternating bursts; medians and the ratio."""
    rss.phase = "drain"
    work_dir = log_dir.parent
    processor = ProcessorDrain(infra, settings.drain_partitions, log_dir)
    floor = FloorDrain(infra, settings.drain_partitions, log_dir, work_dir)
    producer = AsyncProducer(producer_config(infra.kafka_bootstrap_servers, "lanes-bench"))
    await asyncio.to_thread(processor.start, 1)
    await asyncio.to_thread(floor.start)
    try:
        await wait_all_assigned([r.url for r in processor.replicas], settings.drain_partitions)
        targets: dict[str, tuple[str, str, Callable[[int, float], Awaitable[None]]]] = {
            "processor": (processor.topic, processor.base, processor.wait_done),
            "floor": (floor.topic, floor.base, floor.wait_done),
        }
        done = dict.fromkeys(targets, 0)
        for name, (topic, _database, wait) in targets.items():
            logger.info("drain: warming up %s", name)
            warmup = burst_messages(WARMUP_REQUESTS, settings.drain_users, "echo", _echo_payload)
            await produce(producer, topic, warmup)
            done[name] += WARMUP_REQUESTS
            await wait(done[name], 300)
        bursts: dict[str, list[Burst]] = {name: [] for name in targets}
        for rep in range(settings.repetitions):
            for name, (topic, database, wait) in targets.items():
                messages = burst_messages(
                    settings.drain_requests, settings.drain_users, "echo", _echo_payload
                )
                burst = await drain_burst(
                    infra, producer, topic, database, messages, wait, done[name]
                )
                done[name] += len(messages)
                logger.info("drain rep %d %s: %s", rep + 1, name, burst)
                bursts[name].append(burst)
        rss.sample()
    finally:
        await producer.close()
        await asyncio.to_thread(processor.stop)
        await asyncio.to_thread(floor.stop)
    ratios = [
        p.throughput_rps / f.throughput_rps
        for p, f in zip(bursts["processor"], bursts["floor"], strict=True)
    ]
    return {
        "requests_per_burst": settings.drain_requests,
        "users": settings.drain_users,
        "partitions": settings.drain_partitions,
        "repetitions": settings.repetitions,
        "processor": summarise(bursts["processor"]),
        "floor": summarise(bursts["floor"]),
        "ratio": round(median(ratios), 3),
    }
