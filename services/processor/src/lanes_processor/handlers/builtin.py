"""The handlers Lanes ships: ``echo``, ``sleep`` (I/O-bound), ``cpu`` (CPU-bound), ``fail``."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from lanes_processor.handlers import HandlerError, HandlerRequest, PermanentError

MAX_SLEEP_MS = 60_000
MAX_CPU_ROUNDS = 10_000
_CPU_BLOCK = b"\x5a" * 65_536


async def echo(request: HandlerRequest) -> Any:
    """Return the payload unchanged."""
    return {"echo": request.payload}


def _int_field(payload: Any, name: str, maximum: int) -> int:
    value = payload.get(name) if isinstance(payload, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise PermanentError(f"payload.{name} must be an integer from 0 to {maximum}")
    return value


async def sleep(request: HandlerRequest) -> Any:
    """Wait ``payload.ms`` milliseconds without blocking the event loop (I/O-bound work)."""
    ms = _int_field(request.payload, "ms", MAX_SLEEP_MS)
    await asyncio.sleep(ms / 1000)
    return {"slept_ms": ms}


def _hash_rounds(rounds: int) -> str:
    digest = hashlib.sha256()
    for _ in range(rounds):
        # hashlib releases the GIL on blocks this large, so other threads run meanwhile.
        digest.update(_CPU_BLOCK)
    return digest.hexdigest()


async def cpu(request: HandlerRequest) -> Any:
    """Hash ``payload.rounds`` blocks of 64 KiB on a worker thread (CPU-bound work)."""
    rounds = _int_field(request.payload, "rounds", MAX_CPU_ROUNDS)
    return {"rounds": rounds, "sha256": await asyncio.to_thread(_hash_rounds, rounds)}


async def fail(request: HandlerRequest) -> Any:
    """Always fail: exercises retries and the dead-letter path.

    ``payload.permanent`` true fails without retries; ``payload.message`` is the error.
    """
    payload = request.payload if isinstance(request.payload, dict) else {}
    message = str(payload.get("message", "requested failure"))
    if payload.get("permanent") is True:
        raise PermanentError(message)
    raise HandlerError(message)
