"""The gateway's OpenAPI document: every route, its models, its errors and the bearer scheme."""

from __future__ import annotations

from typing import Any

import pytest

from lanes_common.http.problems import PROBLEM_MEDIA_TYPE
from lanes_gateway.config import GatewaySettings
from lanes_gateway.main import create_app


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = create_app(GatewaySettings()).openapi()
    return document


PROTECTED = {
    ("/v1/requests", "post"): {"202", "400", "401", "409", "413", "422", "429", "503"},
    ("/v1/requests", "get"): {"200", "401", "422", "503"},
    ("/v1/requests/{request_id}", "get"): {"200", "401", "404", "503"},
    ("/v1/requests/{request_id}", "delete"): {"200", "401", "404", "409", "503"},
    ("/v1/queue", "get"): {"200", "401", "503"},
    ("/enqueue", "post"): {"200", "401", "413", "422", "429", "503"},
    ("/status", "get"): {"200", "401", "503"},
}


@pytest.mark.parametrize(("path", "method"), sorted(PROTECTED))
def test_protected_routes_document_bearer_auth_and_their_errors(
    spec: dict[str, Any], path: str, method: str
) -> None:
    operation = spec["paths"][path][method]

    assert operation["security"] == [{"bearer": []}]
    assert PROTECTED[(path, method)] <= set(operation["responses"])
    assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
    success = next(status for status in operation["responses"] if status.startswith("2"))
    assert "$ref" in operation["responses"][success]["content"]["application/json"]["schema"]


def test_every_error_is_a_problem_and_waits_are_announced(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and response.get("content"):
                    assert list(response["content"]) == [PROBLEM_MEDIA_TYPE], (path, method, status)
                if status == "429":
                    assert response["headers"]["Retry-After"]["required"] is True
    assert "Problem" in spec["components"]["schemas"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from `POST /v1/auth/login`.",
    }


def test_enqueue_documents_the_idempotency_key(spec: dict[str, Any]) -> None:
    enqueue = spec["paths"]["/v1/requests"]["post"]
    (header,) = [p for p in enqueue["parameters"] if p["in"] == "header"]

    assert header["name"] == "Idempotency-Key" and not header.get("required", False)
    assert header["schema"]["anyOf"][0]["pattern"] == "^[!-~]{1,255}$"
    assert set(enqueue["responses"]["202"]["headers"]) == {"Location", "Idempotent-Replayed"}


def test_every_route_is_documented(spec: dict[str, Any]) -> None:
    routes = {(path, method) for path, operations in spec["paths"].items() for method in operations}

    assert routes >= {
        ("/v1/auth/register", "post"),
        ("/v1/auth/login", "post"),
        ("/v1/auth/refresh", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/auth/me", "delete"),
        ("/register", "post"),
        ("/login", "post"),
        ("/api/enqueue", "post"),
        ("/api/status", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        *PROTECTED,
    }
