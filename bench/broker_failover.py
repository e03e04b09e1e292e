"""Broker failover: enqueues through a leader election, next to the same run without one.

A three-broker cluster (replication factor 3, ``min.insync.replicas=2``)
beside the run's MongoDB-wire server; auth, the gateway (default 30 s
enqueue timeout) and one processor on it. `CLIENTS` users each enqueue one
request after another for the whole run (a closed loop, as real clients
behave). In the failover run the broker leading the most partitions is
``kill -9``'d `KILL_AFTER_SECONDS` into the run; the baseline run is the same
without the kill. Both are measured over the same window, from the kill's
moment to `WINDOW_SECONDS` after it: accept rate and p99 latency of the
``202``s. The failover run also gives the time from the kill to the first
``202`` of a request sent after it (on any partition, and on a partition
the dead broker led), and how long until the metadata named new leaders.
The broker is restarted and the cluster back in sync before the next run.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.harness import Settings, median, register_and_login
from bench.rss import PeakRss
from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.kafka import ensure_topics
from lanes_common.mongo import create_mongo_client
from lanes_devstack.infra import LocalInfra
from lanes_devstack.kafka_cluster import REPLICATED, KafkaCluster
from lanes_devstack.kafka_topology import (
    busiest_leader,
    partition_states,
    wait_for_leaders_among,
)
from lanes_devstack.process import free_port
from lanes_devstack.stack import LanesStack, StackConfig
from lanes_devstack.waiting import wait_until

logger = logging.getLogger("bench.broker_failover")

CLIENTS = 24
PARTITIONS = 6
KILL_AFTER_SECONDS = 5.0
WINDOW_SECONDS = 20.0
BODY = {"type": "echo", "payload": {"n": 1}}


@dataclass(frozen=True)
class Sent:
    """One enqueue: when it was sent and answered (seconds from the run's start), and how."""

    sent: float
    answered: float
    status: int
    request_id: str | None


async def _client_loop(
    http: httpx.AsyncClient, token: str, started: float, until: float, out: list[Sent]
) -> None:
    headers = {"authorization": f"Bearer {token}"}
    while time.monotonic() < until:
        sent = time.monotonic()
        try:
            response = await http.post("/v1/requests", json=BODY, headers=headers)
            status = response.status_code
            request_id = response.json().get("id") if status == 202 else None
        except httpx.HTTPError:
            status, request_id = 0, None
        out.append(Sent(sent - started, time.monotonic() - started, status, request_id))


def _p99_ms(latencies: list[float]) -> float:
    if not latencies:
        return 0.0
    ordered = sorted(latencies)
    return round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1)


def _window(sent: list[Sent]) -> dict[str, Any]:
    start, end = KILL_AFTER_SECONDS, KILL_AFTER_SECONDS + WINDOW_SECONDS
    inside = [s for s in sent if start <= s.answered < end]
    accepted = [s for s in inside if s.status == 202]
    return {
        "accepted_per_s": round(len(accepted) / WINDOW_SECONDS, 1),
        "p99_ms": _p99_ms([s.answered - s.sent for s in accepted]),
        "max_ms": round(1000 * max((s.answered - s.sent for s in accepted), default=0.0), 1),
        "not_202": sum(1 for s in inside if s.status != 202),
    }


async def _partitions_of(mongo_uri: str, database: str, ids: list[str]) -> dict[str, int]:
    client = create_mongo_client(mongo_uri)
    try:
        collection = client[database][REQUESTS_COLLECTION]
        cursor = collection.find({"_id": {"$in": ids}}, {"partition": 1})
        return {doc["_id"]: int(doc["partition"]) async for doc in cursor}
    finally:
        await client.close()


