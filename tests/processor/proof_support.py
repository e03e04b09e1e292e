"""What the processor proofs share: real replicas, a producer, and readers of the outcome.

The proofs skip the gateway: requests go straight to Kafka keyed by user id,
as the gateway would send them, and every assertion reads what the processor
recorded (status documents in the test's own database, the consumer group's
committed offsets, the dead-letter topic). Each proof gets its own topics,
database and consumer group, so nothing leaks between tests.

The embedded MongoDB-wire server serves only ``_id`` lookups from an index;
anything else scans the collection. The readers here therefore fetch a test's whole (small)
collection in one query, no more often than once a second (less often when a
read is slow).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.mongo import create_mongo_client
from lanes_common.states import TERMINAL_RANK
from lanes_common.types import MongoDocument
from lanes_devstack.errors import DevstackError
from lanes_devstack.infra_modes import IntegrationInfra
from lanes_devstack.process import free_port
from lanes_devstack.services import RunningService, start_service
from lanes_devstack.waiting import ConditionTimeoutError, eventually

POLL_SECONDS = 1.0
"""How often a proof reads its statuses: each read is a full scan on the embedded server."""

STATUS_FIELDS = {
    "state": 1,
    "state_rank": 1,
    "attempts": 1,
    "partition": 1,
    "offset": 1,
    "enqueued_at": 1,
    "started_at": 1,
    "finished_at": 1,
    "error": 1,
    "user_id": 1,
}


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


def request(
    user: str, type_: str, payload: Any = None, request_id: str | None = None
) -> RequestMessage:
    """A request message as the gateway would produce it."""
    return RequestMessage(
        id=request_id or new_request_id(),
        user_id=user,
        type=type_,
        payload=payload,
        enqueued_at=utc_now(),
    )


def interleaved_sleeps(
    rng: random.Random, users: int, requests: int, max_ms: int = 4
) -> list[RequestMessage]:
    """``sleep`` requests of 1 to ``max_ms`` ms, an equal share per user, shuffled together.

    Payloads carry each request's number within its user's queue, so a
    failure message can say which one ran out of turn.
    """
    names = [f"user-{rng.getrandbits(32):08x}-{n:03d}" for n in range(users)]
    sequence = [names[n % users] for n in range(requests)]
    rng.shuffle(sequence)
    sent: defaultdict[str, int] = defaultdict(int)
    messages = []
    for user in sequence:
        messages.append(request(user, "sleep", {"ms": rng.randint(1, max_ms), "n": sent[user]}))
        sent[user] += 1
    return messages


@dataclass(frozen=True)
class Produced:
    """A request Kafka acknowledged, and where it stored it."""

    message: RequestMessage
    partition: int
    offset: int

    @property
    def id(self) -> str:
        """The request id."""
        return self.message.id

    @property
    def user(self) -> str:
        """The user id (the record key)."""
        return self.message.user_id


class RequestProducer:
    """Produces requests keyed by user id and returns them once Kafka acknowledged each."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self._producer = AsyncProducer(producer_config(bootstrap_servers, "lanes-proof"))
        self._topic = topic

    async def __aenter__(self) -> RequestProducer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._producer.close()

    async def produce(self, messages: Sequence[RequestMessage]) -> list[Produced]:
        """Produce ``messages`` in list order; one user's records keep that order in Kafka.

        Each ``produce`` call is handed to librdkafka in list order (the
        tasks start in order and call it before their first await), and the
        idempotent producer keeps a partition's records in call order.
        """
        records = await asyncio.gather(
            *(
                self._producer.produce(self._topic, m.encode(), m.key(), m.headers())
                for m in messages
            )
        )
        produced = [
            Produced(m, _partition(r), _offset(r)) for m, r in zip(messages, records, strict=True)
        ]
        _check_offsets_follow_production_order(produced)
        return produced

    async def produce_in_batches(
        self, messages: Sequence[RequestMessage], batch: int = 2_000
    ) -> list[Produced]:
        """`produce`, a batch at a time: a large burst without a future per record at once."""
        produced: list[Produced] = []
        for start in range(0, len(messages), batch):
            produced += await self.produce(messages[start : start + batch])
        _check_offsets_follow_production_order(produced)
        return produced

    async def produce_raw(self, value: bytes, key: bytes) -> None:
        """Produce bytes that are not a request message (what a foreign producer might send)."""
        await self._producer.produce(self._topic, value, key)


def _partition(record: Message) -> int:
    partition = record.partition()
    assert partition is not None
    return partition


def _offset(record: Message) -> int:
    offset = record.offset()
    assert offset is not None and offset >= 0
    return offset


