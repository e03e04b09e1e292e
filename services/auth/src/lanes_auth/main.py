"""The auth app: factory, lifespan and ``run()``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from importlib.metadata import version

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from lanes_auth.api.errors import PROBLEM_WORDING, on_auth_error
from lanes_auth.api.routes import auth, jwks
from lanes_auth.config import AuthSettings, describe_settings_error
from lanes_auth.deps import Resources
from lanes_auth.errors import AuthError, SigningKeyError
from lanes_auth.keys import KeyRing, load_key_ring
from lanes_auth.metrics import record_outcome
from lanes_auth.resources import open_resources
from lanes_common.health import ReadinessCheck, health_router
from lanes_common.http.problem_docs import document_problems
from lanes_common.http.problems import install_problem_handlers
from lanes_common.http.state import lifespan_state
from lanes_common.logs import configure_logging
from lanes_common.mongo import mongo_is_ready
from lanes_common.telemetry.http import fastapi_telemetry, instrument_app
from lanes_common.telemetry.tracing import configure_tracing

logger = logging.getLogger(__name__)

SERVICE_NAME = "auth"
EXIT_CONFIGURATION_ERROR = 2


def readiness_checks(resources: Resources) -> Mapping[str, ReadinessCheck]:
    """What must answer for auth to take traffic: MongoDB."""
    return {"mongo": partial(mongo_is_ready, resources.mongo)}


def create_app(settings: AuthSettings, keys: KeyRing | None = None) -> FastAPI:
    """The auth app; ``keys`` defaults to loading (or generating) them from the keys folder."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[Mapping[str, object]]:
        key_ring = keys or load_key_ring(settings.auth_keys_dir, settings.auth_generate_keys)
        async with open_resources(settings, key_ring) as resources:
            logger.info("auth ready", extra={"signing_kid": key_ring.signing_key.kid})
            yield lifespan_state(resources)

    app = FastAPI(
        title="Lanes auth",
        version=version("lanes-auth"),
        summary="Registers users, checks passwords, issues EdDSA-signed access tokens.",
        lifespan=lifespan,
        telemetry=fastapi_telemetry(),
    )
    install_problem_handlers(app, store_name="user store", domain_errors={AuthError: on_auth_error})
    document_problems(app, PROBLEM_WORDING)
    app.include_router(auth.router)
    app.include_router(jwks.router)
    app.include_router(health_router(readiness_checks))
    instrument_app(app, on_response=record_outcome)
    return app


def run() -> None:
    """Start the auth service; bad settings or keys end it at once with one clear message."""
    try:
        settings = AuthSettings()  # type: ignore[call-arg]  # required fields come from the environment
    except ValidationError as exc:
        configure_logging(SERVICE_NAME)
        logger.critical("auth cannot start: %s", describe_settings_error(exc))
        raise SystemExit(EXIT_CONFIGURATION_ERROR) from None
    configure_logging(SERVICE_NAME, settings.log_level, settings.log_format)
    configure_tracing(SERVICE_NAME)
    try:
        # Loaded before the port opens, so a key problem is one line, not a traceback.
        keys = load_key_ring(settings.auth_keys_dir, settings.auth_generate_keys)
    except SigningKeyError as exc:
        logger.critical("auth cannot start: %s", exc)
        raise SystemExit(EXIT_CONFIGURATION_ERROR) from None
    uvicorn.run(
        create_app(settings, keys),
        host=settings.auth_host,
        port=settings.auth_port,
        log_config=None,
        server_header=False,
        # Only these peers may name the client address (per-address login limits).
        forwarded_allow_ips=settings.auth_trusted_proxies,
    )