async def _one_run(
    stack: LanesStack, cluster: KafkaCluster, tokens: list[str], seconds: float, kill: bool
) -> dict[str, Any]:
    assert stack.gateway is not None
    topic = stack.config.requests_topic
    sent: list[Sent] = []
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=60) as http:
        clients = asyncio.gather(
            *(_client_loop(http, t, started, started + seconds, sent) for t in tokens)
        )
        killed: dict[str, Any] = {}
        if kill:
            await asyncio.sleep(KILL_AFTER_SECONDS)  # the run's schedule, not a wait for a state
            victim = busiest_leader(cluster.bootstrap_servers, topic)
            states = partition_states(cluster.bootstrap_servers, topic)
            killed_at = time.monotonic()
            await asyncio.to_thread(cluster.kill, victim)
            await asyncio.to_thread(
                wait_for_leaders_among, cluster.bootstrap_servers, topic, set(cluster.running()), 60
            )
            killed = {
                "broker": victim,
                "moved_partitions": [s.partition for s in states if s.leader == victim],
                "election_s": round(time.monotonic() - killed_at, 2),
                "killed_at": killed_at - started,
            }
        await clients
    result: dict[str, Any] = {"window": _window(sent), "requests": len(sent)}
    if kill:
        ids = [s.request_id for s in sent if s.request_id is not None]
        partitions = await _partitions_of(stack.mongo_uri, stack.config.database, ids)
        moved = set(killed["moved_partitions"])
        # Sent after the kill: a record acknowledged just before it may be answered just after.
        after = [s for s in sent if s.status == 202 and s.sent >= killed["killed_at"]]
        on_moved = [s for s in after if partitions.get(s.request_id or "") in moved]
        first_any = min((s.answered for s in after), default=float("nan"))
        first_moved = min((s.answered for s in on_moved), default=float("nan"))
        result |= {
            **killed,
            "kill_to_first_202_s": round(first_any - killed["killed_at"], 2),
            "kill_to_first_202_moved_s": round(first_moved - killed["killed_at"], 2),
        }
        await asyncio.to_thread(_restore, cluster, killed["broker"], topic)
    return result


def _restore(cluster: KafkaCluster, broker: int, topic: str) -> None:
    cluster.restart(broker)
    wait_until(
        lambda: all(
            len(s.isr) == REPLICATED.replication_factor
            for s in partition_states(cluster.bootstrap_servers, topic)
        ),
        120,
        "every replica back in sync",
    )


async def run_broker_failover(
    infra: LocalInfra, settings: Settings, work_dir: Path, log_dir: Path, rss: PeakRss
) -> dict[str, Any]:
    """Baseline and failover runs, alternating; medians of each figure."""
    rss.phase = "broker_failover"
    base = f"bench-failover-{uuid.uuid4().hex[:8]}"
    cluster = KafkaCluster(
        [free_port() for _ in range(3)], [free_port() for _ in range(3)], work_dir / "cluster"
    )
    await asyncio.to_thread(cluster.start)
    stack = LanesStack(
        StackConfig(
            log_dir=log_dir,
            keys_dir=work_dir / "failover-keys",
            auth_port=free_port(),
            gateway_port=free_port(),
            processor_ports=[free_port()],
            database=base,
            requests_topic=f"{base}.requests",
            dead_letter_topic=f"{base}.requests.dlq",
            partitions=PARTITIONS,
            group_id=f"{base}-processor",
            extra_env={"LANES_MAX_QUEUED_PER_USER": "100000000"},
        ),
        cluster.bootstrap_servers,
        infra.mongo_uri,
    )
    seconds = KILL_AFTER_SECONDS + WINDOW_SECONDS + 5
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "failover": []}
    try:
        await asyncio.to_thread(
            ensure_topics,
            cluster.bootstrap_servers,
            [stack.config.requests_topic, stack.config.dead_letter_topic],
            PARTITIONS,
            REPLICATED.replication_factor,
            REPLICATED.min_insync_replicas,
        )
        await asyncio.to_thread(stack.start)
        assert stack.auth is not None
        tokens = [await register_and_login(stack.auth.url, f"{base}-{n}") for n in range(CLIENTS)]
        for rep in range(settings.repetitions):
            for name in runs:
                run = await _one_run(stack, cluster, tokens, seconds, kill=name == "failover")
                logger.info("broker_failover rep %d %s: %s", rep + 1, name, run)
                runs[name].append(run)
            rss.sample()
    finally:
        await asyncio.to_thread(stack.stop)
        await asyncio.to_thread(cluster.stop)
    return _summary(runs)


def _summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "clients": CLIENTS,
        "partitions": PARTITIONS,
        "window_s": WINDOW_SECONDS,
        "repetitions": len(runs["baseline"]),
    }
    for name, results in runs.items():
        windows = [r["window"] for r in results]
        summary[name] = {
            key: median([w[key] for w in windows])
            for key in ("accepted_per_s", "p99_ms", "max_ms", "not_202")
        }
    failover = runs["failover"]
    for key in ("election_s", "kill_to_first_202_s", "kill_to_first_202_moved_s"):
        summary["failover"][key] = median([r[key] for r in failover])
    summary["runs"] = runs
    return summary
