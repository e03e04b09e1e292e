"""The gateway app: factory, lifespan and the ``run()`` entry point."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from lanes_common.health import ReadinessCheck, health_router
from lanes_common.http.problems import install_problem_handlers
from lanes_common.http.state import lifespan_state
from lanes_common.kafka import kafka_is_ready
from lanes_common.logs import configure_logging
from lanes_common.mongo import mongo_is_ready
from lanes_common.telemetry.http import fastapi_telemetry, instrument_app
from lanes_common.telemetry.tracing import configure_tracing
from lanes_gateway.api.problems import document_problem_schema, on_gateway_error
from lanes_gateway.api.routes import auth, events, queue, replays, requests, seed_api
from lanes_gateway.body_limit import BodySizeLimitMiddleware
from lanes_gateway.config import GatewaySettings
from lanes_gateway.deps import Resources
from lanes_gateway.errors import GatewayError
from lanes_gateway.metrics import record_answer
from lanes_gateway.resources import open_resources


def readiness_checks(resources: Resources) -> Mapping[str, ReadinessCheck]:
    """What must answer for the gateway to take traffic: Mongo, Kafka and auth."""

    async def mongo() -> bool:
        return await mongo_is_ready(resources.mongo)

    async def kafka() -> bool:
        # A metadata request blocks in librdkafka; keep it off the event loop.
        return await asyncio.to_thread(kafka_is_ready, resources.settings.kafka_bootstrap_servers)

    async def auth_service() -> bool:
        return await resources.auth.is_healthy()

    return {"mongo": mongo, "kafka": kafka, "auth": auth_service}


def create_app(settings: GatewaySettings) -> FastAPI:
    """The gateway as an ASGI app; its clients open when the app starts."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[Mapping[str, object]]:
        async with open_resources(settings) as resources:
            yield lifespan_state(resources)

    app = FastAPI(
        title="Lanes gateway",
        summary="Per-user FIFO request queues: enqueue requests, read their status.",
        version="1.0.0",
        lifespan=lifespan,
        telemetry=fastapi_telemetry(),
    )
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    install_problem_handlers(
        app, store_name="status store", domain_errors={GatewayError: on_gateway_error}
    )
    document_problem_schema(app)
    app.include_router(requests.router)
    app.include_router(queue.router)
    app.include_router(events.router)
    app.include_router(replays.router)
    app.include_router(auth.router)
    app.include_router(seed_api.router)
    app.include_router(seed_api.router, prefix="/api")
    app.include_router(health_router(readiness_checks))
    instrument_app(app, on_response=record_answer)
    return app


def run() -> None:
    """Start the gateway with settings from the environment."""
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level, settings.log_format)
    configure_tracing("gateway")
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        server_header=False,
    )
