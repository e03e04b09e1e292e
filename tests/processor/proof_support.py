"""What the processor proofs run with: their own names, real replicas, and a run of both.

The proofs skip the gateway: requests go straight to Kafka keyed by user id,
as the gateway would send them, and every assertion reads what the processor
recorded (status documents in the test's own database, the consumer group's
committed offsets, the dead-letter topic). Each proof gets its own topics,
database and consumer group, so nothing leaks between tests.

What goes to Kafka and comes back from it is in `proof_kafka`, the status
readers in `proof_status`, and what a correct run looks like in `proof_checks`.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import httpx

from lanes_devstack.errors import DevstackError
from lanes_devstack.infra_modes import IntegrationInfra
from lanes_devstack.process import free_port
from lanes_devstack.services import RunningService, start_service
from tests.processor.proof_kafka import RequestProducer
from tests.processor.proof_status import StatusReader


@dataclass(frozen=True)
class ProofNames:
    """A proof's own topics, database and consumer group."""

    topic: str
    dead_letter_topic: str
    database: str
    group_id: str

    @classmethod
    def fresh(cls, base: str | None = None) -> ProofNames:
        """Names no other test uses (``base``: the test's `unique_name`, when it has one)."""
        base = base or f"t{uuid.uuid4().hex[:12]}"
        return cls(f"{base}.requests", f"{base}.requests.dlq", base, f"{base}-processor")


class ProcessorFleet:
    """Processor replicas (real processes) consuming one proof's topic into its database."""

    def __init__(
        self,
        infra: IntegrationInfra,
        names: ProofNames,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.infra = infra
        self.names = names
        self.log_dir = log_dir
        self.extra_env = dict(env or {})
        self.replicas: list[RunningService] = []
        self._started = 0

    def _env(self, port: int) -> dict[str, str]:
        return {
            "LANES_KAFKA_BOOTSTRAP_SERVERS": self.infra.kafka_bootstrap_servers,
            "LANES_MONGO_URI": self.infra.mongo_uri,
            "LANES_MONGO_DATABASE": self.names.database,
            "LANES_REQUESTS_TOPIC": self.names.topic,
            "LANES_DEAD_LETTER_TOPIC": self.names.dead_letter_topic,
            "LANES_PROCESSOR_GROUP_ID": self.names.group_id,
            "LANES_PROCESSOR_HOST": "127.0.0.1",
            "LANES_PROCESSOR_PORT": str(port),
            "LANES_LOG_FORMAT": "json",
            **self.extra_env,
        }

    def add(self) -> RunningService:
        """Start one more replica and wait until it answers ``/readyz``."""
        port = free_port()
        self._started += 1
        replica = start_service(
            "processor", port, self._env(port), self.log_dir, name=f"processor-{self._started}"
        )
        self.replicas.append(replica)
        return replica

    async def add_in_background(self) -> RunningService:
        """`add` off the event loop, so a proof keeps observing while the replica starts."""
        return await asyncio.to_thread(self.add)

    def kill(self, replica: RunningService) -> None:
        """SIGKILL: the replica gets no chance to drain or commit."""
        self.replicas.remove(replica)
        replica.process.kill()

    async def stop_in_background(self, replica: RunningService) -> int | None:
        """SIGTERM (drain, commit, leave the group) off the event loop; returns the exit code."""
        self.replicas.remove(replica)
        return await asyncio.to_thread(replica.stop)

    def stop_all(self) -> None:
        """SIGTERM every replica still running."""
        while self.replicas:
            self.replicas.pop().stop()

    def log_paths(self) -> str:
        """Where the replicas' logs are, for failure messages."""
        return str(self.log_dir)


@contextmanager
def processor_fleet(
    infra: IntegrationInfra,
    names: ProofNames,
    log_dir: Path,
    *,
    replicas: int = 1,
    partitions: int = 6,
    env: Mapping[str, str] | None = None,
) -> Iterator[ProcessorFleet]:
    """Create the proof's topics, start ``replicas`` processors, and stop them all at the end."""
    infra.create_topics([names.topic, names.dead_letter_topic], partitions)
    fleet = ProcessorFleet(infra, names, log_dir, env)
    try:
        for _ in range(replicas):
            fleet.add()
        yield fleet
    finally:
        fleet.stop_all()


class ProofRun(NamedTuple):
    """What a proof runs with: its names, its replicas, a producer and a status reader."""

    names: ProofNames
    fleet: ProcessorFleet
    producer: RequestProducer
    reader: StatusReader


@asynccontextmanager
async def proof_run(
    infra: IntegrationInfra,
    unique_name: str,
    log_dir: Path,
    *,
    replicas: int = 1,
    partitions: int = 6,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[ProofRun]:
    """`processor_fleet` on the proof's own names, with a producer and a reader on them.

    At the end the producer and reader close, then every replica stops.
    """
    names = ProofNames.fresh(unique_name)
    with processor_fleet(
        infra, names, log_dir, replicas=replicas, partitions=partitions, env=env
    ) as fleet:
        async with (
            StatusReader(infra.mongo_uri, names.database) as reader,
            RequestProducer(infra.kafka_bootstrap_servers, names.topic) as producer,
        ):
            yield ProofRun(names, fleet, producer, reader)


async def replica_metric(
    replica: RunningService, name: str, labels: Mapping[str, str] | None = None
) -> float:
    """The sum of a metric's samples on one replica's ``/metrics`` (0 when it has none).

    ``labels``: count only the samples carrying these label values.
    """
    async with httpx.AsyncClient(timeout=5.0) as http:
        response = await http.get(f"{replica.url}/metrics")
    response.raise_for_status()
    wanted = [f'{key}="{value}"' for key, value in (labels or {}).items()]
    total = 0.0
    for line in response.text.splitlines():
        sample, _, value = line.rpartition(" ")
        series, _, label_text = sample.partition("{")
        if series == name and all(label in label_text for label in wanted):
            total += float(value)
    return total


@dataclass(frozen=True)
class Memory:
    """A process's resident memory now and at its peak (``VmRSS``, ``VmHWM``), in KiB."""

    resident_kib: int
    peak_kib: int


def process_memory(replica: RunningService) -> Memory:
    """Read a replica's resident set from ``/proc`` (the kernel keeps the peak: ``VmHWM``)."""
    pid = replica.process.pid
    assert pid is not None and replica.process.is_running(), f"{replica.name} is not running"
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return Memory(fields["VmRSS"], fields["VmHWM"])


def require_no_listener(port: int, what: str, setting: str) -> None:
    """`require_free_port`, but only a *listening* socket counts as taking the port.

    After a server stops while clients are connected, its side of those
    connections lingers (FIN-WAIT-2, TIME_WAIT) on its port. A plain ``bind``
    counts those and refuses, although the server itself (Go sets
    ``SO_REUSEADDR``) could listen there again at once. ``SO_REUSEADDR`` on the
    probe gives the same answer the server will get.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise DevstackError(f"port {port} for {what} ({setting}) is taken: {exc}") from exc
