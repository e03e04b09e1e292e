"""Signing keys: RFC 7638 key ids, loading, generation and rotation order."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lanes_auth.errors import SigningKeyError
from lanes_auth.keys import (
    KeyRing,
    SigningKey,
    generate_signing_key,
    jwk_thumbprint,
    load_key_ring,
    okp_public_jwk,
    read_signing_key,
)

# RFC 8037 appendix A.1 (the key) and A.3 (its RFC 7638 thumbprint).
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def _rfc8037_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(RFC8037_D + "="))


def _write_key(path: Path, key: Ed25519PrivateKey, mtime_ns: int | None = None) -> Path:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_kid_is_the_rfc7638_thumbprint_of_the_rfc8037_example() -> None:
    jwk = okp_public_jwk(_rfc8037_key().public_key())
    assert jwk == {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}
    assert jwk_thumbprint(jwk) == RFC8037_THUMBPRINT
    assert SigningKey.from_private_key(_rfc8037_key()).kid == RFC8037_THUMBPRINT


def test_public_jwk_is_an_okp_signature_key_without_private_parts() -> None:
    jwk = SigningKey.from_private_key(_rfc8037_key()).public_jwk()
    assert jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": RFC8037_X,
        "use": "sig",
        "alg": "EdDSA",
        "kid": RFC8037_THUMBPRINT,
    }


def test_reads_a_pem_key(tmp_path: Path) -> None:
    path = _write_key(tmp_path / "k.pem", _rfc8037_key())
    key = read_signing_key(path)
    assert key.kid == RFC8037_THUMBPRINT
    assert key.source == path


def test_a_non_ed25519_key_is_refused_with_its_file_name(tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SigningKeyError, match=r"ec\.pem holds a .*Ed25519"):
        read_signing_key(path)


def test_a_file_that_is_not_a_key_is_refused_with_its_file_name(tmp_path: Path) -> None:
    path = tmp_path / "junk.pem"
    path.write_text("not a key")
    with pytest.raises(SigningKeyError, match=r"junk\.pem is not an unencrypted PEM private key"):
        read_signing_key(path)


def test_an_encrypted_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "locked.pem"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pass"),
        )
    )
    with pytest.raises(SigningKeyError, match="unencrypted"):
        read_signing_key(path)


def test_empty_folder_without_generation_fails_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="LANES_AUTH_GENERATE_KEYS"):
        load_key_ring(tmp_path, generate=False)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_without_generation_fails_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match=r"LANES_AUTH_KEYS_DIR=.*does not exist"):
        load_key_ring(tmp_path / "absent", generate=False)


def test_a_file_instead_of_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(SigningKeyError, match="not a folder"):
        load_key_ring(tmp_path / "file", generate=True)


def test_generation_creates_a_private_folder_and_file(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    ring = load_key_ring(keys_dir, generate=True)
    (key_file,) = keys_dir.iterdir()
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert ring.kids == (read_signing_key(key_file).kid,)


def test_generation_tightens_an_existing_empty_folder(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    keys_dir.chmod(0o755)
    generate_signing_key(keys_dir)
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700


def test_generation_leaves_the_mode_of_a_folder_with_other_files_alone(tmp_path: Path) -> None:
    keys_dir = tmp_path / "shared"
    keys_dir.mkdir(mode=0o755)
    keys_dir.chmod(0o755)
    (keys_dir / "README").write_text("the operator's folder")
    path = generate_signing_key(keys_dir)
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o755
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_existing_keys_are_used_and_nothing_is_generated(tmp_path: Path) -> None:
    _write_key(tmp_path / "k.pem", _rfc8037_key())
    ring = load_key_ring(tmp_path, generate=True)
    assert ring.kids == (RFC8037_THUMBPRINT,)
    assert [p.name for p in tmp_path.iterdir()] == ["k.pem"]


def test_the_newest_key_signs_and_all_are_published(tmp_path: Path) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    # Named so that name order and age disagree: age decides.
    _write_key(tmp_path / "b-old.pem", old, mtime_ns=1_000_000_000_000_000_000)
    _write_key(tmp_path / "a-new.pem", new, mtime_ns=2_000_000_000_000_000_000)
    (tmp_path / "notes.txt").write_text("ignored: not a .pem file")
    ring = load_key_ring(tmp_path, generate=False)
    new_kid = SigningKey.from_private_key(new).kid
    old_kid = SigningKey.from_private_key(old).kid
    assert ring.signing_key.kid == new_kid
    assert [k["kid"] for k in ring.jwks()["keys"]] == [new_kid, old_kid]


def test_keys_of_equal_age_are_ordered_by_name(tmp_path: Path) -> None:
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    same = 1_500_000_000_000_000_000
    _write_key(tmp_path / "2025-01.pem", first, mtime_ns=same)
    _write_key(tmp_path / "2025-02.pem", second, mtime_ns=same)
    ring = load_key_ring(tmp_path, generate=False)
    assert ring.signing_key.kid == SigningKey.from_private_key(second).kid


def test_the_same_key_under_two_names_is_published_once(tmp_path: Path) -> None:
    _write_key(tmp_path / "a.pem", _rfc8037_key())
    _write_key(tmp_path / "b.pem", _rfc8037_key())
    ring = load_key_ring(tmp_path, generate=False)
    assert ring.kids == (RFC8037_THUMBPRINT,)
    assert len(ring.jwks()["keys"]) == 1


def test_an_empty_key_ring_is_refused() -> None:
    with pytest.raises(SigningKeyError):
        KeyRing([])
