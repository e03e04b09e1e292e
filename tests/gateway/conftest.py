"""A real auth and a real gateway process on the session's Kafka and MongoDB-wire server.

The stack is started once for the gateway tests, with its own topic and
database. Each test registers its own users, so tests do not see each
other's requests. The signing key is written into auth's key folder here, so
tests can also mint tokens auth never issued (expired, wrong audience).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from confluent_kafka import Consumer, Message, TopicPartition
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymongo import MongoClient
from pymongo.collection import Collection

from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import free_port
from lanes_devstack.services import RunningService, start_service

ISSUER = "lanes-auth-test"
AUDIENCE = "lanes-test"
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class TestUser:
    """A registered user and a valid access token for them."""

    __test__ = False

    id: str
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header for this user."""
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class GatewayStack:
    """The running services and what tests need to reach past the gateway."""

    gateway: RunningService
    auth: RunningService
    topic: str
    kafka_bootstrap_servers: str
    signing_key: Ed25519PrivateKey
    kid: str
    mongo_uri: str = ""
    database: str = ""
    gateway_env: dict[str, str] = field(default_factory=dict)
    log_dir: Path = Path()

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        return self.gateway.url

    def client(self) -> httpx.Client:
        """An HTTP client for the gateway."""
        return httpx.Client(base_url=self.url, timeout=30.0)

    def new_user(self) -> TestUser:
        """Register a fresh user through the gateway and log them in."""
        username = f"u{uuid.uuid4().hex[:12]}"
        with self.client() as http:
            registered = http.post(
                "/v1/auth/register", json={"username": username, "password": PASSWORD}
            )
            assert registered.status_code == 201, registered.text
            login = http.post("/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert login.status_code == 200, login.text
        return TestUser(registered.json()["id"], username, login.json()["access_token"])

    def claims(self, subject: str, **overrides: Any) -> dict[str, Any]:
        """The claims auth would put in a token; ``overrides`` replace some (None drops one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": subject,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def mint_token(self, subject: str, **overrides: Any) -> str:
        """A token signed with auth's real key; ``overrides`` replace claims (None drops one)."""
        claims = self.claims(subject, **overrides)
        return jwt.encode(claims, self.signing_key, algorithm="EdDSA", headers={"kid": self.kid})

    @contextmanager
    def collection(self, name: str) -> Iterator[Collection[dict[str, Any]]]:
        """A collection of the stack's database, to look past the API (or act as the processor)."""
        client: MongoClient[dict[str, Any]] = MongoClient(self.mongo_uri, tz_aware=True)
        try:
            yield client[self.database][name]
        finally:
            client.close()

    def start_gateway(self, overrides: dict[str, str]) -> RunningService:
        """Another gateway on the same auth, topic and database, with other settings."""
        port = free_port()
        env = {
            **self.gateway_env,
            "LANES_GATEWAY_PORT": str(port),
            **overrides,
        }
        return start_service("gateway", port, env, self.log_dir, name=f"gateway-{port}")

    def records_for_key(self, key: bytes) -> list[Message]:
        """Every record on the topic with this key (a user's requests), read to its end."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.kafka_bootstrap_servers,
                "group.id": f"test-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
            }
        )
        found: list[Message] = []
        try:
            metadata = consumer.list_topics(self.topic, timeout=10.0)
            for partition in metadata.topics[self.topic].partitions:
                _, high = consumer.get_watermark_offsets(
                    TopicPartition(self.topic, partition), timeout=10.0
                )
                if high == 0:
                    continue
                consumer.assign([TopicPartition(self.topic, partition, 0)])
                position = 0
                while position < high:
                    record = consumer.poll(5.0)
                    assert record is not None, f"partition {partition} ended before {high}"
                    if record.error() is not None:
                        continue
                    position = (record.offset() or 0) + 1
                    if record.key() == key:
                        found.append(record)
        finally:
            consumer.close()
        return found

    def records(self, request_ids: set[str], timeout: float = 30.0) -> dict[str, Message]:
        """The records on the topic with these request ids, read from the beginning."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.kafka_bootstrap_servers,
                "group.id": f"test-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        found: dict[str, Message] = {}
        try:
            consumer.subscribe([self.topic])
            deadline = time.monotonic() + timeout
            while set(found) != request_ids and time.monotonic() < deadline:
                record = consumer.poll(0.5)
                if record is None or record.error() is not None:
                    continue
                headers = dict(record.headers() or [])
                request_id = headers.get("lanes-request-id", b"").decode()
                if request_id in request_ids:
                    found[request_id] = record
        finally:
            consumer.close()
        return found


def write_signing_key(keys_dir: Path) -> Ed25519PrivateKey:
    """Put a fresh Ed25519 key where auth reads its signing keys, and return it."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = keys_dir / "signing.pem"
    path.write_bytes(pem)
    path.chmod(0o600)  # auth warns about private keys other users can read
    return key


TOPIC_PARTITIONS = 3


@pytest.fixture(scope="package")
def gateway_stack(
    infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayStack]:
    """Auth and gateway as real processes, on a fresh topic and database."""
    name = f"t{uuid.uuid4().hex[:12]}"
    topic = f"{name}.requests"
    infra.create_topics([topic], partitions=TOPIC_PARTITIONS)
    keys_dir = tmp_path_factory.mktemp("auth-keys")
    signing_key = write_signing_key(keys_dir)
    log_dir = tmp_path_factory.mktemp("logs")
    common = {
        "LANES_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "LANES_MONGO_URI": infra.mongo_uri,
        "LANES_MONGO_DATABASE": name,
        "LANES_REQUESTS_TOPIC": topic,
        "LANES_JWT_ISSUER": ISSUER,
        "LANES_JWT_AUDIENCE": AUDIENCE,
        "LANES_LOG_FORMAT": "text",
    }
    auth_port = free_port()
    auth = start_service(
        "auth",
        auth_port,
        {
            **common,
            "LANES_AUTH_HOST": "127.0.0.1",
            "LANES_AUTH_PORT": str(auth_port),
            "LANES_AUTH_KEYS_DIR": str(keys_dir),
            "LANES_AUTH_GENERATE_KEYS": "true",
            # Every test client is 127.0.0.1: per address, the suite would share one budget.
            "LANES_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
        },
        log_dir,
    )
    gateway_env = {**common, "LANES_GATEWAY_HOST": "127.0.0.1", "LANES_AUTH_URL": auth.url}
    try:
        gateway_port = free_port()
        gateway = start_service(
            "gateway",
            gateway_port,
            {**gateway_env, "LANES_GATEWAY_PORT": str(gateway_port)},
            log_dir,
        )
    except BaseException:
        auth.stop()
        raise
    try:
        jwks = httpx.get(f"{auth.url}/.well-known/jwks.json", timeout=5.0).json()
        yield GatewayStack(
            gateway=gateway,
            auth=auth,
            topic=topic,
            kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
            signing_key=signing_key,
            kid=jwks["keys"][0]["kid"],
            mongo_uri=infra.mongo_uri,
            database=name,
            gateway_env=gateway_env,
            log_dir=log_dir,
        )
    finally:
        gateway.stop()
        auth.stop()


@pytest.fixture
def client(gateway_stack: GatewayStack) -> Iterator[httpx.Client]:
    """An HTTP client for the gateway."""
    with gateway_stack.client() as http:
        yield http
