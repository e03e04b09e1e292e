"""Login sessions: an access token plus a refresh token, rotated on refresh, ended on logout."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lanes_auth.errors import InvalidRefreshTokenError
from lanes_auth.refresh import IssuedRefreshToken, RefreshTokenStore
from lanes_auth.tokens import AccessTokenIssuer, IssuedToken
from lanes_auth.users import User, UserStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a login or a refresh hands out."""

    access: IssuedToken
    refresh: IssuedRefreshToken


class Sessions:
    """Starts, renews and ends sessions for authenticated users."""

    def __init__(
        self, users: UserStore, access_tokens: AccessTokenIssuer, refresh_tokens: RefreshTokenStore
    ) -> None:
        self._users = users
        self._access_tokens = access_tokens
        self._refresh_tokens = refresh_tokens

    async def start(self, user: User) -> TokenPair:
        """A new session (refresh-token family) for a user who just logged in."""
        refresh = await self._refresh_tokens.start_family(user.id)
        return TokenPair(self._access_tokens.issue(user.id, user.username), refresh)

    async def renew(self, refresh_token: str) -> TokenPair:
        """Spend ``refresh_token`` for a fresh pair; `InvalidRefreshTokenError` otherwise."""
        spent = await self._refresh_tokens.spend(refresh_token)
        user = await self._users.get(spent.user_id)
        if user is None:
            # The account is gone: its sessions end with it.
            await self._refresh_tokens.revoke_family(spent.family_id)
            raise InvalidRefreshTokenError
        refresh = await self._refresh_tokens.issue(user.id, spent.family_id)
        return TokenPair(self._access_tokens.issue(user.id, user.username), refresh)

    async def end(self, refresh_token: str) -> None:
        """Log out: no token of this session can be refreshed any more."""
        await self._refresh_tokens.revoke(refresh_token)
