"""After a run of known size through real processes, the scraped numbers are exactly that run.

Auth, the gateway and two processors run as real processes on real Kafka and
MongoDB-wire server. Two users sign up (one also fails a login and refreshes once) and
enqueue ten echo requests each. Every counter and histogram count scraped
from /metrics must equal what that run did, exactly; and every metric the
dashboards and alert rules read must be one the services really export.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lanes_devstack.waiting import eventually

from .scrape import (
    PROMETHEUS_SERIES,
    Scrape,
    dashboard_exprs,
    merged,
    metric_names,
    rule_exprs,
    scrape,
)

pytestmark = pytest.mark.integration

USERS = 2
REQUESTS_PER_USER = 10
REQUESTS = USERS * REQUESTS_PER_USER
PARTITIONS = 6
PROCESSORS = 2
PASSWORD = "correct-horse-battery"


async def sign_up(client: httpx.AsyncClient, username: str) -> dict[str, Any]:
    registered = await client.post(
        "/v1/auth/register", json={"username": username, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    login = await client.post("/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens: dict[str, Any] = login.json()
    return tokens


async def test_scraped_counts_equal_the_run(lanes_stack: Any) -> None:
    stack = lanes_stack(processors=PROCESSORS, partitions=PARTITIONS)
    assert stack.gateway is not None and stack.auth is not None
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=30) as client:

        async def processors() -> list[Scrape]:
            return [await scrape(client, p.url) for p in stack.processors]

        async def settled() -> bool:
            # Every partition owned, each replica some: no rebalance will redeliver work.
            owned = [p.total("lanes_processor_assigned_partitions") for p in await processors()]
            return sum(owned) == PARTITIONS and all(owned)

        await eventually(settled, timeout=60, what="partitions spread over the replicas")

        tokens = [await sign_up(client, f"user{u}") for u in range(USERS)]
        wrong = await client.post("/v1/auth/login", json={"username": "user0", "password": "nope"})
        assert wrong.status_code == 401
        refreshed = await client.post(
            "/v1/auth/refresh", json={"refresh_token": tokens[0]["refresh_token"]}
        )
        assert refreshed.status_code == 200, refreshed.text

        for n in range(REQUESTS_PER_USER):
            for token in tokens:
                response = await client.post(
                    "/v1/requests",
                    json={"type": "echo", "payload": {"n": n}},
                    headers={"authorization": f"Bearer {token['access_token']}"},
                )
                assert response.status_code == 202, response.text

        async def all_finished_and_committed() -> bool:
            replicas = merged(await processors())
            lags = replicas.values("lanes_processor_consumer_lag")
            return (
                replicas.total("lanes_processor_finished_total", state="succeeded") == REQUESTS
                and len(lags) == PARTITIONS
                and all(s.value == 0 for s in lags)
            )

        await eventually(
            all_finished_and_committed, timeout=120, what="every request finished and committed"
        )

        gateway = await scrape(client, stack.gateway.url)
        auth = await scrape(client, stack.auth.url)
        replicas = merged(await processors())

    assert_gateway_counts(gateway)
    assert_auth_counts(auth)
    assert_processor_counts(replicas)
    assert_dashboards_and_rules_read_exported_metrics([gateway, auth, replicas])


def assert_gateway_counts(gateway: Scrape) -> None:
    http = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in gateway.values("lanes_http_requests_total")
    }
    assert http == {
        ("POST", "/v1/auth/register", "201"): USERS,
        ("POST", "/v1/auth/login", "200"): USERS,
        ("POST", "/v1/auth/login", "401"): 1,
        ("POST", "/v1/auth/refresh", "200"): 1,
        ("POST", "/v1/requests", "202"): REQUESTS,
    }
    for (method, route, status), count in http.items():
        labels = {"method": method, "route": route, "status": status}
        assert gateway.total("lanes_http_request_duration_seconds_count", **labels) == count
        assert gateway.total("lanes_http_request_duration_seconds_bucket", le="+Inf", **labels) == (
            count
        )
    assert gateway.total("lanes_gateway_enqueued_total", type="echo", result="accepted") == REQUESTS
    assert gateway.total("lanes_gateway_enqueued_total", result="unavailable") == 0
    assert gateway.total("lanes_gateway_kafka_produce_seconds_count") == REQUESTS
    assert gateway.total("lanes_gateway_kafka_produce_seconds_bucket", le="+Inf") == REQUESTS
    assert gateway.total("lanes_gateway_kafka_produce_errors_total") == 0
    assert gateway.total("lanes_gateway_idempotent_replays_total") == 0
    assert gateway.total("lanes_gateway_quota_rejections_total") == 0


def assert_auth_counts(auth: Scrape) -> None:
    assert auth.total("lanes_auth_registrations_total", outcome="created") == USERS
    assert auth.total("lanes_auth_registrations_total") == USERS
    assert auth.total("lanes_auth_logins_total", outcome="success") == USERS
    assert auth.total("lanes_auth_logins_total", outcome="invalid_credentials") == 1
    assert auth.total("lanes_auth_logins_total") == USERS + 1
    assert auth.total("lanes_auth_refreshes_total", outcome="success") == 1
    assert auth.total("lanes_auth_refreshes_total") == 1
    assert auth.total("lanes_auth_lockouts_total") == 0
    assert auth.total("lanes_http_requests_total", route="/v1/auth/login", status="200") == USERS
    assert auth.total("lanes_http_request_duration_seconds_count", route="/v1/auth/login") == (
        USERS + 1
    )


def assert_processor_counts(replicas: Scrape) -> None:
    assert replicas.total("lanes_processor_consumed_total", type="echo") == REQUESTS
    assert replicas.total("lanes_processor_finished_total", type="echo", state="succeeded") == (
        REQUESTS
    )
    assert replicas.total("lanes_processor_finished_total") == REQUESTS
    assert replicas.total("lanes_processor_processing_seconds_count", type="echo") == REQUESTS
    assert replicas.total("lanes_processor_end_to_end_seconds_count", type="echo") == REQUESTS
    assert replicas.total("lanes_processor_end_to_end_seconds_bucket", le="+Inf") == REQUESTS
    assert replicas.total("lanes_processor_retries_total") == 0
    assert replicas.total("lanes_processor_skipped_total") == 0
    assert replicas.total("lanes_processor_in_flight") == 0
    assert replicas.total("lanes_processor_buffered") == 0
    assert replicas.total("lanes_processor_assigned_partitions") == PARTITIONS
    assert replicas.total("lanes_processor_commits_total", result="error") == 0
    assert replicas.total("lanes_processor_commits_total", result="ok") >= 1
    # Each partition's lag is reported by its owner only, once.
    lags = replicas.values("lanes_processor_consumer_lag")
    reported = sorted(s.labels["partition"] for s in lags)
    assert reported == [str(p) for p in range(PARTITIONS)]


def assert_dashboards_and_rules_read_exported_metrics(scrapes: list[Scrape]) -> None:
    exported = set().union(*(s.series_names for s in scrapes)) | PROMETHEUS_SERIES
    queries = {**dashboard_exprs(), **rule_exprs()}
    assert queries
    unknown = {
        where: sorted(metric_names(expr) - exported)
        for where, expr in queries.items()
        if metric_names(expr) - exported
    }
    assert unknown == {}, f"queries read metrics no service exports: {unknown}"
