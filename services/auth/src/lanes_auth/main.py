"""The auth app: factory, lifespan and ``run()``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from importlib.metadata import version

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure, PyMongoError

from lanes_auth.accounts import Accounts
from lanes_auth.api.errors import document_problem_schema, install_auth_error_handlers
from lanes_auth.api.routes import auth, jwks
from lanes_auth.config import AuthSettings, describe_settings_error
from lanes_auth.deps import AuthResources
from lanes_auth.errors import SigningKeyError
from lanes_auth.keys import KeyRing, load_key_ring
from lanes_auth.passwords import PasswordHashing
from lanes_auth.refresh import (
    REFRESH_FAMILIES_COLLECTION,
    REFRESH_SPENDS_COLLECTION,
    REFRESH_TOKENS_COLLECTION,
    RefreshTokenStore,
)
from lanes_auth.sessions import Sessions
from lanes_auth.throttle import LoginThrottle
from lanes_auth.tokens import AccessTokenIssuer
from lanes_auth.users import UserStore
from lanes_common.documents import USERS_COLLECTION
from lanes_common.errors import DependencyUnavailableError
from lanes_common.health import ReadinessCheck, health_router
from lanes_common.logs import configure_logging
from lanes_common.mongo import create_mongo_client, mongo_is_ready
from lanes_common.problems import install_problem_handlers

logger = logging.getLogger(__name__)

SERVICE_NAME = "auth"
EXIT_CONFIGURATION_ERROR = 2
_MONGO_RETRY_SECONDS = 0.5
_PURGE_INTERVAL_SECONDS = 3600.0


async def prepare_collections(
    users: UserStore, refresh_tokens: RefreshTokenStore, wait_seconds: float
) -> None:
    """Create auth's indexes, waiting up to ``wait_seconds`` for MongoDB to answer."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            await users.ensure_indexes()
            await refresh_tokens.ensure_indexes()
            return
        except ConnectionFailure as exc:
            if time.monotonic() >= deadline:
                # The URI may carry credentials, so the message names the setting instead.
                raise DependencyUnavailableError(
                    f"MongoDB (LANES_MONGO_URI) did not answer within {wait_seconds:.0f}s: {exc}"
                ) from exc
            await asyncio.sleep(_MONGO_RETRY_SECONDS)


async def purge_expired_forever(refresh_tokens: RefreshTokenStore) -> None:
    """Delete expired refresh tokens periodically (FerretDB has no TTL indexes)."""
    while True:
        try:
            purged = await refresh_tokens.purge_expired()
            if purged:
                logger.info("purged expired refresh tokens", extra={"count": purged})
        except PyMongoError:
            logger.warning("purging expired refresh tokens failed", exc_info=True)
        await asyncio.sleep(_PURGE_INTERVAL_SECONDS)


def create_app(settings: AuthSettings, keys: KeyRing | None = None) -> FastAPI:
    """The auth app; ``keys`` defaults to loading (or generating) them from the keys folder."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        key_ring = keys or load_key_ring(settings.auth_keys_dir, settings.auth_generate_keys)
        mongo = create_mongo_client(settings.mongo_uri)
        try:
            database = mongo[settings.mongo_database]
            users = UserStore(database[USERS_COLLECTION])
            refresh_tokens = RefreshTokenStore(
                database[REFRESH_TOKENS_COLLECTION],
                database[REFRESH_SPENDS_COLLECTION],
                database[REFRESH_FAMILIES_COLLECTION],
                ttl_seconds=settings.refresh_token_ttl_seconds,
            )
            await prepare_collections(users, refresh_tokens, settings.startup_timeout_seconds)
            throttle = LoginThrottle(
                per_account=settings.auth_login_max_failures_per_account,
                per_address=settings.auth_login_max_failures_per_address,
                window_seconds=settings.auth_login_failure_window_seconds,
            )
            access_tokens = AccessTokenIssuer(
                key_ring,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl_seconds=settings.access_token_ttl_seconds,
            )
            app.state.resources = AuthResources(
                settings=settings,
                mongo=mongo,
                keys=key_ring,
                accounts=Accounts(users, await PasswordHashing.create(), throttle),
                sessions=Sessions(users, access_tokens, refresh_tokens),
                refresh_tokens=refresh_tokens,
            )
            purger = asyncio.create_task(purge_expired_forever(refresh_tokens))
            logger.info("auth ready", extra={"signing_kid": key_ring.signing_key.kid})
            try:
                yield
            finally:
                purger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await purger
        finally:
            await mongo.close()

    app = FastAPI(
        title="Lanes auth",
        version=version("lanes-auth"),
        summary="Registers users, checks passwords, issues EdDSA-signed access tokens.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    install_auth_error_handlers(app)
    document_problem_schema(app)

    def readiness_checks() -> Mapping[str, ReadinessCheck]:
        resources: AuthResources = app.state.resources
        return {"mongo": partial(mongo_is_ready, resources.mongo)}

    app.include_router(auth.router)
    app.include_router(jwks.router)
    app.include_router(health_router(readiness_checks))
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
