"""Noisy neighbour: light users' latency behind a heavy user's backlog, and the replica's memory.

One partition, one processor replica per run (a fresh process, so peaks
compare). Each run first serves the light users once (a warm-up, which also
gives the replica's peak RSS with no backlog), then a heavy user's backlog
of ``echo`` requests is produced straight to Kafka, and then the light
users' requests behind it. Reported: the light users' end-to-end latency
(``finished_at - enqueued_at`` from the status documents) at p50/p95/p99,
how much of the heavy backlog was done when the last light request
finished, and the replica's peak RSS (``VmHWM``). The run stops once the
light users are done; the rest of the backlog is left unread.

Runs: ``key`` and ``partition`` ordering with no backlog and with 20,000;
``key`` with 100,000 for memory (see `run_noisy_neighbour` for repetitions).
Targets: light p99 with the 20,000 backlog at most 1.5x without, in ``key``
ordering; peak RSS with 100,000 at most 1.3x with none.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.harness import Settings, median, processor_env
from bench.processor import percentile
from bench.rss import PeakRss
from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.mongo import create_mongo_client
from lanes_common.states import TERMINAL_RANK
from lanes_common.types import MongoDocument
from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import free_port
from lanes_devstack.services import RunningService, start_service
from lanes_devstack.waiting import ConditionTimeoutError, eventually

logger = logging.getLogger("bench.noisy_neighbour")

HEAVY_USER = "heavy-user"
PRODUCE_BATCH = 5_000
P99_TARGET = 1.5
PARTITION_DEADLINE = 600.0
"""Seconds the light users may wait behind the heavy backlog in ``partition`` ordering;
the ones still waiting then count with this wait (a lower bound)."""
RSS_TARGET = 1.3


@dataclass(frozen=True)
class NoisyRun:
    """One run's figures."""

    ordering: str
    backlog: int
    light_requests: int
    light_p50_ms: float
    light_p95_ms: float
    light_p99_ms: float
    light_max_ms: float
    heavy_done_when_lights_done: int
    peak_rss_mib: float
    warm_peak_rss_mib: float
    """Peak RSS after the warm-up (the light users once, no backlog)."""
    unfinished: int = 0
    """Light requests not done at the deadline: their latency counts as the deadline
    (a lower bound), so the percentiles are lower bounds too."""


def _echo(user: str, payload: dict[str, int]) -> RequestMessage:
    return RequestMessage(
        id=new_request_id(), user_id=user, type="echo", payload=payload, enqueued_at=utc_now()
    )


def _peak_mib(replica: RunningService) -> float:
    pid = replica.process.pid
    assert pid is not None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc status")


class NoisyRunner:
    """One replica on its own topic and database, and the producer and reader around it."""

    def __init__(self, infra: LocalInfra, ordering: str, log_dir: Path) -> None:
        self.infra = infra
        self.ordering = ordering
        self.log_dir = log_dir
        self.base = f"bench-noisy-{ordering}-{uuid.uuid4().hex[:8]}"
        self.topic = f"{self.base}.requests"

    async def run(
        self, backlog: int, light_users: int, light_per_user: int, deadline: float = 1800
    ) -> NoisyRun:
        """Warm up, produce the backlog and the light requests; measure the light ones."""
        self.infra.create_topics([self.topic, f"{self.base}.requests.dlq"], 1)
        port = free_port()
        env = {
            **processor_env(self.infra, self.base, port),
            "LANES_PROCESSOR_ORDERING": self.ordering,
        }
        name = f"processor-noisy-{self.ordering}-{backlog}"
        replica = await asyncio.to_thread(start_service, "processor", port, env, self.log_dir, name)
        mongo = create_mongo_client(self.infra.mongo_uri)
        self._collection = mongo[self.base][REQUESTS_COLLECTION]
        self._producer = AsyncProducer(
            producer_config(self.infra.kafka_bootstrap_servers, "lanes-bench")
        )
        try:
            warm = [_echo(f"light-{u:03d}", {"warm": 1}) for u in range(light_users)]
            await self._produce(warm)
            await self._wait_terminal(warm)
            warm_peak = _peak_mib(replica)
            heavy = [_echo(HEAVY_USER, {"n": n}) for n in range(backlog)]
            for start in range(0, backlog, PRODUCE_BATCH):
                await self._produce(heavy[start : start + PRODUCE_BATCH])
            del heavy
            lights = [
                _echo(f"light-{u:03d}", {"n": n})
                for n in range(light_per_user)
                for u in range(light_users)
            ]
            await self._produce(lights)
            logger.info(
                "noisy %s: %d backlog and %d light requests enqueued",
                self.ordering,
                backlog,
                len(lights),
            )
            docs = await self._wait_terminal(lights, deadline, censor=True)
            peak = _peak_mib(replica)
            now = utc_now()
            ends = {
                m.id: docs[m.id]["finished_at"]
                if m.id in docs and docs[m.id]["state_rank"] == TERMINAL_RANK
                else now
                for m in lights
            }
            latencies = [(ends[m.id] - m.enqueued_at).total_seconds() * 1000 for m in lights]
            last = max(ends.values())
            heavy_done = await self._collection.count_documents(
                {"user_id": HEAVY_USER, "finished_at": {"$lte": last}}
            )
            return NoisyRun(
                ordering=self.ordering,
                backlog=backlog,
                light_requests=len(lights),
                light_p50_ms=round(percentile(latencies, 50), 1),
                light_p95_ms=round(percentile(latencies, 95), 1),
                light_p99_ms=round(percentile(latencies, 99), 1),
                light_max_ms=round(max(latencies), 1),
                heavy_done_when_lights_done=heavy_done,
                peak_rss_mib=peak,
                warm_peak_rss_mib=warm_peak,
                unfinished=sum(1 for m in lights if ends[m.id] == now),
            )
        finally:
            await self._producer.close()
            await mongo.close()
            await asyncio.to_thread(replica.stop)

    async def _produce(self, messages: list[RequestMessage]) -> None:
        await asyncio.gather(
            *(
                self._producer.produce(self.topic, m.encode(), m.key(), m.headers())
                for m in messages
            )
        )

    async def _wait_terminal(
        self, messages: list[RequestMessage], deadline: float = 1800, censor: bool = False
    ) -> dict[str, MongoDocument]:
        """The documents once all are terminal; at the deadline, as they are (``censor``)."""
        ids = [m.id for m in messages]
        fields = {"state_rank": 1, "state": 1, "finished_at": 1}

        async def all_terminal() -> dict[str, MongoDocument] | None:
            docs = {d["_id"]: d async for d in self._collection.find({"_id": {"$in": ids}}, fields)}
            done = sum(1 for d in docs.values() if d["state_rank"] == TERMINAL_RANK)
            return docs if done == len(ids) else None

        try:
            docs = await eventually(all_terminal, deadline, f"{len(ids)} light requests done", 0.5)
        except ConditionTimeoutError:
            if not censor:
                raise
            logger.warning("light requests not all done within %.0f s: censored", deadline)
            return {d["_id"]: d async for d in self._collection.find({"_id": {"$in": ids}}, fields)}
        assert docs is not None  # eventually returns only a truthy value
        failed = [i for i in ids if docs[i]["state"] != "succeeded"]  # censored runs return above
        if failed:
            raise RuntimeError(f"{len(failed)} light requests did not succeed")
        return docs