def _check_offsets_follow_production_order(produced: Sequence[Produced]) -> None:
    last: dict[str, int] = {}
    for p in produced:
        assert p.offset > last.get(p.user, -1), f"{p.user}: Kafka did not keep production order"
        last[p.user] = p.offset


def by_user_in_offset_order(produced: Iterable[Produced]) -> dict[str, list[Produced]]:
    """Each user's requests in Kafka order (one user's records share one partition)."""
    users: defaultdict[str, list[Produced]] = defaultdict(list)
    for p in produced:
        users[p.user].append(p)
    for requests in users.values():
        assert len({p.partition for p in requests}) == 1, "one user's records span partitions"
        requests.sort(key=lambda p: p.offset)
    return dict(users)


class StatusReader:
    """Reads the status documents of one proof's database."""

    def __init__(self, mongo_uri: str, database: str) -> None:
        self._client = create_mongo_client(mongo_uri)
        self._collection = self._client[database][REQUESTS_COLLECTION]

    async def __aenter__(self) -> StatusReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._client.close()

    async def all(self) -> dict[str, MongoDocument]:
        """Every status document of the proof, by request id (one query: one scan)."""
        return {doc["_id"]: doc async for doc in self._collection.find({}, STATUS_FIELDS)}

    async def some(self, ids: Iterable[str]) -> dict[str, MongoDocument]:
        """The status documents of ``ids`` (one ``$in`` query on ``_id``)."""
        query = {"_id": {"$in": list(ids)}}
        return {doc["_id"]: doc async for doc in self._collection.find(query, STATUS_FIELDS)}

    async def count(self, query: MongoDocument) -> int:
        """How many status documents match ``query``."""
        return await self._collection.count_documents(query)

    async def wait_count(
        self, query: MongoDocument, count: int, within: float, stalled_after: float = 120.0
    ) -> None:
        """Poll until ``count`` documents match ``query``; fail at the deadline or on a stall."""
        progress = {"seen": -1, "at": time.monotonic()}

        async def reached() -> bool:
            seen = await self.count(query)
            if seen != progress["seen"]:
                progress["seen"], progress["at"] = seen, time.monotonic()
            elif time.monotonic() - progress["at"] > stalled_after:
                raise ConditionTimeoutError(
                    f"{seen} of {count} match {query}; none more for {stalled_after:.0f}s"
                )
            return seen >= count

        await eventually(reached, within, f"{count} documents match {query}", interval=POLL_SECONDS)

    async def one(self, request_id: str) -> MongoDocument | None:
        """One status document (an ``_id`` lookup, cheap on any server)."""
        return await self._collection.find_one({"_id": request_id})

    async def insert(self, document: MongoDocument) -> None:
        """Write a status document directly (as the gateway would)."""
        await self._collection.insert_one(document)

    async def wait_terminal(
        self, ids: Iterable[str], within: float, on_read: RankHistory | None = None
    ) -> dict[str, MongoDocument]:
        """Poll until every request in ``ids`` has a terminal status; return all documents."""
        wanted = set(ids)
        progress = Progress(len(wanted))

        async def all_terminal() -> dict[str, MongoDocument] | None:
            docs = await self.all()
            if on_read is not None:
                on_read.observe(docs)
            progress.seen(docs, wanted)
            return docs if progress.done == len(wanted) else None

        try:
            docs = await eventually(all_terminal, within, "all terminal", interval=POLL_SECONDS)
        except ConditionTimeoutError as exc:
            raise ConditionTimeoutError(f"{exc}; {progress}") from None
        assert docs is not None  # eventually returns only a truthy value
        return docs


@dataclass
class Progress:
    """How far a set of requests got, for a timeout's message."""

    wanted: int
    done: int = 0
    states: dict[str, int] = field(default_factory=dict)

    def seen(self, docs: Mapping[str, MongoDocument], wanted: set[str]) -> None:
        """Count the states of the wanted requests in one read."""
        states: defaultdict[str, int] = defaultdict(int)
        for i in wanted:
            states[docs[i]["state"] if i in docs else "(no document)"] += 1
        self.states = dict(states)
        self.done = terminal_count(docs, wanted)

    def __str__(self) -> str:
        return f"{self.done} of {self.wanted} terminal; states {self.states}"


def terminal_count(docs: Mapping[str, MongoDocument], ids: Iterable[str]) -> int:
    """How many of ``ids`` have a terminal status in ``docs``."""
    return sum(1 for i in ids if docs.get(i, {}).get("state_rank") == TERMINAL_RANK)


