"""Forwarding to auth: which headers go there and come back, and auth being down."""

from __future__ import annotations

import httpx
import pytest

from lanes_gateway.auth_client import AuthClient
from lanes_gateway.errors import AuthUnavailableError


async def test_forward_passes_credentials_and_rate_limit_headers() -> None:
    seen: list[httpx.Request] = []

    def auth(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            429,
            content=b'{"code": "too_many_requests"}',
            headers={
                "content-type": "application/problem+json",
                "retry-after": "7",
                "set-cookie": "internal=1",
            },
        )

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(auth), base_url="http://auth"
    ) as http:
        answer = await AuthClient(http).forward(
            "/v1/auth/login",
            b'{"username": "u"}',
            {
                "authorization": "Bearer abc",
                "content-type": "application/json",
                "cookie": "session=1",
                "x-forwarded-for": "6.6.6.6",
            },
            client_address="10.0.0.5",
        )

    request = seen[0]
    assert request.url.path == "/v1/auth/login"
    assert request.content == b'{"username": "u"}'
    assert request.headers["authorization"] == "Bearer abc"
    assert "cookie" not in request.headers
    assert request.headers["x-forwarded-for"] == "10.0.0.5"
    assert answer.status == 429
    assert answer.headers == {"content-type": "application/problem+json", "retry-after": "7"}
    assert answer.json() == {"code": "too_many_requests"}


async def test_auth_down_is_an_outage_not_a_crash() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(refuse), base_url="http://auth"
    ) as http:
        client = AuthClient(http)
        with pytest.raises(AuthUnavailableError):
            await client.post_json("/v1/auth/register", {"username": "u"}, None)
        assert not await client.is_healthy()


async def test_header_values_are_trimmed_and_empty_ones_dropped() -> None:
    seen: list[httpx.Request] = []

    def auth(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(auth), base_url="http://auth"
    ) as http:
        await AuthClient(http).forward(
            "/v1/auth/me",
            b"",
            {"authorization": "Bearer abc \t", "user-agent": " ", "accept": "*/*"},
            client_address=None,
            method="DELETE",
        )

    assert seen[0].method == "DELETE"
    assert seen[0].headers["authorization"] == "Bearer abc"
    # The blank one was dropped; the client's own default took its place.
    assert seen[0].headers["user-agent"].startswith("python-httpx/")
