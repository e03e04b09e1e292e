"""The real Kafka broker (KRaft, one combined node) and a MongoDB-wire server, on loopback."""

from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from lanes_common.kafka import kafka_is_ready
from lanes_devstack.errors import DevstackError
from lanes_devstack.process import ManagedProcess, require_free_port
from lanes_devstack.provision import ensure_kafka, ensure_mongo_server, mongo_server_classpath

KAFKA_HEAP = "-Xmx768m"
# Left alone, the JVM takes a quarter of the machine's memory for the heap and
# the server's RSS passed 3 GB in the store benchmark; 256 MB holds 100k
# request documents at the same speed.
MONGO_SERVER_HEAP = "-Xmx256m"
MONGO_SERVER_MAIN = "dev.lanes.mongoserver.MongoWireServer"


def _kafka_properties(port: int, controller_port: int, data_dir: Path) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir / 'logs'}",
            # One node: every internal topic has one replica.
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # Topics are created explicitly, with the partition count Lanes asks for.
            "auto.create.topics.enable=false",
            # No point waiting for more members of a group on a dev box.
            "group.initial.rebalance.delay.ms=0",
            "group.consumer.min.session.timeout.ms=6000",
            # KIP-848 moves a partition only after heartbeats of both members, every
            # 5 s by default: a 1 s interval makes a dev rebalance take ~2 s, not ~10.
            "group.consumer.min.heartbeat.interval.ms=1000",
            "group.consumer.heartbeat.interval.ms=1000",
            "group.consumer.session.timeout.ms=10000",
            "",
        ]
    )


def new_cluster_id() -> str:
    """A fresh KRaft cluster id (URL-safe base64 of 16 random bytes)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


class KafkaServer:
    """An Apache Kafka 4.x broker in KRaft mode, run from its Maven Central jars."""

    heap = KAFKA_HEAP

    def __init__(self, port: int, controller_port: int, data_dir: Path) -> None:
        self.port = port
        self.controller_port = controller_port
        self.data_dir = data_dir
        self.bootstrap_servers = f"127.0.0.1:{port}"
        self.process: ManagedProcess | None = None

    def start(self, timeout: float = 90.0) -> None:
        """Format storage on first use, start the broker and wait until it answers metadata."""
        require_free_port(self.port, "Kafka", "LANES_DEV_KAFKA_PORT")
        require_free_port(self.controller_port, "the Kafka controller", "LANES_DEV_KAFKA_PORT")
        java = shutil.which("java")
        if java is None:
            raise DevstackError("'java' was not found on PATH. Install a Java 17+ runtime.")
        classpath = f"{ensure_kafka()}/*"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "server.properties"
        config.write_text(self.properties())
        if not (self.data_dir / "logs" / "meta.properties").exists():
            self._format_storage(java, classpath, config)
        self.process = ManagedProcess(
            "kafka",
            [java, self.heap, "-XX:+UseSerialGC", "-cp", classpath, "kafka.Kafka", str(config)],
            self.data_dir / "kafka.log",
        )
        self.process.start()
        self.process.wait_until(
            lambda: kafka_is_ready(self.bootstrap_servers, timeout=1.0),
            timeout,
            "answering metadata",
        )

    def properties(self) -> str:
        """The broker's ``server.properties``: one combined broker and controller."""
        return _kafka_properties(self.port, self.controller_port, self.data_dir)

    def format_options(self) -> list[str]:
        """How ``StorageTool format`` starts fresh storage: a controller quorum of one."""
        # One argument: a URL-safe base64 id may start with "-".
        return ["--standalone", f"--cluster-id={new_cluster_id()}"]

    def _format_storage(self, java: str, classpath: str, config: Path) -> None:
        result = subprocess.run(
            [
                java,
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                *self.format_options(),
                "-c",
                str(config),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise DevstackError(f"Formatting Kafka storage failed:\n{result.stdout}{result.stderr}")

    def stop(self) -> None:
        """Shut the broker down cleanly."""
        if self.process is not None:
            self.process.stop(timeout=30)


def mongo_answers_ping(uri: str) -> bool:
    """True when the server at ``uri`` answers ``ping``."""
    client: MongoClient[dict[str, object]] = MongoClient(uri, serverSelectionTimeoutMS=500)
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return True


class MongoWireServer:
    """mongo-java-server with its H2 file backend: the MongoDB wire protocol on loopback.

    Run by the launcher in ``infra/mongo-server``, which reports MongoDB 4.4 to
    clients and commits every write to the data file before acknowledging it.
    """

    def __init__(self, port: int, data_dir: Path, commit_per_write: bool = True) -> None:
        self.port = port
        self.data_dir = data_dir
        self.data_file = data_dir / "lanes.mv.db"
        # False leaves H2's ~1 s commit timer alone: only to measure what durability costs.
        self.commit_per_write = commit_per_write
        self.uri = f"mongodb://127.0.0.1:{port}/"
        self.process: ManagedProcess | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start the server on its data file and wait until it answers ``ping``."""
        require_free_port(self.port, "the MongoDB-wire server", "LANES_DEV_MONGO_PORT")
        java = shutil.which("java")
        if java is None:
            raise DevstackError("'java' was not found on PATH. Install a Java 17+ runtime.")
        ensure_mongo_server()
        classpath = mongo_server_classpath()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            "mongo-wire-server",
            [
                java,
                MONGO_SERVER_HEAP,
                "-XX:+UseSerialGC",
                "-cp",
                classpath,
                MONGO_SERVER_MAIN,
                str(self.port),
                str(self.data_file),
                *([] if self.commit_per_write else ["--no-commit-per-write"]),
            ],
            self.data_dir / "mongo-server.log",
        )
        self.process.start()
        self.process.wait_until(lambda: mongo_answers_ping(self.uri), timeout, "answering ping")

    def kill(self) -> None:
        """SIGKILL the server: no clean shutdown, for proofs that acknowledged writes survive."""
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        """Stop the server cleanly (SIGTERM closes the data file)."""
        if self.process is not None:
            self.process.stop()
