"""The client's models match the gateway's OpenAPI document, field by field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from lanes_client import types
from lanes_gateway.config import GatewaySettings
from lanes_gateway.main import create_app

# Client model → the schema it mirrors in the gateway's OpenAPI document.
MIRRORED: dict[type[BaseModel], str] = {
    types.EnqueuedRequest: "EnqueuedRequest",
    types.RequestLinks: "RequestLinks",
    types.RequestFailure: "RequestFailure",
    types.RequestView: "RequestView",
    types.RequestPage: "RequestPage",
    types.QueueSummary: "QueueSummary",
    types.StreamedStatus: "StreamedStatus",
}


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    document: dict[str, Any] = create_app(GatewaySettings()).openapi()
    found: dict[str, Any] = document["components"]["schemas"]
    return found


def _kind(schema: dict[str, Any]) -> set[str]:
    """The JSON types a property schema allows (refs and enums count as what they name)."""
    options = schema.get("anyOf", [schema])
    kinds = set()
    for option in options:
        if "$ref" in option:
            kinds.add(option["$ref"].rsplit("/", 1)[-1])
        elif "enum" in option or option.get("format") == "date-time":
            kinds.add(option.get("format", "string"))
        elif "type" in option:
            kinds.add(option["type"])
        else:
            kinds.add("any")
    return kinds


@pytest.mark.parametrize("model", sorted(MIRRORED, key=lambda m: m.__name__))
def test_client_model_has_the_servers_fields_and_types(
    schemas: dict[str, Any], model: type[BaseModel]
) -> None:
    server = schemas[MIRRORED[model]]
    client = model.model_json_schema(ref_template="#/components/schemas/{model}")
    assert set(client["properties"]) == set(server["properties"])
    for name, prop in server["properties"].items():
        server_kinds, client_kinds = _kind(prop), _kind(client["properties"][name])
        # The client may be laxer (accept anything) but never stricter than the server.
        assert "any" in client_kinds or server_kinds <= client_kinds | {"RequestState"}, name


def test_request_states_match(schemas: dict[str, Any]) -> None:
    assert set(schemas["RequestState"]["enum"]) == {s.value for s in types.RequestState}


def test_timestamps_parse_with_and_without_milliseconds() -> None:
    base = {"request_id": "r", "type": "echo", "state": "queued", "attempts": 0}
    for stamp in ("2026-12-04T20:00:00Z", "2026-12-04T20:00:00.123Z", "2026-12-04T20:00:00+00:00"):
        assert types.StreamedStatus.model_validate({**base, "occurred_at": stamp}).occurred_at
