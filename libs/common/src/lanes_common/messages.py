"""The request message as it travels on the ``lanes.requests`` topic."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lanes_common.errors import LanesError
from lanes_common.types import KafkaHeaders

SCHEMA_VERSION = 1

HEADER_SCHEMA_VERSION = "lanes-schema-version"
HEADER_REQUEST_ID = "lanes-request-id"
HEADER_TYPE = "lanes-type"


class MessageDecodeError(LanesError):
    """A record on the requests topic is not a Lanes request message."""


def new_request_id() -> str:
    """A fresh request id: a UUID4 in canonical text form."""
    return str(uuid.uuid4())


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UserKeyedRecord(BaseModel):
    """A Lanes record on Kafka: keyed by its user id, its value the model as compact JSON.

    It declares no fields: each subclass lists its own in the order of its wire
    format, which a field declared here would change (base fields come first).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    if TYPE_CHECKING:
        # Declared by each subclass, where its wire format puts it.
        user_id: str

    def key(self) -> bytes:
        """The Kafka record key: the user id, so one user's records keep their order."""
        return self.user_id.encode()

    def encode(self) -> bytes:
        """The Kafka record value: compact JSON."""
        return self.model_dump_json().encode()


class RequestMessage(UserKeyedRecord):
    """One accepted request: what the gateway produces and the processor consumes.

    The Kafka key is ``user_id``, so one user's requests share a partition and
    keep their order there.
    """

    schema_version: int = SCHEMA_VERSION
    id: str
    user_id: str
    type: str = Field(min_length=1, max_length=64)
    payload: Any = None
    enqueued_at: datetime
    idempotency_key: str | None = None
    replay_of: str | None = None

    def headers(self) -> KafkaHeaders:
        """Headers that let tools route or inspect a record without decoding it."""
        return [
            (HEADER_SCHEMA_VERSION, str(self.schema_version).encode()),
            (HEADER_REQUEST_ID, self.id.encode()),
            (HEADER_TYPE, self.type.encode()),
        ]

    @classmethod
    def decode(cls, value: bytes | None) -> RequestMessage:
        """Parse a record value, raising `MessageDecodeError` when it is not one of ours."""
        if value is None:
            raise MessageDecodeError("record has no value")
        try:
            raw = json.loads(value)
        except ValueError as exc:
            raise MessageDecodeError(f"record value is not JSON: {exc}") from exc
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            # Without the input: the message reaches logs, and the input holds the payload.
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc']))}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)
            )
            raise MessageDecodeError(f"record is not a request message: {problems}") from exc