@dataclass
class RankHistory:
    """Every state rank seen for each request across polls: it must never go down."""

    highest: dict[str, int] = field(default_factory=dict)
    regressions: list[str] = field(default_factory=list)
    reads: int = 0
    seen_in_progress: set[str] = field(default_factory=set)

    def observe(self, docs: Mapping[str, MongoDocument]) -> None:
        """Record one read of the statuses."""
        self.reads += 1
        for request_id, doc in docs.items():
            rank = int(doc["state_rank"])
            previous = self.highest.get(request_id)
            if previous is not None and rank < previous:
                self.regressions.append(
                    f"{request_id}: rank {previous} -> {rank} ({doc['state']}) on read {self.reads}"
                )
            if rank < TERMINAL_RANK:
                self.seen_in_progress.add(request_id)
            self.highest[request_id] = max(rank, previous or 0)


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


class StatusWatcher:
    """Reads a proof's statuses in the background for as long as the proof runs.

    Every read feeds a `RankHistory`, so a state that moves backwards between
    two reads is caught, and keeps the latest documents for progress checks.
    Reads are paced so they take at most a third of the server's time: on
    the embedded server each one scans the collection, and a busy machine slows it.
    """

    def __init__(
        self, reader: StatusReader, ids: Iterable[str], history: RankHistory | None = None
    ) -> None:
        """``history``: carry on an earlier watcher's, when a proof pauses its reads."""
        self.reader = reader
        self.ids = set(ids)
        self.history = history or RankHistory()
        self.latest: dict[str, MongoDocument] = {}
        self.progress = Progress(len(self.ids))
        self._last_progress_at = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StatusWatcher:
        self._task = asyncio.create_task(self._watch(), name="status-watcher")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _watch(self) -> None:
        while True:
            began = time.monotonic()
            await self.read()
            # Pacing the reads, not waiting for anything.
            await asyncio.sleep(max(POLL_SECONDS, 2 * (time.monotonic() - began)))

    async def read(self) -> dict[str, MongoDocument]:
        """Read every status now, record it, and return it."""
        docs = await self.reader.all()
        self.history.observe(docs)
        before = self.progress.done
        self.progress.seen(docs, self.ids)
        if self.progress.done != before:
            self._last_progress_at = time.monotonic()
        self.latest = docs
        return docs

    @property
    def done(self) -> int:
        """How many of the watched requests were terminal at the last read."""
        return self.progress.done

    async def wait_done(self, count: int, within: float, stalled_after: float = 120.0) -> None:
        """Wait until at least ``count`` watched requests were seen terminal.

        Fails after ``within`` seconds, or sooner when no request became
        terminal for ``stalled_after`` seconds: a lost request shows as a run
        that stops short, and a slow machine as a run that goes on slowly.
        """
        assert self._task is not None and not self._task.done(), "the watcher stopped"
        self._last_progress_at = time.monotonic()

        async def reached() -> bool:
            if self._task is not None and self._task.done():
                self._task.result()  # the watcher died: raise its error here
            if time.monotonic() - self._last_progress_at > stalled_after:
                raise ConditionTimeoutError(f"no request finished for {stalled_after:.0f}s")
            return self.done >= count

        try:
            await eventually(reached, within, f"{count} requests terminal", interval=0.2)
        except ConditionTimeoutError as exc:
            raise ConditionTimeoutError(f"{exc}; {self.progress}") from None

    async def wait_all_done(
        self, within: float, stalled_after: float = 120.0
    ) -> dict[str, MongoDocument]:
        """Wait until every watched request was seen terminal; return a fresh read."""
        await self.wait_done(len(self.ids), within, stalled_after)
        return await self.read()


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


def committed_offsets(bootstrap_servers: str, group_id: str) -> dict[tuple[str, int], int]:
    """The group's committed offsets, read with the admin API (never joining the group)."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_id)])
    result = futures[group_id].result(timeout=10)
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in result.topic_partitions or []
        if tp.offset >= 0 and tp.error is None
    }


def read_whole_topic(bootstrap_servers: str, topic: str, timeout: float = 30.0) -> list[Message]:
    """Every record of ``topic`` up to its current end (read by assignment, no group commits)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"proof-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends: dict[int, int] = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        records: list[Message] = []
        position = dict.fromkeys(ends, -1)
        deadline = utc_now().timestamp() + timeout
        while any(position[p] < ends[p] - 1 for p in ends):
            assert utc_now().timestamp() < deadline, f"{topic}: read {len(records)} records, stuck"
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            records.append(message)
            position[_partition(message)] = _offset(message)
        return records
    finally:
        consumer.close()


def headers_of(record: Message) -> dict[str, str]:
    """A Kafka record's headers as text."""
    raw = record.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return {
        name: value.decode() if isinstance(value, bytes) else str(value) for name, value in pairs
    }
