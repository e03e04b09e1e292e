"""Head-of-line benchmark: one slow user among many fast ones, in both ordering modes.

One partition carries a slow user's requests (``sleep`` 300 ms each) with the
fast users' requests (``sleep`` 5 ms) enqueued evenly between them, all in one
burst. The same workload runs twice on one processor replica: with
``LANES_PROCESSOR_ORDERING=key`` (each user a lane of its own) and with
``partition`` (the partition is one lane). Reported per mode: the fast users'
end-to-end latency (``finished_at - enqueued_at``, from the status documents)
at p50/p95/p99, when the slow user finished, and the throughput over the run.

    make bench-processor            # or: uv run python -m bench.processor --help

It starts its own Kafka and MongoDB-wire server (``LocalInfra`` on free ports in a
temporary folder) and stops everything when done. Results go to
``bench/results/<UTC timestamp>/processor.{json,md}`` with the replica logs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import local_infra, processor_env
from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.logs import configure_logging
from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.mongo import create_mongo_client
from lanes_common.states import TERMINAL_RANK
from lanes_common.types import MongoDocument
from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import free_port
from lanes_devstack.services import start_service
from lanes_devstack.waiting import eventually

logger = logging.getLogger("bench.processor")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ORDERINGS = ("key", "partition")
SLOW_USER = "slow-user"
POLL_SECONDS = 1.0
"""Status reads scan the collection on the embedded server: read no more often than this."""


@dataclass(frozen=True)
class Workload:
    """The shape of the experiment: the same for both ordering modes."""

    slow_requests: int = 20
    slow_ms: int = 300
    fast_users: int = 100
    fast_per_user: int = 5
    fast_ms: int = 5
    partitions: int = 1
    seed: int = 7

    @property
    def size(self) -> int:
        """Requests in one run."""
        return self.slow_requests + self.fast_users * self.fast_per_user

    def messages(self) -> list[RequestMessage]:
        """A fresh burst (new ids, enqueued now): each slow request, then a share of fast ones."""
        rng = random.Random(self.seed)  # noqa: S311  (a workload's shape, not a secret)
        users = [f"fast-{n:03d}" for n in range(self.fast_users)]
        # Round by round, so each fast user's requests are spread over the whole run.
        fast = []
        for n in range(self.fast_per_user):
            for user in rng.sample(users, len(users)):
                fast.append(_request(user, {"ms": self.fast_ms, "n": n}))
        share = math.ceil(len(fast) / self.slow_requests)
        burst = []
        for k in range(self.slow_requests):
            burst.append(_request(SLOW_USER, {"ms": self.slow_ms, "n": k}))
            burst += fast[k * share : (k + 1) * share]
        return burst


def _request(user: str, payload: dict[str, int]) -> RequestMessage:
    return RequestMessage(
        id=new_request_id(), user_id=user, type="sleep", payload=payload, enqueued_at=utc_now()
    )


@dataclass(frozen=True)
class ModeResult:
    """What one ordering mode measured."""

    ordering: str
    requests: int
    fast_p50_ms: float
    fast_p95_ms: float
    fast_p99_ms: float
    fast_max_ms: float
    slow_done_s: float
    """From the burst to the slow user's last request finishing."""
    makespan_s: float
    """From the first enqueue to the last request finishing."""
    throughput_rps: float


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def measure(
    ordering: str, burst: Sequence[RequestMessage], docs: dict[str, MongoDocument]
) -> ModeResult:
    """Latencies and throughput from the recorded timestamps."""
    start = min(m.enqueued_at for m in burst)
    end = max(docs[m.id]["finished_at"] for m in burst)
    fast_ms = [
        (docs[m.id]["finished_at"] - m.enqueued_at).total_seconds() * 1000
        for m in burst
        if m.user_id != SLOW_USER
    ]
    slow_done = max(docs[m.id]["finished_at"] for m in burst if m.user_id == SLOW_USER)
    makespan = (end - start).total_seconds()
    return ModeResult(
        ordering=ordering,
        requests=len(burst),
        fast_p50_ms=round(percentile(fast_ms, 50), 1),
        fast_p95_ms=round(percentile(fast_ms, 95), 1),
        fast_p99_ms=round(percentile(fast_ms, 99), 1),
        fast_max_ms=round(max(fast_ms), 1),
        slow_done_s=round((slow_done - start).total_seconds(), 2),
        makespan_s=round(makespan, 2),
        throughput_rps=round(len(burst) / makespan, 1),
    )


