"""Ed25519 signing keys: read from PEM files, named by RFC 7638 thumbprint, published as a JWKS.

The keys folder (``LANES_AUTH_KEYS_DIR``) may hold several ``*.pem`` keys so
that they can be rotated without invalidating live tokens: every key is
published in the JWKS, and the newest one (latest modification time, then
file name) signs. To rotate: add the new key, restart auth, and remove the old
file once the access-token lifetime has passed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import stat
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lanes_auth.errors import SigningKeyError

logger = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
KEY_FILE_SUFFIX = ".pem"
_HOW_TO_MAKE_ONE = (
    "create one with `openssl genpkey -algorithm ed25519 -out <dir>/signing.pem`, "
    "or set LANES_AUTH_GENERATE_KEYS=true to let auth generate a development key"
)

PublicJwk = dict[str, str]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def okp_public_jwk(public_key: Ed25519PublicKey) -> PublicJwk:
    """The RFC 8037 JWK members of an Ed25519 public key (``kty``, ``crv``, ``x``)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}


def jwk_thumbprint(jwk: PublicJwk) -> str:
    """The RFC 7638 SHA-256 thumbprint of an OKP key, base64url without padding."""
    # RFC 7638 §3.2: only the required members, sorted, no whitespace.
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One Ed25519 private key and the ``kid`` tokens signed with it carry."""

    kid: str
    private_key: Ed25519PrivateKey
    source: Path | None = None

    @classmethod
    def from_private_key(
        cls, private_key: Ed25519PrivateKey, source: Path | None = None
    ) -> SigningKey:
        """Wrap a private key, deriving its ``kid`` from the public key."""
        return cls(jwk_thumbprint(okp_public_jwk(private_key.public_key())), private_key, source)

    def public_jwk(self) -> PublicJwk:
        """The public half as published in the JWKS."""
        return {
            **okp_public_jwk(self.private_key.public_key()),
            "use": "sig",
            "alg": ALGORITHM,
            "kid": self.kid,
        }


class KeyRing:
    """The live signing keys, oldest first: the last one signs, all are published."""

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        if not keys:
            raise SigningKeyError("a key ring needs at least one signing key")
        unique: dict[str, SigningKey] = {}
        for key in keys:
            # The same key copied under two names is one key; the later copy keeps its place.
            unique.pop(key.kid, None)
            unique[key.kid] = key
        self._keys = tuple(unique.values())

    @property
    def signing_key(self) -> SigningKey:
        """The key new tokens are signed with: the newest."""
        return self._keys[-1]

    @property
    def kids(self) -> tuple[str, ...]:
        """Every live key id, oldest first."""
        return tuple(key.kid for key in self._keys)

    def jwks(self) -> dict[str, list[PublicJwk]]:
        """The JWKS document: every live public key, newest first."""
        return {"keys": [key.public_jwk() for key in reversed(self._keys)]}


def read_signing_key(path: Path) -> SigningKey:
    """Load one unencrypted PEM Ed25519 private key, or say precisely what is wrong with it."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read signing key {path}: {exc.strerror}") from exc
    try:
        private_key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(
            f"{path} is not an unencrypted PEM private key ({exc}); every *{KEY_FILE_SUFFIX} "
            f"file in LANES_AUTH_KEYS_DIR must be one: {_HOW_TO_MAKE_ONE}"
        ) from exc
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SigningKeyError(
            f"{path} holds a {type(private_key).__name__}; auth signs with Ed25519 (EdDSA): "
            f"{_HOW_TO_MAKE_ONE}"
        )
    return SigningKey.from_private_key(private_key, path)


def key_files(keys_dir: Path) -> list[Path]:
    """The PEM files in ``keys_dir``, oldest first (modification time, then name)."""
    try:
        candidates = [p for p in keys_dir.iterdir() if p.suffix == KEY_FILE_SUFFIX and p.is_file()]
    except OSError as exc:
        raise SigningKeyError(
            f"cannot list LANES_AUTH_KEYS_DIR={keys_dir}: {exc.strerror}"
        ) from exc
    return sorted(candidates, key=lambda p: (p.stat().st_mtime_ns, p.name))


def generate_signing_key(keys_dir: Path) -> Path:
    """Write a new Ed25519 key into ``keys_dir`` (file 0600; a new or empty folder becomes 0700)."""
    if not keys_dir.exists():
        keys_dir.mkdir(mode=0o700, parents=True)
        keys_dir.chmod(0o700)  # mkdir's mode is filtered by the umask
    elif not any(keys_dir.iterdir()):
        # It holds only a private key from now on: nobody else may list it. A folder
        # with other files in it is the operator's, and its mode is theirs to choose.
        keys_dir.chmod(0o700)
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = keys_dir / f"ed25519-{stamp}-{uuid.uuid4().hex[:8]}{KEY_FILE_SUFFIX}"
    # O_EXCL with the mode at creation: the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return path


def load_key_ring(keys_dir: Path, generate: bool) -> KeyRing:
    """Read every key in ``keys_dir``; with ``generate``, create one first if there is none."""
    if keys_dir.exists() and not keys_dir.is_dir():
        raise SigningKeyError(f"LANES_AUTH_KEYS_DIR={keys_dir} is not a folder")
    if not keys_dir.exists() and not generate:
        raise SigningKeyError(
            f"LANES_AUTH_KEYS_DIR={keys_dir} does not exist. Create it and put the Ed25519 "
            f"signing key there ({_HOW_TO_MAKE_ONE})"
        )
    files = key_files(keys_dir) if keys_dir.exists() else []
    if not files:
        if not generate:
            raise SigningKeyError(
                f"LANES_AUTH_KEYS_DIR={keys_dir} holds no *{KEY_FILE_SUFFIX} signing key and "
                f"LANES_AUTH_GENERATE_KEYS is false: {_HOW_TO_MAKE_ONE}"
            )
        created = generate_signing_key(keys_dir)
        logger.warning("generated a development signing key", extra={"key_file": str(created)})
        files = key_files(keys_dir)
    for path in files:
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning(
                "signing key file is accessible to other users; chmod 600 it",
                extra={"key_file": str(path)},
            )
    return KeyRing([read_signing_key(path) for path in files])
