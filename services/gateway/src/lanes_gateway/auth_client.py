"""Calls to the auth service, for the routes the gateway forwards to it."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from lanes_gateway.errors import AuthUnavailableError, UnforwardableRequestError

logger = logging.getLogger(__name__)

# Request headers auth may need (logout's bearer token); everything else is the
# gateway's business.
FORWARDED_REQUEST_HEADERS = ("authorization", "content-type", "user-agent", "accept")
# Response headers a client of auth relies on.
FORWARDED_RESPONSE_HEADERS = ("content-type", "retry-after", "www-authenticate", "cache-control")


@dataclass(frozen=True, slots=True)
class AuthAnswer:
    """What auth answered: status, raw body and the headers worth passing on."""

    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        """The body as JSON (None when it is empty or not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class AuthClient:
    """The auth service's HTTP API, reached through one shared ``httpx.AsyncClient``."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def forward(
        self,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
        client_address: str | None,
        method: str = "POST",
    ) -> AuthAnswer:
        """Send ``body`` to auth's ``path`` (POST unless told) with the relevant headers."""
        # Surrounding whitespace is legal on the way in but not on the way out.
        outgoing = {
            name: value.strip()
            for name, value in headers.items()
            if name.lower() in FORWARDED_REQUEST_HEADERS and value.strip()
        }
        if client_address:
            # Auth limits failed logins per client address. The address is the one
            # uvicorn saw (it honours X-Forwarded-For only from trusted proxies);
            # a client-supplied header is replaced, so it cannot dodge the limit.
            outgoing["x-forwarded-for"] = client_address
        try:
            response = await self._http.request(method, path, content=body, headers=outgoing)
        except httpx.LocalProtocolError as exc:
            # Not an outage: the client's request cannot be expressed to auth as it is.
            raise UnforwardableRequestError(str(exc)) from exc
        except httpx.HTTPError as exc:
            logger.warning("auth did not answer %s: %s", path, exc)
            raise AuthUnavailableError("the auth service is unavailable; try again") from exc
        kept = {
            name: value
            for name, value in response.headers.items()
            if name.lower() in FORWARDED_RESPONSE_HEADERS
        }
        return AuthAnswer(status=response.status_code, body=response.content, headers=kept)

    async def post_json(
        self, path: str, payload: Mapping[str, Any], client_address: str | None
    ) -> AuthAnswer:
        """POST a JSON document to auth's ``path``."""
        body = json.dumps(dict(payload)).encode()
        return await self.forward(path, body, {"content-type": "application/json"}, client_address)

    async def is_healthy(self) -> bool:
        """True when auth answers ``/healthz``."""
        try:
            response = await self._http.get("/healthz")
        except httpx.HTTPError:
            return False
        return response.status_code == 200
