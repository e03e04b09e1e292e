"""The framework floor: a bare FastAPI ``POST /v1/requests`` served like the gateway.

Same body model shape, same answer shape and status, same uvicorn settings as
`lanes_gateway.main.run` (one process, ``log_config=None``, no server header);
no auth, no Kafka, no MongoDB. ``python -m bench.bare_app --port N``.
"""

from __future__ import annotations

import argparse
import uuid
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field


class EnqueueBody(BaseModel):
    """The gateway's body: a type and any JSON payload."""

    type: str = Field(min_length=1, max_length=64)
    payload: Any = None


class Enqueued(BaseModel):
    """The gateway's answer."""

    id: str
    state: str
    links: dict[str, str]


def create_app() -> FastAPI:
    """One route, nothing else."""
    app = FastAPI()

    @app.post("/v1/requests", status_code=202)
    async def create_request(body: EnqueueBody) -> Enqueued:
        request_id = str(uuid.uuid4())
        return Enqueued(id=request_id, state="queued", links={"self": f"/v1/requests/{request_id}"})

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    """Serve the app on loopback."""
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(), host="127.0.0.1", port=args.port, log_config=None, server_header=False
    )


if __name__ == "__main__":
    main()
