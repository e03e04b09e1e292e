"""One processor replica: consume requests, run them in per-user order, record every step."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from datetime import timedelta

from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.logs import configure_logging
from lanes_common.mongo import create_mongo_client
from lanes_common.status_events import StatusPublisher, ensure_status_topic
from lanes_common.telemetry.tracing import configure_tracing
from lanes_processor.backoff import Backoff
from lanes_processor.config import ProcessorSettings
from lanes_processor.consumer.backpressure import HeldBounds
from lanes_processor.consumer.engine import ProcessorEngine, consumer_config
from lanes_processor.consumer.replayed import StatusFinishedLookup
from lanes_processor.consumer.runner import RequestRunner, RetryPolicy
from lanes_processor.dead_letters import DeadLetterPublisher
from lanes_processor.handlers import describe, load_handlers
from lanes_processor.probes import create_probe_app, create_probe_server
from lanes_processor.status_events import PublishingFinishedLookup, PublishingStatusStore
from lanes_processor.telemetry import traced_handlers, traced_record_runner

logger = logging.getLogger(__name__)


async def serve(settings: ProcessorSettings) -> None:
    """Run until SIGTERM or SIGINT, then drain in-flight work, commit and close."""
    client_id = f"lanes-processor-{socket.gethostname()}"
    mongo = create_mongo_client(settings.mongo_uri)
    producer = AsyncProducer(producer_config(settings.kafka_bootstrap_servers, client_id))
    statuses = mongo[settings.mongo_database][REQUESTS_COLLECTION]
    await asyncio.to_thread(
        ensure_status_topic,
        settings.kafka_bootstrap_servers,
        settings.status_topic,
        settings.requests_topic,
    )
    status_events = StatusPublisher(producer, settings.status_topic)
    store = PublishingStatusStore(
        mongo[settings.mongo_database],
        status_events,
        retention=timedelta(days=settings.retention_days),
        batch_size=settings.processor_store_batch_size,
    )
    handlers = traced_handlers(load_handlers())
    logger.info(
        "processor starting",
        extra={"handlers": describe(handlers), "ordering": settings.processor_ordering},
    )
    runner = RequestRunner(
        handlers,
        store,
        DeadLetterPublisher(producer, settings.dead_letter_topic),
        RetryPolicy(
            max_attempts=settings.processor_max_attempts,
            backoff=Backoff(
                settings.processor_retry_base_seconds, settings.processor_retry_max_seconds
            ),
            handler_timeout=settings.processor_handler_timeout_seconds,
        ),
        max_in_flight=settings.processor_max_in_flight,
    )
    engine = ProcessorEngine(
        consumer_config(
            settings.kafka_bootstrap_servers,
            settings.processor_group_id,
            settings.processor_group_protocol,
            client_id,
        ),
        settings.requests_topic,
        traced_record_runner(runner.run),
        by_key=settings.processor_ordering == "key",
        bounds=HeldBounds(
            per_user=settings.processor_max_buffered_per_user,
            per_partition=settings.processor_max_buffered_per_partition,
            total=settings.processor_max_buffered,
        ),
        commit_interval=settings.processor_commit_interval_seconds,
        drain_timeout=settings.processor_drain_timeout_seconds,
        finished_lookup=PublishingFinishedLookup(
            StatusFinishedLookup(statuses), statuses, status_events
        ),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async def consuming() -> bool:
        return not stop.is_set()

    probes = create_probe_server(
        create_probe_app(mongo, consuming), settings.processor_host, settings.processor_port
    )
    probe_task = asyncio.create_task(probes.serve(), name="probes")
    store.start()
    try:
        await engine.run(stop)
    finally:
        probes.should_exit = True
        await probe_task
        await store.close()
        await producer.close()
        await mongo.close()
        logger.info("processor stopped")


def run() -> None:
    """Entry point of ``lanes-processor`` and ``python -m lanes_processor``."""
    settings = ProcessorSettings()
    configure_logging("processor", settings.log_level, settings.log_format)
    configure_tracing("processor")
    asyncio.run(serve(settings))
