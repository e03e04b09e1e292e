"""Serve an app in-process as a server would: with the state its lifespan yields.

uvicorn copies what a lifespan yields into every request's ``state``;
``httpx.ASGITransport`` runs no lifespan, so tests that serve an app through
it hand the state over here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send


def with_lifespan_state(app: ASGIApp, state: Mapping[str, object]) -> ASGIApp:
    """``app``, with a shallow copy of ``state`` in every request, as a server passes it."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": dict(state)}
        await app(scope, receive, send)

    return serve


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[ASGIApp]:
    """Run ``app``'s lifespan; meanwhile, the app as a server would serve it."""
    async with app.router.lifespan_context(app) as state:
        yield with_lifespan_state(app, state or {})