async def run_mode(
    infra: LocalInfra, workload: Workload, ordering: str, log_dir: Path
) -> ModeResult:
    """One replica with ``ordering``, on its own topic and database; the burst; its statuses."""
    base = f"bench-{ordering}-{uuid.uuid4().hex[:8]}"
    topic, dead_letters = f"{base}.requests", f"{base}.requests.dlq"
    infra.create_topics([topic, dead_letters], workload.partitions)
    port = free_port()
    env = {**processor_env(infra, base, port), "LANES_PROCESSOR_ORDERING": ordering}
    replica = await asyncio.to_thread(
        start_service, "processor", port, env, log_dir, f"processor-{ordering}"
    )
    mongo = create_mongo_client(infra.mongo_uri)
    producer = AsyncProducer(producer_config(infra.kafka_bootstrap_servers, "lanes-bench"))
    try:
        burst = workload.messages()
        await asyncio.gather(*(producer.produce(topic, m.encode(), m.key()) for m in burst))
        logger.info("%s ordering: %d requests enqueued; waiting for them", ordering, len(burst))
        collection = mongo[base][REQUESTS_COLLECTION]
        fields = {"state_rank": 1, "state": 1, "finished_at": 1}

        async def all_terminal() -> dict[str, MongoDocument] | None:
            docs = {d["_id"]: d async for d in collection.find({}, fields)}
            done = sum(1 for d in docs.values() if d["state_rank"] == TERMINAL_RANK)
            return docs if done == len(burst) else None

        finished = await eventually(all_terminal, 900, f"{ordering} run finished", POLL_SECONDS)
        assert finished is not None  # eventually returns only a truthy value
        docs = finished
        failed = [m.id for m in burst if docs[m.id]["state"] != "succeeded"]
        if failed:
            raise RuntimeError(f"{len(failed)} requests did not succeed, e.g. {failed[0]}")
        return measure(ordering, burst, docs)
    finally:
        await producer.close()
        await mongo.close()
        await asyncio.to_thread(replica.stop)


def render_markdown(results: Sequence[ModeResult], workload: Workload) -> str:
    """The results as a Markdown table with the workload underneath."""
    lines = [
        "| ordering | fast p50 (ms) | fast p95 (ms) | fast p99 (ms) | fast max (ms) "
        "| slow user done (s) | makespan (s) | throughput (req/s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.ordering} | {r.fast_p50_ms:.0f} | {r.fast_p95_ms:.0f} | {r.fast_p99_ms:.0f} "
            f"| {r.fast_max_ms:.0f} | {r.slow_done_s:.1f} | {r.makespan_s:.1f} "
            f"| {r.throughput_rps:.1f} |"
        )
    lines += [
        "",
        f"Workload: one burst on {workload.partitions} partition(s), one processor replica: "
        f"{workload.slow_requests} slow requests of {workload.slow_ms} ms from one user, "
        f"{workload.fast_users} fast users x {workload.fast_per_user} requests of "
        f"{workload.fast_ms} ms, interleaved ({workload.size} requests).",
    ]
    return "\n".join(lines) + "\n"


def write_results(
    results: Sequence[ModeResult],
    workload: Workload,
    out_dir: Path,
    started: datetime,
    load_at_start: float,
) -> None:
    """``processor.json`` (machine-readable) and ``processor.md`` (the table)."""
    report = {
        "benchmark": "processor head-of-line",
        "started_at": started.isoformat(),
        # Other work on the machine slows the store, and so every figure here.
        "machine": {"cpus": os.cpu_count(), "load_average_1m_at_start": round(load_at_start, 2)},
        "workload": asdict(workload),
        "results": [asdict(r) for r in results],
    }
    (out_dir / "processor.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "processor.md").write_text(
        f"# Processor head-of-line benchmark, {started:%Y-%m-%d %H:%M} UTC\n\n"
        + render_markdown(results, workload)
    )


async def run_benchmark(workload: Workload) -> Path:
    """Start the servers, run both modes, write the results; returns their folder."""
    started = datetime.now(UTC)
    load_at_start = os.getloadavg()[0]
    out_dir = RESULTS_DIR / started.strftime("%Y%m%dT%H%M%SZ")
    (out_dir / "logs").mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="lanes-bench-") as scratch:
        infra = local_infra(Path(scratch))
        logger.info("starting Kafka and the MongoDB-wire server in %s", scratch)
        await asyncio.to_thread(infra.start)
        try:
            results = [
                await run_mode(infra, workload, ordering, out_dir / "logs")
                for ordering in ORDERINGS
            ]
        finally:
            await asyncio.to_thread(infra.stop)
    write_results(results, workload, out_dir, started, load_at_start)
    sys.stdout.write(render_markdown(results, workload))
    sys.stdout.write(f"\nResults: {out_dir}\n")
    return out_dir


def parse_workload(argv: Sequence[str] | None) -> Workload:
    """The workload from the command line (defaults: `Workload`'s)."""
    defaults = Workload()
    parser = argparse.ArgumentParser(
        prog="python -m bench.processor", description=__doc__.split("\n\n")[0]
    )
    for name, value in asdict(defaults).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=value)
    return Workload(**vars(parser.parse_args(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.processor``."""
    configure_logging("bench", "INFO", "text")
    workload = parse_workload(argv)
    asyncio.run(run_benchmark(workload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
