"""Auth checking its own access tokens (``DELETE /v1/auth/me``) by the rules everyone uses.

The verifier is `lanes_common.tokens.TokenVerifier`, as in the gateway: an
explicit algorithm allow-list, issuer, audience and expiry. Only where the
public keys come from differs: auth has its key ring at hand, so it needs no
JWKS round trip to itself.
"""

from __future__ import annotations

import jwt

from lanes_auth.keys import KeyRing
from lanes_common.tokens import InvalidTokenError, TokenVerifier


class KeyRingKeys:
    """The key ring's public keys, by ``kid``, for a `TokenVerifier`."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = {jwk["kid"]: jwt.PyJWK(dict(jwk)) for jwk in keys.jwks()["keys"]}

    async def key_for(self, kid: str) -> jwt.PyJWK:
        """The public key named ``kid``; `InvalidTokenError` if auth has no such key."""
        key = self._keys.get(kid)
        if key is None:
            raise InvalidTokenError("token signed with an unknown key")
        return key


def access_token_verifier(keys: KeyRing, issuer: str, audience: str) -> TokenVerifier:
    """A verifier for access tokens this auth service issued."""
    return TokenVerifier(KeyRingKeys(keys), issuer, audience)
