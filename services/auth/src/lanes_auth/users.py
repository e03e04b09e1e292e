"""The ``users`` collection: accounts, unique by username and by email, case-insensitively.

Uniqueness is enforced by unique indexes on lowercase copies of both names
(``username_key``, ``email_key``): plain unique indexes, which every
MongoDB-wire server enforces (collations are not universal). The indexes are
sparse because an account may have only one of the two.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from lanes_auth.errors import UserExistsError
from lanes_common.types import MongoDocument

USERNAME_INDEX = "username_key_unique"
EMAIL_INDEX = "email_key_unique"


def username_key(username: str) -> str:
    """The form a username is compared and indexed in."""
    return username.casefold()


def email_key(email: str) -> str:
    """The form an email address is compared and indexed in: normalised, then case-folded.

    Normalising the way registration does (IDNA domains in Unicode form, NFC)
    lets ``ü@xn--exmple-cua.com`` log in as ``ü@exämple.com``.
    """
    # A name registration would not accept as an address is compared as it is.
    with contextlib.suppress(EmailNotValidError):
        email = validate_email(email, check_deliverability=False).normalized
    return email.casefold()


def is_email(login: str) -> bool:
    """True when a login name is an email address (usernames cannot contain ``@``)."""
    return "@" in login


def login_key(login: str) -> str:
    """The account a login name denotes, as one comparable string (whether it exists or not)."""
    return f"email:{email_key(login)}" if is_email(login) else f"username:{username_key(login)}"


@dataclass(frozen=True, slots=True)
class User:
    """One account as stored."""

    id: str
    username: str | None
    email: str | None
    name: str | None
    password_hash: str
    created_at: datetime

    @classmethod
    def from_document(cls, doc: MongoDocument) -> User:
        """Read a stored user document."""
        return cls(
            id=str(doc["_id"]),
            username=doc.get("username"),
            email=doc.get("email"),
            name=doc.get("name"),
            password_hash=doc["password_hash"],
            created_at=doc["created_at"],
        )


class UserStore:
    """Creates and finds users in one MongoDB collection."""

    def __init__(self, collection: AsyncCollection[MongoDocument]) -> None:
        self._users = collection

    async def ensure_indexes(self) -> None:
        """Create the unique indexes (idempotent: an existing index is left alone)."""
        await self._users.create_index(
            [("username_key", ASCENDING)], name=USERNAME_INDEX, unique=True, sparse=True
        )
        await self._users.create_index(
            [("email_key", ASCENDING)], name=EMAIL_INDEX, unique=True, sparse=True
        )

    async def taken_field(self, username: str | None, email: str | None) -> str | None:
        """``"username"`` or ``"email"`` if that one is already registered, else None."""
        if username is not None and await self._users.find_one(
            {"username_key": username_key(username)}, projection={"_id": 1}
        ):
            return "username"
        if email is not None and await self._users.find_one(
            {"email_key": email_key(email)}, projection={"_id": 1}
        ):
            return "email"
        return None

    async def create(
        self, *, username: str | None, email: str | None, name: str | None, password_hash: str
    ) -> User:
        """Insert a new user; `UserExistsError` names the field that is already registered."""
        doc: dict[str, Any] = {
            "_id": str(uuid.uuid4()),
            "password_hash": password_hash,
            "name": name,
            "created_at": datetime.now(UTC),
        }
        # Absent rather than null: a sparse unique index skips only missing fields.
        if username is not None:
            doc["username"] = username
            doc["username_key"] = username_key(username)
        if email is not None:
            doc["email"] = email
            doc["email_key"] = email_key(email)
        try:
            await self._users.insert_one(doc)
        except DuplicateKeyError as exc:
            # Not every server's duplicate-key error names its index; ask the data.
            field = await self.taken_field(username, email) or "username or email"
            raise UserExistsError(field) from exc
        return User.from_document(doc)

    async def find_by_login(self, login: str) -> User | None:
        """The user whose email (if ``login`` has an ``@``) or username is ``login``."""
        query = (
            {"email_key": email_key(login)}
            if is_email(login)
            else {"username_key": username_key(login)}
        )
        doc = await self._users.find_one(query)
        return None if doc is None else User.from_document(doc)

    async def get(self, user_id: str) -> User | None:
        """The user with this id, if it still exists."""
        doc = await self._users.find_one({"_id": user_id})
        return None if doc is None else User.from_document(doc)

    async def delete(self, user_id: str) -> None:
        """Remove the user; their username and email are free again."""
        await self._users.delete_one({"_id": user_id})

    async def replace_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> None:
        """Store a stronger hash of the same password, unless the password changed meanwhile."""
        await self._users.update_one(
            {"_id": user_id, "password_hash": old_hash}, {"$set": {"password_hash": new_hash}}
        )
