"""What the auth app opens at startup and closes at shutdown, wired together once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from pymongo import AsyncMongoClient

from lanes_auth.accounts import Accounts
from lanes_auth.config import AuthSettings
from lanes_auth.deletion import AccountDeletion
from lanes_auth.keys import KeyRing
from lanes_auth.metrics import CountingLoginThrottle
from lanes_auth.passwords import PasswordHashing
from lanes_auth.refresh import (
    REFRESH_FAMILIES_COLLECTION,
    REFRESH_SPENDS_COLLECTION,
    REFRESH_TOKENS_COLLECTION,
    RefreshTokenStore,
)
from lanes_auth.sessions import Sessions
from lanes_auth.tokens import AccessTokenIssuer
from lanes_auth.users import UserStore
from lanes_auth.verification import access_token_verifier
from lanes_common.documents import DELETED_USERS_COLLECTION, USERS_COLLECTION
from lanes_common.mongo import create_mongo_client, retry_until_mongo_answers
from lanes_common.periodic import running_periodically
from lanes_common.tokens import TokenVerifier
from lanes_common.types import MongoDocument

logger = logging.getLogger(__name__)

_PURGE_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class AuthResources:
    """Everything the lifespan opens, in one typed object in every request's state."""

    settings: AuthSettings
    mongo: AsyncMongoClient[MongoDocument]
    keys: KeyRing
    accounts: Accounts
    sessions: Sessions
    deletion: AccountDeletion
    token_verifier: TokenVerifier


async def prepare_collections(
    users: UserStore, refresh_tokens: RefreshTokenStore, wait_seconds: float
) -> None:
    """Create auth's indexes, waiting up to ``wait_seconds`` for MongoDB to answer."""

    async def ensure_indexes() -> None:
        await users.ensure_indexes()
        await refresh_tokens.ensure_indexes()

    await retry_until_mongo_answers(ensure_indexes, wait_seconds)


async def purge_expired_tokens(refresh_tokens: RefreshTokenStore) -> None:
    """One round of deleting expired refresh tokens (run by `running_periodically`)."""
    purged = await refresh_tokens.purge_expired()
    if purged:
        logger.info("purged expired refresh tokens", extra={"count": purged})


@asynccontextmanager
async def open_resources(settings: AuthSettings, keys: KeyRing) -> AsyncIterator[AuthResources]:
    """Connect to MongoDB, prepare the collections and wire the services; close on exit."""
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
        throttle = CountingLoginThrottle(
            per_account=settings.auth_login_max_failures_per_account,
            per_address=settings.auth_login_max_failures_per_address,
            window_seconds=settings.auth_login_failure_window_seconds,
        )
        access_tokens = AccessTokenIssuer(
            keys,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
        )
        resources = AuthResources(
            settings=settings,
            mongo=mongo,
            keys=keys,
            accounts=Accounts(users, await PasswordHashing.create(), throttle),
            sessions=Sessions(users, access_tokens, refresh_tokens),
            deletion=AccountDeletion(users, refresh_tokens, database[DELETED_USERS_COLLECTION]),
            token_verifier=access_token_verifier(keys, settings.jwt_issuer, settings.jwt_audience),
        )
        async with running_periodically(
            "refresh-token-purge",
            _PURGE_INTERVAL_SECONDS,
            partial(purge_expired_tokens, refresh_tokens),
        ):
            yield resources
    finally:
        await mongo.close()
