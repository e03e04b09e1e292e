"""Property-based fuzzing of auth and the gateway from their own OpenAPI documents (schemathesis).

Both services run as real processes on the real Kafka and MongoDB-wire server. Every
operation of each document is exercised with generated valid *and* invalid
requests (at least `MIN_CASES` per service), mostly with a valid access
token (else only the 401 path would be tested), sometimes with whatever
credentials schemathesis generated. Each answer must be no 5xx and must
match the document: a documented status, content type, headers and body
schema. Shrinking is off so that a failure is reported at once, and the
case count is fixed, so the run is bounded.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lanes_devstack.infra_modes import IntegrationInfra
from lanes_devstack.process import free_port
from lanes_devstack.stack import LanesStack, StackConfig

pytestmark = pytest.mark.integration

SERVICES = ("auth", "gateway")
MIN_CASES = 500
# A few more than required: the count asserted is of requests actually sent.
MAX_EXAMPLES = 520
MISSED_EXAMPLES = 5
"""Cases for an operation the draw across all of them happened to leave out."""
PASSWORD = "fuzzing is caring"
# Accounts the fuzzer may delete with `DELETE /v1/auth/me`; afterwards it gets 401s.
DISPOSABLE_ACCOUNTS = 3
# Operations that must have succeeded at least once with the valid token: proof that
# it was used. (Ones whose generated parameters are mostly invalid are not listed.)
AUTHENTICATED_SUCCESS = {
    "auth": {"DELETE /v1/auth/me"},
    "gateway": {"POST /v1/requests", "GET /v1/queue", "GET /status"},
}
# Not `negative_data_rejection`: it counts an unknown query parameter (`?=`) as invalid
# input that must be refused, and these APIs ignore unknown parameters, as HTTP APIs do.
# Invalid input is still sent (negative mode) and its answers still checked.
# Event streams stay open until the token expires: a fuzzer waiting for the end of the
# body would hang. Their inputs are proven in tests/events (bad ids, Last-Event-ID, tokens).
STREAMING_PATHS = r"/events$"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def stack(
    infra: IntegrationInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LanesStack]:
    """Auth and gateway (no processor: requests only need to be accepted) on a fresh topic."""
    name = f"t{uuid.uuid4().hex[:12]}"
    work = tmp_path_factory.mktemp("fuzz")
    config = StackConfig(
        log_dir=work / "logs",
        keys_dir=work / "keys",
        auth_port=free_port(),
        gateway_port=free_port(),
        processor_ports=[],
        database=name,
        requests_topic=f"{name}.requests",
        dead_letter_topic=f"{name}.requests.dlq",
        partitions=3,
        extra_env={"LANES_LOG_FORMAT": "json"},
    )
    infra.create_topics([config.requests_topic, config.dead_letter_topic], config.partitions)
    lanes = LanesStack(config, infra.kafka_bootstrap_servers, infra.mongo_uri)
    lanes.start()
    yield lanes
    lanes.stop()


def _access_token(base_url: str, username: str) -> str:
    with httpx.Client(base_url=base_url, timeout=30.0) as http:
        credentials = {"username": username, "password": PASSWORD}
        assert http.post("/v1/auth/register", json=credentials).status_code == 201
        login = http.post("/v1/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        return str(login.json()["access_token"])


@dataclass
class Tokens:
    """A valid token for the fuzzing user, and throwaway accounts' tokens to delete."""

    main: str
    disposable: list[str]
    spent: list[str] = field(default_factory=list)

    def for_case(self, case: schemathesis.Case) -> str:
        """The token to send: a throwaway one where the case would delete its account."""
        if (case.method, case.path) != ("DELETE", "/v1/auth/me"):
            return self.main
        if self.disposable:
            self.spent.append(self.disposable.pop())
        # Once every throwaway account is gone, their tokens exercise the 401 path.
        return self.spent[-1]


def _fuzz(service_url: str, tokens: Tokens, log: Path) -> dict[str, dict[int, int]]:
    """Send generated cases to every operation; the statuses answered, by operation.

    Hypothesis draws operations at random and, for one that takes no input,
    stops after the few cases it can tell apart, so a draw across all of them
    can leave such an operation out. Any operation the first draw missed gets
    a few cases of its own afterwards, checked the same way.
    """
    schema = schemathesis.openapi.from_url(f"{service_url}/openapi.json").exclude(
        path_regex=STREAMING_PATHS
    )
    seen: dict[str, dict[int, int]] = {}
    session = requests.Session()

    def run(cases: st.SearchStrategy[schemathesis.Case], max_examples: int) -> None:
        @given(case=cases, use_valid_token=st.sampled_from([True, True, True, False]))
        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def one_case(case: schemathesis.Case, use_valid_token: bool) -> None:
            headers = {}
            if use_valid_token and case.operation.security:
                headers["Authorization"] = f"Bearer {tokens.for_case(case)}"
            statuses = seen.setdefault(_label(case.method, case.path), {})
            response = case.call(base_url=service_url, session=session, headers=headers, timeout=30)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        one_case()

    try:
        run(
            schema.as_strategy(schemathesis.GenerationMode.POSITIVE)
            | schema.as_strategy(schemathesis.GenerationMode.NEGATIVE),
            MAX_EXAMPLES,
        )
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                raise result.err()
            operation = result.ok()
            if _label(operation.method, operation.path) not in seen:
                run(operation.as_strategy(schemathesis.GenerationMode.POSITIVE), MISSED_EXAMPLES)
    finally:
        session.close()
        log.write_text("".join(f"{label}: {counts}\n" for label, counts in sorted(seen.items())))
    return seen


def _label(method: str, path: str) -> str:
    return f"{method.upper()} {path}"


def _operations(service_url: str) -> set[str]:
    spec = httpx.get(f"{service_url}/openapi.json").json()
    return {
        f"{method.upper()} {path}"
        for path, ops in spec["paths"].items()
        for method in ops
        if not re.search(STREAMING_PATHS, path)
    }


@pytest.fixture(scope="module")
def tokens(stack: LanesStack) -> dict[str, Tokens]:
    """Tokens for each service's run, all made first: fuzzed failed logins soon earn a 429."""
    assert stack.auth is not None
    auth_url = stack.auth.url
    return {
        service: Tokens(
            main=_access_token(auth_url, f"fuzz-{service}"),
            disposable=[
                _access_token(auth_url, f"fuzz-{service}-{n}") for n in range(DISPOSABLE_ACCOUNTS)
            ],
        )
        for service in SERVICES
    }


@pytest.mark.parametrize("service", SERVICES)
def test_fuzzed_requests_get_documented_answers_and_never_a_5xx(
    stack: LanesStack, tokens: dict[str, Tokens], service: str, tmp_path: Path
) -> None:
    running = stack.auth if service == "auth" else stack.gateway
    assert running is not None

    seen = _fuzz(running.url, tokens[service], tmp_path / "cases.txt")

    assert sum(sum(statuses.values()) for statuses in seen.values()) >= MIN_CASES, seen
    # Every documented operation was exercised, and the token got past the door.
    assert set(seen) == _operations(running.url), seen
    authenticated = [label for label in seen if label in AUTHENTICATED_SUCCESS[service]]
    for label in authenticated:
        assert any(200 <= status < 300 for status in seen[label]), (label, seen[label])
