"""Probes and the OpenAPI document of a running gateway."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.conftest import GatewayStack

pytestmark = pytest.mark.integration


def test_ready_when_mongo_kafka_and_auth_answer(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    ready = client.get("/readyz")

    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"mongo": True, "kafka": True, "auth": True},
    }
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/metrics").status_code == 200


def test_openapi_documents_bearer_auth_and_deprecates_legacy_routes(
    client: httpx.Client,
) -> None:
    spec = client.get("/openapi.json").json()

    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "Problem" in spec["components"]["schemas"]
    for prefix in ("", "/api"):
        for path, method in [
            ("/register", "post"),
            ("/login", "post"),
            ("/enqueue", "post"),
            ("/status", "get"),
        ]:
            assert spec["paths"][f"{prefix}{path}"][method]["deprecated"] is True
    enqueue = spec["paths"]["/v1/requests"]["post"]
    assert "deprecated" not in enqueue
    assert {"202", "400", "401", "413", "422", "503"} <= set(enqueue["responses"])
    assert enqueue["security"] == [{"bearer": []}]
