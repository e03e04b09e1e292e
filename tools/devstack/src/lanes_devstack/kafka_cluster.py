"""Three Kafka brokers on loopback, replicated as operators run them (``LANES_DEV_BROKERS=3``).

Each node is a combined broker and controller (KRaft) with its own ports and
data folder, started from the same Maven jars and with the same properties
as the single `KafkaServer`, except what a cluster changes: node ids, a static
quorum of three voters, and internal topics replicated three times with
``min.insync.replicas=2``. Lanes' own topics get the same durability
(`TopicDurability`): a record is acknowledged once two brokers hold it, so
any one broker may die without losing it.

Combined nodes keep the process count at three on a small machine. The
quorum then needs two of the three: with two nodes down, the survivor has no
controller, cannot shrink its in-sync replica sets, and answers no
``acks=all`` write, which is what a client must see below ``min.insync.replicas``.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lanes_devstack.errors import DevstackError
from lanes_devstack.kafka_topology import cluster_brokers
from lanes_devstack.servers import KafkaServer, new_cluster_id
from lanes_devstack.waiting import wait_until

CLUSTER_HEAP = "-Xmx512m"
"""Three brokers share a small machine with the services: half the single broker's heap."""

PORT_STRIDE = 100
"""``make run`` spacing of the nodes' ports: 9092, 9192, 9292 (controllers 9093, 9193, 9293)."""


@dataclass(frozen=True)
class TopicDurability:
    """How many copies of each partition exist, and how many an ``acks=all`` write needs."""

    replication_factor: int
    min_insync_replicas: int


SINGLE_BROKER = TopicDurability(replication_factor=1, min_insync_replicas=1)
REPLICATED = TopicDurability(replication_factor=3, min_insync_replicas=2)


def durability_for(brokers: int) -> TopicDurability:
    """The topic durability a devstack of ``brokers`` brokers runs with (1 or 3)."""
    if brokers == 1:
        return SINGLE_BROKER
    if brokers == REPLICATED.replication_factor:
        return REPLICATED
    raise DevstackError(f"LANES_DEV_BROKERS must be 1 or 3, not {brokers}")


def _with_overrides(properties: str, overrides: dict[str, str], drop: Sequence[str]) -> str:
    lines = [line for line in properties.splitlines() if line.split("=", 1)[0] not in drop]
    kept = [line for line in lines if line.split("=", 1)[0] not in overrides]
    return "\n".join([*kept, *(f"{key}={value}" for key, value in overrides.items()), ""])


class KafkaNode(KafkaServer):
    """One combined broker and controller of a `KafkaCluster`."""

    heap = CLUSTER_HEAP

    def __init__(
        self,
        node_id: int,
        port: int,
        controller_port: int,
        data_dir: Path,
        voters: str,
        cluster_id: str,
    ) -> None:
        super().__init__(port, controller_port, data_dir)
        self.node_id = node_id
        self.voters = voters
        self.cluster_id = cluster_id

    def properties(self) -> str:
        """The single broker's properties, made a member of a three-node replicated cluster."""
        rf, isr = str(REPLICATED.replication_factor), str(REPLICATED.min_insync_replicas)
        return _with_overrides(
            super().properties(),
            {
                "node.id": str(self.node_id),
                # A static quorum: every node knows all three voters from the start.
                "controller.quorum.voters": self.voters,
                "offsets.topic.replication.factor": rf,
                "transaction.state.log.replication.factor": rf,
                "transaction.state.log.min.isr": isr,
                "share.coordinator.state.topic.replication.factor": rf,
                "share.coordinator.state.topic.min.isr": isr,
                # Also the offsets topic's: a commit is durable once two brokers hold it.
                "min.insync.replicas": isr,
                "default.replication.factor": rf,
                # Never elect a replica that may lack acknowledged records.
                "unclean.leader.election.enable": "false",
            },
            drop=["controller.quorum.bootstrap.servers"],
        )

    def format_options(self) -> list[str]:
        """Static voters need no initial-controller flags; all nodes share one cluster id."""
        return [f"--cluster-id={self.cluster_id}"]

    def kill(self) -> None:
        """``kill -9``: the broker gets no chance to hand over leadership or flush."""
        if self.process is not None:
            self.process.signal(signal.SIGKILL)
            self.process.stop(timeout=10)

    def is_running(self) -> bool:
        """True while the broker process is alive."""
        return self.process is not None and self.process.is_running()


class KafkaCluster:
    """Three `KafkaNode` processes forming one KRaft cluster on loopback."""

    durability = REPLICATED

    def __init__(self, ports: Sequence[int], controller_ports: Sequence[int], data_dir: Path):
        if len(ports) != len(controller_ports) or len(ports) != REPLICATED.replication_factor:
            raise DevstackError(f"a cluster needs {REPLICATED.replication_factor} port pairs")
        voters = ",".join(
            f"{n}@127.0.0.1:{port}" for n, port in enumerate(controller_ports, start=1)
        )
        cluster_id_file = data_dir / "cluster-id"
        data_dir.mkdir(parents=True, exist_ok=True)
        if not cluster_id_file.exists():
            cluster_id_file.write_text(new_cluster_id())
        cluster_id = cluster_id_file.read_text().strip()
        self.nodes = [
            KafkaNode(n, port, controller, data_dir / f"node-{n}", voters, cluster_id)
            for n, (port, controller) in enumerate(zip(ports, controller_ports, strict=True), 1)
        ]
        self.bootstrap_servers = ",".join(node.bootstrap_servers for node in self.nodes)

    @classmethod
    def on_ports(cls, port: int, controller_port: int, data_dir: Path) -> KafkaCluster:
        """Nodes at ``port``, ``port + 100``, ``port + 200`` (controllers likewise)."""
        count = REPLICATED.replication_factor
        return cls(
            [port + PORT_STRIDE * i for i in range(count)],
            [controller_port + PORT_STRIDE * i for i in range(count)],
            data_dir,
        )

    def node(self, node_id: int) -> KafkaNode:
        """The node with this broker id (1, 2 or 3)."""
        return self.nodes[node_id - 1]

    def start(self, timeout: float = 120.0) -> None:
        """Start every node at once (none answers before a quorum forms) and wait for all three."""
        try:
            with ThreadPoolExecutor(len(self.nodes)) as pool:
                for started in [pool.submit(node.start, timeout) for node in self.nodes]:
                    started.result()
            self.wait_for_brokers(len(self.nodes), timeout)
        except BaseException:
            self.stop()
            raise

    def wait_for_brokers(self, count: int, timeout: float = 60.0) -> None:
        """Wait until the cluster's metadata lists ``count`` live brokers."""
        wait_until(
            lambda: len(cluster_brokers(self.bootstrap_servers)) == count,
            timeout,
            f"{count} brokers in the cluster metadata",
        )

    def kill(self, node_id: int) -> None:
        """``kill -9`` one node."""
        self.node(node_id).kill()

    def restart(self, node_id: int, timeout: float = 120.0) -> None:
        """Start a stopped node again on its old data and wait until it answers metadata."""
        node = self.node(node_id)
        if node.is_running():
            raise DevstackError(f"Kafka node {node_id} is still running")
        node.start(timeout)

    def running(self) -> list[int]:
        """Ids of the nodes whose process is alive."""
        return [node.node_id for node in self.nodes if node.is_running()]

    def stop(self) -> None:
        """Stop every node cleanly."""
        for node in self.nodes:
            node.stop()
