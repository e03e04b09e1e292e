"""The clients the gateway holds for its lifetime: opened together, closed together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import httpx
from pymongo import AsyncMongoClient

from lanes_common.documents import DELETED_USERS_COLLECTION
from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.messages import utc_now
from lanes_common.mongo import create_mongo_client, retry_until_mongo_answers
from lanes_common.periodic import running_periodically
from lanes_common.status_events import StatusPublisher, ensure_status_topic
from lanes_common.telemetry.propagation import inject_http_trace_context
from lanes_common.tokens import JwksKeySet, TokenVerifier
from lanes_common.types import MongoDocument
from lanes_gateway.auth_client import AuthClient
from lanes_gateway.config import GatewaySettings
from lanes_gateway.deleted_users import DeletedUsers
from lanes_gateway.enqueue import Enqueuer
from lanes_gateway.events.hub import StatusHub
from lanes_gateway.events.reader import StatusTopicReader
from lanes_gateway.idempotency import (
    IDEMPOTENCY_COLLECTION,
    PURGE_INTERVAL_SECONDS,
    IdempotencyClaims,
    IdempotencyKeys,
)
from lanes_gateway.metrics import EVENT_STREAMS
from lanes_gateway.queued_inserts import QueuedInserts
from lanes_gateway.quota import Quota
from lanes_gateway.replays import DeadLetterReplays
from lanes_gateway.store import RequestStore
from lanes_gateway.telemetry import TracedProducer

logger = logging.getLogger(__name__)

# argon2 is deliberately slow and bounded to one hash per CPU in auth: a burst of
# sign-ups queues there, which is load, not an outage.
AUTH_TIMEOUT_SECONDS = 15.0
RETENTION_INTERVAL_SECONDS = 600.0
"""How often finished requests past their retention are deleted (where no TTL monitor does)."""


@dataclass(frozen=True, slots=True)
class GatewayResources:
    """Everything a request handler needs beyond the request itself."""

    settings: GatewaySettings
    mongo: AsyncMongoClient[MongoDocument]
    store: RequestStore
    auth: AuthClient
    token_verifier: TokenVerifier
    enqueuer: Enqueuer
    replays: DeadLetterReplays
    deleted_users: DeletedUsers
    quota: Quota
    status_hub: StatusHub
    status_publisher: StatusPublisher


async def prepare_request_store(store: RequestStore, wait_seconds: float) -> None:
    """Create the indexes, waiting up to ``wait_seconds`` for MongoDB to answer."""
    await retry_until_mongo_answers(store.ensure_indexes, wait_seconds)


async def expire_requests(store: RequestStore) -> None:
    """One round of retention, and of closing open entries whose request finished."""
    expired = await store.expire_finished(utc_now())
    if expired:
        logger.info("expired finished requests", extra={"count": expired})
    closed = await store.close_finished_entries()
    if closed:
        logger.warning("closed open entries of finished requests", extra={"count": closed})


async def purge_claims(claims: IdempotencyClaims) -> None:
    """One round of purging expired idempotency keys."""
    purged = await claims.purge_expired(utc_now())
    if purged:
        logger.info("purged expired idempotency keys", extra={"count": purged})


@asynccontextmanager
async def open_resources(settings: GatewaySettings) -> AsyncIterator[GatewayResources]:
    """Open Mongo, the Kafka producer and the auth client; close them all on exit."""
    async with AsyncExitStack() as stack:
        mongo = create_mongo_client(settings.mongo_uri)
        stack.push_async_callback(mongo.close)
        database = mongo[settings.mongo_database]
        store = RequestStore(database, timedelta(days=settings.retention_days))
        await prepare_request_store(store, settings.startup_timeout_seconds)
        claims = IdempotencyClaims(database[IDEMPOTENCY_COLLECTION])
        await claims.ensure_indexes()
        await stack.enter_async_context(
            running_periodically(
                "request-retention", RETENTION_INTERVAL_SECONDS, partial(expire_requests, store)
            )
        )
        await stack.enter_async_context(
            running_periodically(
                "idempotency-purge", PURGE_INTERVAL_SECONDS, partial(purge_claims, claims)
            )
        )
        inserts = await stack.enter_async_context(QueuedInserts(database).running())

        producer = TracedProducer(
            producer_config(
                settings.kafka_bootstrap_servers,
                client_id="lanes-gateway",
                delivery_timeout_ms=int(settings.enqueue_timeout_seconds * 1000),
            )
        )
        stack.push_async_callback(producer.close)

        http = httpx.AsyncClient(
            base_url=settings.auth_url,
            timeout=AUTH_TIMEOUT_SECONDS,
            event_hooks={"request": [inject_http_trace_context]},
        )
        stack.push_async_callback(http.aclose)
        keys = JwksKeySet(settings.jwks_url, http)
        try:
            await keys.refresh()
        except httpx.HTTPError as exc:
            # Not fatal: auth may start after us; the key set fetches on first use.
            logger.warning("auth JWKS not available yet at %s: %s", settings.jwks_url, exc)

        hub, publisher = await _open_status_stream(stack, settings, producer)
        quota = Quota(store, settings.max_queued_per_user)
        idempotency_keys = IdempotencyKeys(
            claims=claims,
            requests=store,
            key_ttl=timedelta(seconds=settings.idempotency_key_ttl_seconds),
            wait_seconds=settings.idempotency_wait_seconds,
        )
        enqueuer = Enqueuer(
            quota=quota,
            keys=idempotency_keys,
            producer=producer,
            inserts=inserts,
            topic=settings.requests_topic,
            status_publisher=publisher,
        )

        yield GatewayResources(
            settings=settings,
            mongo=mongo,
            store=store,
            auth=AuthClient(http),
            token_verifier=TokenVerifier(keys, settings.jwt_issuer, settings.jwt_audience),
            enqueuer=enqueuer,
            replays=DeadLetterReplays(store, enqueuer),
            deleted_users=DeletedUsers(
                database[DELETED_USERS_COLLECTION], settings.deleted_users_cache_seconds
            ),
            quota=quota,
            status_hub=hub,
            status_publisher=publisher,
        )


async def _open_status_stream(
    stack: AsyncExitStack, settings: GatewaySettings, producer: AsyncProducer
) -> tuple[StatusHub, StatusPublisher]:
    """The hub that streams fan out from, fed by this replica's one reader of the topic."""
    await asyncio.to_thread(
        ensure_status_topic,
        settings.kafka_bootstrap_servers,
        settings.status_topic,
        settings.requests_topic,
    )
    window = timedelta(seconds=settings.stream_resume_window_seconds)
    hub = StatusHub(
        window,
        settings.stream_resume_window_events,
        settings.max_streams_per_user,
        settings.max_streams,
    )
    EVENT_STREAMS.set_function(lambda: hub.stream_count)
    reader = StatusTopicReader(
        settings.kafka_bootstrap_servers,
        settings.status_topic,
        hub,
        window,
        asyncio.get_running_loop(),
    )
    reader.start()
    stack.push_async_callback(reader.close)
    return hub, StatusPublisher(producer, settings.status_topic)
