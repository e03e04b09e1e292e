"""The HTTP edge auth and the gateway share: outage answers, lifespan state, OpenAPI agreement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from pymongo.errors import AutoReconnect

from lanes_auth.config import AuthSettings
from lanes_auth.main import create_app as create_auth_app
from lanes_common.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers, retry_after
from lanes_common.http.state import lifespan_state, resources_dependency
from lanes_gateway.config import GatewaySettings
from lanes_gateway.main import create_app as create_gateway_app


async def test_a_store_outage_is_a_503_problem_that_says_when_to_retry() -> None:
    app = FastAPI()
    install_problem_handlers(app, store_name="user store")

    @app.get("/users")
    async def users() -> None:
        raise AutoReconnect("connection refused")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
        answer = await client.get("/users")

    assert answer.status_code == 503
    assert answer.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["code"] == "unavailable"
    assert answer.json()["detail"] == "the user store is unavailable; try again"


def test_retry_after_is_delay_seconds() -> None:
    assert retry_after(5) == {"Retry-After": "5"}
    with pytest.raises(ValueError, match="negative"):
        retry_after(-1)


class Clients:
    """Stands in for a service's resources."""


def test_handlers_get_the_resources_the_lifespan_yielded() -> None:
    get_clients = resources_dependency(Clients)
    clients = Clients()

    served = Request({"type": "http", "state": dict(lifespan_state(clients))})
    assert get_clients(served) is clients
    with pytest.raises(RuntimeError, match="no Clients in the request state"):
        get_clients(Request({"type": "http", "state": {}}))


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    keys: Path = tmp_path_factory.mktemp("keys")
    return {
        "gateway": create_gateway_app(GatewaySettings()).openapi(),
        "auth": create_auth_app(AuthSettings(auth_keys_dir=keys)).openapi(),
    }


@pytest.mark.parametrize("service", ["auth", "gateway"])
def test_both_services_document_retry_after_and_the_challenge_alike(
    specs: dict[str, dict[str, Any]], service: str
) -> None:
    for path, operations in specs[service]["paths"].items():
        for method, operation in operations.items():
            takes_bearer = {"bearer": []} in operation.get("security", [])
            for status, response in operation["responses"].items():
                headers = response.get("headers", {})
                if "Retry-After" in headers:
                    assert headers["Retry-After"]["schema"] == {"type": "integer"}, (path, method)
                if status == "401":
                    challenge = headers["WWW-Authenticate"]
                    assert challenge.get("required", False) is takes_bearer, (path, method)
