"""The processor's HTTP side: ``/healthz``, ``/readyz`` and ``/metrics`` on its own port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from lanes_common.health import ReadinessCheck, health_router
from lanes_common.mongo import mongo_is_ready
from lanes_common.telemetry.http import fastapi_telemetry
from lanes_common.types import MongoDocument


class ProbeServer(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM/SIGINT to the processor, which drains first."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install no signal handlers: the processor's own stop the consumer, then us."""
        yield


def create_probe_app(mongo: AsyncMongoClient[MongoDocument], consuming: ReadinessCheck) -> FastAPI:
    """Probes for one replica: ready when the store answers and it has not been told to stop.

    Kafka is not asked: a replica that cannot reach it keeps retrying, and its
    partitions move to the group's other members (docs/api.md, ``/readyz``).
    """
    app = FastAPI(
        title="Lanes processor", docs_url=None, redoc_url=None, telemetry=fastapi_telemetry()
    )

    async def store_ready() -> bool:
        return await mongo_is_ready(mongo)

    app.include_router(health_router(lambda: {"mongo": store_ready, "consumer": consuming}))
    return app


@contextlib.asynccontextmanager
async def serving_probes(app: FastAPI, host: str, port: int) -> AsyncIterator[None]:
    """Serve the probe app on its own port, quietly, until the block ends."""
    server = ProbeServer(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    )
    task = asyncio.create_task(server.serve(), name="probes")
    try:
        yield
    finally:
        server.should_exit = True
        await task
