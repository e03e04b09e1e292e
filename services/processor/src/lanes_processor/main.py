"""One processor replica: consume requests, run them in per-user order, record every step.

`serve` opens what a replica holds on one `AsyncExitStack`, in the order it
needs them, and closes them in reverse once the consumer has drained and
committed: the probes stop, the store's writers stop (a write still queued
belongs to a cancelled, uncommitted record), the producer delivers what is
outstanding, MongoDB closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Mapping
from contextlib import AsyncExitStack
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
from lanes_processor.consumer.engine import ProcessorEngine
from lanes_processor.consumer.group_consumer import consumer_config
from lanes_processor.consumer.lanes import RunRecord
from lanes_processor.consumer.replayed import FinishedLookup, StatusFinishedLookup
from lanes_processor.consumer.runner import RequestRunner, RetryPolicy
from lanes_processor.dead_letters import DeadLetterPublisher
from lanes_processor.handlers import Handler, describe, load_handlers
from lanes_processor.metrics import ConsumerMetrics, RunMetrics
from lanes_processor.probes import create_probe_app, serving_probes
from lanes_processor.status_events import PublishingFinishedLookup, PublishingStatusStore
from lanes_processor.store import StatusStore
from lanes_processor.telemetry import traced_handlers, traced_record_runner

logger = logging.getLogger(__name__)


async def serve(settings: ProcessorSettings) -> None:
    """Run until SIGTERM or SIGINT, then drain in-flight work, commit and close."""
    client_id = f"lanes-processor-{socket.gethostname()}"
    async with AsyncExitStack() as stack:
        stack.callback(logger.info, "processor stopped")
        mongo = create_mongo_client(settings.mongo_uri)
        stack.push_async_callback(mongo.close)
        producer = AsyncProducer(producer_config(settings.kafka_bootstrap_servers, client_id))
        stack.push_async_callback(producer.close)
        status_events = await open_status_events(settings, producer)
        database = mongo[settings.mongo_database]
        store = PublishingStatusStore(
            database,
            status_events,
            retention=timedelta(days=settings.retention_days),
            batch_size=settings.processor_store_batch_size,
        )
        statuses = database[REQUESTS_COLLECTION]
        finished_lookup = PublishingFinishedLookup(
            StatusFinishedLookup(statuses), statuses, status_events
        )
        handlers = traced_handlers(load_handlers())
        logger.info(
            "processor starting",
            extra={"handlers": describe(handlers), "ordering": settings.processor_ordering},
        )
        runner = request_runner(
            settings, handlers, store, DeadLetterPublisher(producer, settings.dead_letter_topic)
        )
        engine = consumer_engine(
            settings, client_id, traced_record_runner(runner.run), finished_lookup
        )
        stop = stop_on_signals()

        async def consuming() -> bool:
            return not stop.is_set()

        store.start()
        stack.push_async_callback(store.close)
        await stack.enter_async_context(
            serving_probes(
                create_probe_app(mongo, consuming),
                settings.processor_host,
                settings.processor_port,
            )
        )
        await engine.run(stop)


async def open_status_events(
    settings: ProcessorSettings, producer: AsyncProducer
) -> StatusPublisher:
    """The publisher of status events, once their topic exists."""
    await asyncio.to_thread(
        ensure_status_topic,
        settings.kafka_bootstrap_servers,
        settings.status_topic,
        settings.requests_topic,
    )
    return StatusPublisher(producer, settings.status_topic)


def request_runner(
    settings: ProcessorSettings,
    handlers: Mapping[str, Handler],
    store: StatusStore,
    dead_letters: DeadLetterPublisher,
) -> RequestRunner:
    """The runner of each request's attempts, as the settings configure it, with metrics."""
    return RequestRunner(
        handlers,
        store,
        dead_letters,
        RetryPolicy(
            max_attempts=settings.processor_max_attempts,
            backoff=Backoff(
                settings.processor_retry_base_seconds, settings.processor_retry_max_seconds
            ),
            handler_timeout=settings.processor_handler_timeout_seconds,
        ),
        max_in_flight=settings.processor_max_in_flight,
        observer=RunMetrics(handlers),
    )


def consumer_engine(
    settings: ProcessorSettings,
    client_id: str,
    run_record: RunRecord,
    finished_lookup: FinishedLookup,
) -> ProcessorEngine:
    """The group's consumer, as the settings configure it, with metrics."""
    return ProcessorEngine(
        consumer_config(
            settings.kafka_bootstrap_servers,
            settings.processor_group_id,
            settings.processor_group_protocol,
            client_id,
        ),
        settings.requests_topic,
        run_record,
        by_key=settings.processor_ordering == "key",
        bounds=HeldBounds(
            per_user=settings.processor_max_buffered_per_user,
            per_partition=settings.processor_max_buffered_per_partition,
            total=settings.processor_max_buffered,
        ),
        commit_interval=settings.processor_commit_interval_seconds,
        drain_timeout=settings.processor_drain_timeout_seconds,
        finished_lookup=finished_lookup,
        observer=ConsumerMetrics(),
    )


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT: the replica drains instead of dying."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


def run() -> None:
    """Entry point of ``lanes-processor`` and ``python -m lanes_processor``."""
    settings = ProcessorSettings()
    configure_logging("processor", settings.log_level, settings.log_format)
    configure_tracing("processor")
    asyncio.run(serve(settings))
