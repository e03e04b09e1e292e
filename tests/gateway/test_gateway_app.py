"""The app's HTTP edge in-process, with Kafka and Mongo replaced: outage answers."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymongo.errors import AutoReconnect

from lanes_common.http.state import lifespan_state
from lanes_common.kafka import ProduceError
from lanes_common.tokens import JwksKeySet, TokenVerifier
from lanes_gateway.auth_client import AuthClient
from lanes_gateway.config import GatewaySettings
from lanes_gateway.events.hub import StatusHub
from lanes_gateway.main import create_app
from lanes_gateway.quota import Quota
from lanes_gateway.replays import DeadLetterReplays
from lanes_gateway.resources import GatewayResources
from tests.gateway.test_gateway_enqueue import (
    FakeDeletedUsers,
    FakeProducer,
    FakeStatusPublisher,
    FakeStore,
    enqueuer_for,
)
from tests.lifespan import with_lifespan_state

KID = "test-key"
ISSUER, AUDIENCE = "lanes-auth", "lanes"


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _token(key: Ed25519PrivateKey) -> str:
    now = int(time.time())
    claims = {
        "sub": "user-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": KID})


def _auth_down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@asynccontextmanager
async def _client(
    key: Ed25519PrivateKey, producer: FakeProducer, store: FakeStore
) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    app = create_app(settings)
    auth_transport = httpx.MockTransport(_auth_down)
    async with httpx.AsyncClient(transport=auth_transport, base_url="http://auth") as auth_http:
        keys = JwksKeySet(settings.jwks_url, auth_http)
        jwk: dict[str, Any] = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
        keys.load({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "EdDSA"}]})
        # No lifespan here: the app gets stand-ins instead of real clients.
        quota = Quota(store, limit=10)  # type: ignore[arg-type]
        enqueuer = enqueuer_for(producer, store, settings.requests_topic, quota=quota)
        resources = GatewayResources(
            settings=settings,
            mongo=None,  # type: ignore[arg-type]
            store=store,  # type: ignore[arg-type]
            auth=AuthClient(auth_http),
            token_verifier=TokenVerifier(keys, ISSUER, AUDIENCE),
            enqueuer=enqueuer,
            replays=DeadLetterReplays(store, enqueuer),  # type: ignore[arg-type]
            deleted_users=FakeDeletedUsers(),  # type: ignore[arg-type]
            quota=quota,
            status_hub=StatusHub(timedelta(minutes=5), 100, 10, 100),
            status_publisher=FakeStatusPublisher(),  # type: ignore[arg-type]
        )
        served = with_lifespan_state(app, lifespan_state(resources))
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            client.headers["Authorization"] = f"Bearer {_token(key)}"
            yield client


async def test_kafka_outage_answers_503_and_records_nothing(
    signing_key: Ed25519PrivateKey,
) -> None:
    producer, store = FakeProducer(ProduceError("all brokers down")), FakeStore()

    async with _client(signing_key, producer, store) as client:
        answers = [
            await client.post("/v1/requests", json={"type": "echo", "payload": 1}),
            await client.post("/enqueue", json={"request": 1}),
        ]

    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"]
        assert answer.json()["code"] == "unavailable"
    assert store.documents == []


async def test_mongo_outage_after_the_ack_still_answers_202(
    signing_key: Ed25519PrivateKey,
) -> None:
    producer, store = FakeProducer(), FakeStore(AutoReconnect("mongo down"))

    async with _client(signing_key, producer, store) as client:
        answer = await client.post("/v1/requests", json={"type": "echo", "payload": 1})

    assert answer.status_code == 202
    assert answer.json()["state"] == "queued"
    assert len(producer.records) == 1


async def test_auth_outage_answers_503_on_forwarded_routes(
    signing_key: Ed25519PrivateKey,
) -> None:
    async with _client(signing_key, FakeProducer(), FakeStore()) as client:
        forwarded = await client.post("/v1/auth/login", json={"username": "u", "password": "p"})
        legacy = await client.post("/login", json={"username": "u", "password": "p"})

    assert forwarded.status_code == legacy.status_code == 503
