"""The auth HTTP API against a real auth process and MongoDB-wire server."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
import pytest

from lanes_common.http.problems import PROBLEM_MEDIA_TYPE
from lanes_common.tokens import JwksKeySet, TokenVerifier
from lanes_devstack.services import RunningService

from .processes import AUDIENCE, ISSUER, PASSWORD

pytestmark = pytest.mark.integration


def _register(auth: httpx.Client, **body: Any) -> httpx.Response:
    return auth.post("/v1/auth/register", json={"password": PASSWORD, **body})


def _assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["code"] == code
    return problem


def test_register_answers_201_with_the_account(auth: httpx.Client, unique_name: str) -> None:
    response = _register(
        auth, username=unique_name, email=f"{unique_name}@example.com", name="Alice Example"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"]
    assert body == {
        "id": body["id"],
        "username": unique_name,
        "email": f"{unique_name}@example.com",
    }


def test_register_with_only_an_email_or_only_a_username(
    auth: httpx.Client, unique_name: str
) -> None:
    by_email = _register(auth, email=f"{unique_name}@example.com")
    by_name = _register(auth, username=unique_name)
    assert (by_email.status_code, by_name.status_code) == (201, 201)
    assert by_email.json()["username"] is None
    assert by_name.json()["email"] is None


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ({"username": "{n}"}, {"username": "{N}"}, "username"),
        ({"email": "{n}@example.com"}, {"email": "{N}@EXAMPLE.com"}, "email"),
        ({"username": "{n}", "email": "{n}@example.com"}, {"email": "{N}@example.com"}, "email"),
    ],
)
def test_duplicates_differing_only_in_case_are_409(
    auth: httpx.Client, unique_name: str, first: dict[str, str], second: dict[str, str], field: str
) -> None:
    names = {"n": unique_name.lower(), "N": unique_name.upper()}
    assert _register(auth, **{k: v.format(**names) for k, v in first.items()}).status_code == 201
    response = _register(auth, **{k: v.format(**names) for k, v in second.items()})
    problem = _assert_problem(response, 409, "user_exists")
    assert field in problem["detail"]


def test_concurrent_registrations_of_one_name_create_exactly_one_account(
    auth_service: RunningService, unique_name: str
) -> None:
    variants = [unique_name.lower(), unique_name.upper(), unique_name.capitalize()] * 2

    def register(username: str) -> int:
        with httpx.Client(base_url=auth_service.url, timeout=30.0) as client:
            return _register(client, username=username).status_code

    with ThreadPoolExecutor(len(variants)) as pool:
        statuses = sorted(pool.map(register, variants))
    assert statuses == [201] + [409] * (len(variants) - 1)


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "{N}"},
        {"email": "{N}@Example.COM"},
        {"login": "{n}"},
        {"login": "{n}@example.com"},
        {"username": "{n}@example.com"},
    ],
)
def test_login_by_username_or_email_in_any_case(
    auth: httpx.Client, unique_name: str, credentials: dict[str, str]
) -> None:
    registered = _register(auth, username=unique_name, email=f"{unique_name}@example.com").json()
    names = {"n": unique_name, "N": unique_name.upper()}
    body = {k: v.format(**names) for k, v in credentials.items()}
    response = auth.post("/v1/auth/login", json={**body, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    assert tokens["token"] == tokens["access_token"]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == registered["id"]
    assert claims["username"] == unique_name


def test_wrong_password_and_unknown_user_answer_identically(
    auth: httpx.Client, unique_name: str
) -> None:
    _register(auth, username=unique_name)

    def attempt(login: str, password: str) -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        response = auth.post(
            "/v1/auth/login",
            json={"login": login, "password": password},
            headers={"x-forwarded-for": "192.0.2.10"},
        )
        return response, time.perf_counter() - started

    wrong_password, wrong_password_times = [], []
    unknown_user, unknown_user_times = [], []
    for _ in range(4):  # under the per-account limit of 5
        response, elapsed = attempt(unique_name, "not the password")
        wrong_password.append(response)
        wrong_password_times.append(elapsed)
        response, elapsed = attempt(f"{unique_name}-nobody", "not the password")
        unknown_user.append(response)
        unknown_user_times.append(elapsed)

    for a, b in zip(wrong_password, unknown_user, strict=True):
        _assert_problem(a, 401, "invalid_credentials")
        assert a.content == b.content
        assert {k: v for k, v in a.headers.items() if k != "date"} == {
            k: v for k, v in b.headers.items() if k != "date"
        }
    # Without the dummy verification an unknown user answers ~50x faster; a shared
    # CI machine is noisy, so the check allows a factor of 3 either way.
    ratio = statistics.median(unknown_user_times) / statistics.median(wrong_password_times)
    assert 1 / 3 < ratio < 3, (unknown_user_times, wrong_password_times)


def test_malformed_json_is_a_400_problem(auth: httpx.Client) -> None:
    for path in ("/v1/auth/register", "/v1/auth/login"):
        response = auth.post(
            path,
            content=b'{"username": "x", "password":',
            headers={"content-type": "application/json"},
        )
        _assert_problem(response, 400, "malformed_json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "{n}", "password": "x" * 257}, "body.password"),
        ({"username": "{n}", "password": "short"}, "body.password"),
        ({"username": "{n}", "password": "{n}"}, "body.password"),
        ({"email": "{n}@example.com", "password": "{n}@EXAMPLE.com"}, "body.password"),
        ({"username": "{n}@example.com", "password": PASSWORD}, "body.username"),
        ({"username": "{n}" + "x" * 64, "password": PASSWORD}, "body.username"),
        ({"email": "not-an-email", "password": PASSWORD}, "body.email"),
        ({"email": "{n}@" + "x" * 250 + ".com", "password": PASSWORD}, "body.email"),
        ({"username": "{n}", "name": "x" * 201, "password": PASSWORD}, "body.name"),
        ({"username": 42, "password": PASSWORD}, "body.username"),
        ({"password": PASSWORD}, "body.username"),
        ({"username": "{n}"}, "body.password"),
    ],
)
def test_invalid_registrations_are_422_naming_the_field(
    auth: httpx.Client, unique_name: str, body: dict[str, Any], field: str
) -> None:
    filled = {k: v.format(n=unique_name) if isinstance(v, str) else v for k, v in body.items()}
    problem = _assert_problem(auth.post("/v1/auth/register", json=filled), 422, "validation_failed")
    assert field in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "body.login"),
        ({"login": "x" * 255, "password": PASSWORD}, "body.login"),
        ({"login": "alice", "password": "x" * 257}, "body.password"),
        ({"login": "alice"}, "body.password"),
    ],
)
def test_invalid_logins_are_422_naming_the_field(
    auth: httpx.Client, body: dict[str, Any], field: str
) -> None:
    problem = _assert_problem(auth.post("/v1/auth/login", json=body), 422, "validation_failed")
    assert [e["field"] for e in problem["errors"]] == [field]


def test_jwks_publishes_the_signing_key(auth: httpx.Client) -> None:
    response = auth.get("/.well-known/jwks.json")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert {k: key[k] for k in ("kty", "crv", "use", "alg")} == {
        "kty": "OKP",
        "crv": "Ed25519",
        "use": "sig",
        "alg": "EdDSA",
    }
    assert "d" not in key


async def test_a_login_token_passes_the_shared_verifier_with_the_served_jwks(
    auth_service: RunningService, unique_name: str
) -> None:
    async with httpx.AsyncClient(base_url=auth_service.url, timeout=30.0) as http:
        registered = await http.post(
            "/v1/auth/register", json={"email": f"{unique_name}@example.com", "password": PASSWORD}
        )
        login = await http.post(
            "/v1/auth/login", json={"email": f"{unique_name}@example.com", "password": PASSWORD}
        )
        token = login.json()["access_token"]
        keys = JwksKeySet(f"{auth_service.url}/.well-known/jwks.json", http)
        verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
        claims = await verifier.verify(token)
    assert claims.subject == registered.json()["id"]
    assert claims.username is None
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    unverified = jwt.decode(token, options={"verify_signature": False})
    assert set(unverified) == {"sub", "username", "iss", "aud", "exp", "iat", "nbf", "jti"}
    assert unverified["exp"] - unverified["iat"] == 900


def test_readiness_reports_mongo(auth: httpx.Client) -> None:
    response = auth.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"mongo": True}
    assert auth.get("/healthz").status_code == 200


def test_openapi_documents_models_and_error_responses(auth: httpx.Client) -> None:
    spec = auth.get("/openapi.json").json()
    expected = {
        ("/v1/auth/register", "post"): {"201", "400", "409", "422"},
        ("/v1/auth/login", "post"): {"200", "400", "401", "422", "429"},
        ("/v1/auth/refresh", "post"): {"200", "400", "401", "422"},
        ("/.well-known/jwks.json", "get"): {"200"},
    }
    for (path, method), statuses in expected.items():
        operation = spec["paths"][path][method]
        assert statuses <= set(operation["responses"]), (path, operation["responses"])
        assert operation["description"]
        success = next(s for s in statuses if s.startswith("2"))
        assert "$ref" in operation["responses"][success]["content"]["application/json"]["schema"]
        for status in statuses - {success}:
            assert PROBLEM_MEDIA_TYPE in operation["responses"][status]["content"]
    assert "Problem" in spec["components"]["schemas"]
    assert "Retry-After" in spec["paths"]["/v1/auth/login"]["post"]["responses"]["429"]["headers"]
    assert set(spec["paths"]["/v1/auth/logout"]["post"]["responses"]) >= {"204", "422"}
    delete_me = spec["paths"]["/v1/auth/me"]["delete"]
    assert set(delete_me["responses"]) >= {"204", "401", "503"}
    assert delete_me["security"] == [{"bearer": []}]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_password_never_reaches_the_log(
    auth: httpx.Client, auth_service: RunningService, unique_name: str
) -> None:
    secret = f"pw-{unique_name}-do-not-log"
    auth.post("/v1/auth/register", json={"username": unique_name, "password": secret})
    elsewhere = {"x-forwarded-for": "192.0.2.20"}
    auth.post("/v1/auth/login", json={"login": unique_name, "password": secret}, headers=elsewhere)
    for login, password in ((unique_name, secret + "x"), (f"{unique_name}x", secret)):
        auth.post("/v1/auth/login", json={"login": login, "password": password}, headers=elsewhere)
    # Failing validation must not echo it either.
    auth.post("/v1/auth/register", json={"username": unique_name, "password": secret * 20})
    auth.post("/v1/auth/register", json={"username": secret, "password": secret})
    # Each request's log lines are written before its response is sent.
    log = auth_service.process.log_path.read_text()
    assert "login failed: wrong password" in log
    assert "login failed: unknown login name" in log
    assert secret not in log
