"""How problem-details answers are documented in a service's OpenAPI.

Each service words its statuses itself (a 409 in auth is a taken username, in
the gateway a state conflict); the shape is shared: every error answers the
`Problem` schema as ``application/problem+json``, a 401 names the bearer
challenge, and 429 and 503 say when to retry, in whole seconds.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from lanes_common.http.problems import PROBLEM_MEDIA_TYPE, Problem

Responses = dict[int | str, dict[str, Any]]
"""What FastAPI's ``responses=`` takes: OpenAPI response objects by status."""

_REF_TEMPLATE = "#/components/schemas/{model}"
_PROBLEM_REF = _REF_TEMPLATE.format(model="Problem")
_CHALLENGE = "WWW-Authenticate"
# RFC 9110 §10.2.3 allows an HTTP date too; Lanes only ever sends delay-seconds.
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer"},
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        _CHALLENGE: {
            "description": "The bearer challenge (RFC 6750), on routes that take a bearer token.",
            "schema": {"type": "string"},
        }
    },
    429: {"Retry-After": {**_RETRY_AFTER, "required": True}},
    503: {"Retry-After": _RETRY_AFTER},
}


def problem_responses(
    wording: Mapping[int, str], statuses: Iterable[int], overrides: Mapping[str, str]
) -> Responses:
    """OpenAPI ``responses`` entries for ``statuses``, answered as problem details.

    ``wording`` is the service's description of each status (the HTTP phrase
    where it has none); ``overrides`` replaces one for a route, keyed ``s409``.
    """
    responses: Responses = {}
    for status in statuses:
        default = wording.get(status, HTTPStatus(status).phrase)
        responses[status] = {
            "description": overrides.get(f"s{status}", default),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}},
        }
        if status in _HEADERS:
            # A copy per route: `_require_challenge_on_bearer_routes` edits it in place.
            responses[status]["headers"] = copy.deepcopy(_HEADERS[status])
    return responses


def _operations(schema: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for operations in schema.get("paths", {}).values():
        yield from operations.values()


def _answer_validation_errors_as_problems(
    schema: dict[str, Any], wording: Mapping[int, str]
) -> None:
    """Document the 422s FastAPI adds on its own as what the handler really sends: a Problem."""
    for operation in _operations(schema):
        responses = operation.get("responses", {})
        if "application/json" in responses.get("422", {}).get("content", {}):
            responses["422"] = problem_responses(wording, [422], {})[422]
    schemas = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _require_challenge_on_bearer_routes(schema: dict[str, Any]) -> None:
    """A route that reads a bearer token answers every 401 with the challenge; others may not."""
    for operation in _operations(schema):
        takes_bearer = any("bearer" in scheme for scheme in operation.get("security", []))
        challenge = operation.get("responses", {}).get("401", {}).get("headers", {}).get(_CHALLENGE)
        if takes_bearer and challenge is not None:
            challenge["required"] = True


def document_problems(
    app: FastAPI, wording: Mapping[int, str], unseen_models: Iterable[type[BaseModel]] = ()
) -> None:
    """Extend the app's OpenAPI with the `Problem` schema that `problem_responses` refers to.

    ``wording`` describes the 422s FastAPI documents on its own; ``unseen_models``
    are schemas no route declares (the data of a server-sent event stream).
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _answer_validation_errors_as_problems(schema, wording)
            _require_challenge_on_bearer_routes(schema)
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(ref_template=_REF_TEMPLATE)
            for model in unseen_models:
                schemas[model.__name__] = model.model_json_schema(
                    ref_template=_REF_TEMPLATE, mode="serialization"
                )
            app.openapi_schema = schema
        return app.openapi_schema

    # FastAPI's documented way to extend the generated schema.
    app.openapi = openapi  # type: ignore[method-assign]