def _summary(runs: list[NoisyRun]) -> dict[str, Any]:
    """Medians of one configuration's repetitions (peak RSS: the highest)."""
    first = runs[0]
    return {
        "ordering": first.ordering,
        "backlog": first.backlog,
        "repetitions": len(runs),
        "light_p50_ms": median([r.light_p50_ms for r in runs]),
        "light_p95_ms": median([r.light_p95_ms for r in runs]),
        "light_p99_ms": median([r.light_p99_ms for r in runs]),
        "heavy_done_when_lights_done": int(median([r.heavy_done_when_lights_done for r in runs])),
        "unfinished": max(r.unfinished for r in runs),
        "peak_rss_mib": max(r.peak_rss_mib for r in runs),
    }


async def run_noisy_neighbour(
    infra: LocalInfra, settings: Settings, log_dir: Path, rss: PeakRss
) -> dict[str, Any]:
    """Every run of the phase, and the two target ratios.

    A first run warms the servers' JITs and is not counted. The short runs
    repeat (alternating, medians); ``partition`` ordering with the heavy
    backlog drains it one request at a time before the light users, and the
    100,000 backlog is a memory run: those two run once.
    """
    heavy = 2_000 if settings.quick else 20_000
    big = 10_000 if settings.quick else 100_000
    light_users, light_per_user = 100, 2
    repeated = [("key", 0), ("key", heavy), ("partition", 0)]
    plan = (
        [("key", 0)] + repeated * settings.noisy_repetitions + [("partition", heavy), ("key", big)]
    )
    by: dict[tuple[str, int], list[NoisyRun]] = {}
    for n, (ordering, backlog) in enumerate(plan):
        rss.phase = f"noisy {ordering} {backlog}"
        # Partition ordering drains the whole backlog first: its wait is cut off.
        deadline = PARTITION_DEADLINE if (ordering, backlog) == ("partition", heavy) else 1800
        result = await NoisyRunner(infra, ordering, log_dir).run(
            backlog, light_users, light_per_user, deadline
        )
        logger.info("noisy neighbour%s: %s", " (warm-up, not counted)" if n == 0 else "", result)
        if n > 0:
            by.setdefault((ordering, backlog), []).append(result)
    rows = {k: _summary(v) for k, v in by.items()}

    def p99(ordering: str, backlog: int) -> float:
        return float(rows[ordering, backlog]["light_p99_ms"])

    return {
        "heavy": heavy,
        "big_backlog": big,
        "light_users": light_users,
        "light_per_user": light_per_user,
        "rows": list(rows.values()),
        "runs": [asdict(r) for runs in by.values() for r in runs],
        "p99_ratio_key": round(p99("key", heavy) / p99("key", 0), 2),
        "p99_ratio_partition": round(p99("partition", heavy) / p99("partition", 0), 2),
        "rss_ratio_big": round(
            rows["key", big]["peak_rss_mib"] / rows["key", 0]["peak_rss_mib"], 2
        ),
    }
