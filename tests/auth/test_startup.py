"""Starting auth as a real process: its keys folder, and clear failures when it cannot start."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lanes_auth.keys import KeyRing, SigningKey, read_signing_key
from lanes_auth.tokens import AccessTokenIssuer
from lanes_common.tokens import JwksKeySet, TokenVerifier
from lanes_devstack.errors import DevstackError
from lanes_devstack.process import free_port
from lanes_devstack.services import start_service

from .processes import AUDIENCE, ISSUER, PASSWORD, AuthProcesses

pytestmark = pytest.mark.integration


def _jwks_kids(url: str) -> list[str]:
    return [key["kid"] for key in httpx.get(f"{url}/.well-known/jwks.json").json()["keys"]]


def _write_key(path: Path, key: Ed25519PrivateKey, mtime_ns: int) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_a_key_is_generated_into_an_empty_folder_and_kept(
    auth_processes: AuthProcesses, tmp_path: Path
) -> None:
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(mode=0o755)
    first = auth_processes.start(tmp_path, generate_keys=True)
    (key_file,) = keys_dir.iterdir()
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    kid = read_signing_key(key_file).kid
    assert _jwks_kids(first.url) == [kid]
    auth_processes.stop(first)
    assert "generated a development signing key" in first.process.log_path.read_text()

    second = auth_processes.start(tmp_path, generate_keys=True)
    assert list(keys_dir.iterdir()) == [key_file]
    assert _jwks_kids(second.url) == [kid]


def test_an_empty_folder_without_generation_stops_startup_naming_the_setting(
    auth_processes: AuthProcesses, tmp_path: Path
) -> None:
    (tmp_path / "keys").mkdir()
    with pytest.raises(DevstackError, match="exited before") as caught:
        auth_processes.start(tmp_path, generate_keys=False)
    message = str(caught.value)
    assert "auth cannot start" in message
    assert "LANES_AUTH_GENERATE_KEYS is false" in message
    assert "Traceback" not in message
    assert list((tmp_path / "keys").iterdir()) == []


def test_an_empty_keys_folder_setting_stops_startup_naming_it(
    auth_processes: AuthProcesses, tmp_path: Path
) -> None:
    # An empty value is what an unset variable in a manifest template becomes; it must
    # not mean "the current folder", even with generation on.
    with pytest.raises(DevstackError, match="exited before") as caught:
        auth_processes.start(tmp_path, generate_keys=True, overrides={"LANES_AUTH_KEYS_DIR": ""})
    assert "LANES_AUTH_KEYS_DIR is invalid" in str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert not list(Path.cwd().glob("*.pem"))


def test_an_unset_keys_folder_setting_stops_startup_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LANES_AUTH_KEYS_DIR", raising=False)
    port = free_port()
    with pytest.raises(DevstackError, match="exited before") as caught:
        start_service("auth", port, {"LANES_AUTH_PORT": str(port)}, tmp_path, timeout=30.0)
    assert "LANES_AUTH_KEYS_DIR is required but not set" in str(caught.value)


def test_an_unreachable_mongo_stops_startup_naming_the_setting(
    auth_processes: AuthProcesses, tmp_path: Path
) -> None:
    nobody_listens = f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=500"
    with pytest.raises(DevstackError, match="exited before") as caught:
        auth_processes.start(
            tmp_path,
            overrides={"LANES_MONGO_URI": nobody_listens, "LANES_STARTUP_TIMEOUT_SECONDS": "1"},
        )
    assert "MongoDB (LANES_MONGO_URI) did not answer" in str(caught.value)


async def test_with_two_keys_the_newest_signs_and_both_verify(
    auth_processes: AuthProcesses, tmp_path: Path
) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(mode=0o700)
    _write_key(keys_dir / "z-old.pem", old, mtime_ns=1_000_000_000_000_000_000)
    _write_key(keys_dir / "a-new.pem", new, mtime_ns=1_700_000_000_000_000_000)
    old_kid, new_kid = SigningKey.from_private_key(old).kid, SigningKey.from_private_key(new).kid
    service = auth_processes.start(tmp_path, generate_keys=False)
    async with httpx.AsyncClient(base_url=service.url, timeout=30.0) as http:
        await http.post("/v1/auth/register", json={"username": "rotor", "password": PASSWORD})
        login = await http.post("/v1/auth/login", json={"login": "rotor", "password": PASSWORD})
        fresh = login.json()["access_token"]
        # A token signed before the rotation, with the old key, by the same issuer.
        earlier = (
            AccessTokenIssuer(KeyRing([SigningKey.from_private_key(old)]), ISSUER, AUDIENCE, 900)
            .issue("someone", "someone")
            .token
        )
        keys = JwksKeySet(f"{service.url}/.well-known/jwks.json", http)
        verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
        assert (await verifier.verify(fresh)).username == "rotor"
        assert (await verifier.verify(earlier)).subject == "someone"
    assert _jwks_kids(service.url) == [new_kid, old_kid]
    assert jwt.get_unverified_header(fresh)["kid"] == new_kid
