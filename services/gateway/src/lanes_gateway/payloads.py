"""The payload each built-in request type takes, checked before anything is enqueued.

A bad payload for a built-in type would only fail later, in the processor,
as a permanent error; refusing it at the door (422, naming the field) tells
the client at once. Types not listed here are plugins the gateway knows
nothing about: any JSON passes, and the processor dead-letters a type that
no handler serves. The bounds are the built-in handlers' own
(`lanes_processor.handlers.builtin`), which check them again.

Fields a handler does not read are allowed, as the handlers ignore them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from lanes_gateway.errors import InvalidPayloadError

MAX_SLEEP_MS = 60_000
MAX_CPU_ROUNDS = 10_000


class SleepPayload(BaseModel):
    """``sleep``: wait ``ms`` milliseconds (I/O-bound work)."""

    model_config = ConfigDict(extra="allow")

    ms: StrictInt = Field(ge=0, le=MAX_SLEEP_MS)


class CpuPayload(BaseModel):
    """``cpu``: hash ``rounds`` blocks of 64 KiB (CPU-bound work)."""

    model_config = ConfigDict(extra="allow")

    rounds: StrictInt = Field(ge=0, le=MAX_CPU_ROUNDS)


class FailPayload(BaseModel):
    """``fail``: always fails; ``permanent`` skips the retries, ``message`` is the error."""

    model_config = ConfigDict(extra="allow")

    permanent: StrictBool | None = None
    message: StrictStr | None = None


AnyPayload = Annotated[Any, Field(description="``echo``: any JSON value, returned unchanged.")]

PAYLOAD_SCHEMAS: Mapping[str, TypeAdapter[Any]] = {
    "echo": TypeAdapter(AnyPayload),
    "sleep": TypeAdapter(SleepPayload),
    "cpu": TypeAdapter(CpuPayload),
    # The handler treats a missing payload as no options.
    "fail": TypeAdapter(FailPayload | None),
}
"""The built-in request types and the payload each takes."""


def check_payload(request_type: str, payload: Any) -> None:
    """Raise `InvalidPayloadError` naming each bad field if ``payload`` does not suit the type."""
    schema = PAYLOAD_SCHEMAS.get(request_type)
    if schema is None:
        return
    try:
        schema.validate_python(payload)
    except PydanticValidationError as exc:
        raise InvalidPayloadError(
            [
                {
                    "field": ".".join(["body", "payload", *map(str, error["loc"])]),
                    "message": error["msg"],
                }
                for error in exc.errors(include_url=False, include_input=False)
            ]
        ) from None
