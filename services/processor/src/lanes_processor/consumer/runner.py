"""Runs one request to a recorded end: attempts, retries in place, dead letters.

`RequestRunner.run` returns only when the request's outcome is durably
recorded (status written, dead letter acknowledged): that is what lets the
engine mark its offset finished. What an operator watches (consumed,
in flight, handler time, skips, retries, outcomes) is reported to a
`RunObserver`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from lanes_common.documents import encode_json_value
from lanes_common.messages import MessageDecodeError, RequestMessage, utc_now
from lanes_common.states import RequestState
from lanes_processor.backoff import Backoff
from lanes_processor.consumer.observers import RunObserver
from lanes_processor.consumer.turns import FairTurns
from lanes_processor.dead_letters import DeadLetterPublisher
from lanes_processor.handlers import Handler, HandlerRequest, PermanentError
from lanes_processor.records import ConsumedRecord
from lanes_processor.store import StatusStore, WriteOutcome

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failing request is tried again."""

    max_attempts: int
    backoff: Backoff
    handler_timeout: float


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message[:2000]}


class RequestRunner:
    """Takes a consumed record through its attempts to a terminal, recorded state.

    At most ``max_in_flight`` attempts run at once, over all partitions, and
    users with a request ready take turns at the slots (`FairTurns`). A
    request waiting out its retry backoff holds no slot and is not in the
    rotation: retrying in place costs only its own user's queue.
    """

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        store: StatusStore,
        dead_letters: DeadLetterPublisher,
        policy: RetryPolicy,
        max_in_flight: int = 256,
        observer: RunObserver | None = None,
    ) -> None:
        self._handlers = handlers
        self._store = store
        self._dead_letters = dead_letters
        self._policy = policy
        self._turns = FairTurns(max_in_flight)
        self._observer = observer or RunObserver()

    async def run(self, record: ConsumedRecord) -> None:
        """Handle ``record`` until its outcome is durable; cancellation leaves it unfinished."""
        try:
            message = RequestMessage.decode(record.value)
        except MessageDecodeError as exc:
            # Without an id there is no status to write: keep the record for inspection.
            logger.error(
                "undecodable record dead-lettered",
                extra={"offset": record.offset, "partition": record.partition, "error": str(exc)},
            )
            await self._dead_letters.publish(record, "undecodable", str(exc), attempts=0)
            return
        self._observer.consumed(message)
        attempt = 1
        user = (record.topic, record.partition, record.key)
        while True:
            async with self._turns.turn(user):
                with self._observer.attempting():
                    retry_in = await self._run_attempt(record, message, attempt)
            if retry_in is None:
                return
            # Outside the slot: other users' requests run while this one waits.
            await asyncio.sleep(retry_in)
            attempt += 1

    async def _run_attempt(
        self, record: ConsumedRecord, message: RequestMessage, attempt: int
    ) -> float | None:
        """One attempt, recorded; returns the backoff before the next one, or None when done."""
        outcome = await self._store.begin_attempt(message, record.partition, record.offset, attempt)
        if outcome is WriteOutcome.SUPERSEDED:
            self._observer.skipped(message)
            logger.info(
                "request already finished or cancelled; skipped",
                extra={"request_id": message.id, "user_id": message.user_id},
            )
            return None
        handler = self._handlers.get(message.type)
        if handler is None:
            detail = f"no handler for type '{message.type}'"
            await self._dead_letter(record, message, "unknown_type", detail, attempt)
            return None
        try:
            result_json = await self._attempt(handler, message, attempt)
        except PermanentError as exc:
            error = _error("permanent_error", str(exc))
            await self._finish(message, RequestState.FAILED, error=error)
            return None
        except Exception as exc:  # a plugin may raise anything
            reason = "timeout" if isinstance(exc, TimeoutError) else "handler_error"
            detail = str(exc) or type(exc).__name__
            if attempt >= self._policy.max_attempts:
                await self._dead_letter(record, message, reason, detail, attempt)
                return None
            self._observer.retrying(message)
            delay = self._policy.backoff.delay(attempt)
            logger.warning(
                "attempt failed; retrying in place",
                extra={
                    "request_id": message.id,
                    "user_id": message.user_id,
                    "attempt": attempt,
                    "error_code": reason,
                    "retry_in_s": round(delay, 3),
                },
            )
            return delay
        await self._finish(message, RequestState.SUCCEEDED, result_json=result_json)
        return None

    async def _attempt(self, handler: Handler, message: RequestMessage, attempt: int) -> str:
        """Run the handler once, bounded by the timeout; return its result as JSON text."""
        request = HandlerRequest(
            message.id, message.user_id, message.type, message.payload, attempt
        )
        with self._observer.handling(message):
            result = await asyncio.wait_for(handler(request), self._policy.handler_timeout)
        try:
            return encode_json_value(result)
        except (TypeError, ValueError) as exc:
            # The same result would come back on every retry: a bug in the handler.
            raise PermanentError(f"handler result is not JSON: {exc}") from exc

    async def _dead_letter(
        self, record: ConsumedRecord, message: RequestMessage, code: str, detail: str, attempts: int
    ) -> None:
        await self._dead_letters.publish(record, code, detail, attempts)
        await self._finish(message, RequestState.DEAD_LETTERED, error=_error(code, detail))
        logger.warning(
            "request dead-lettered",
            extra={
                "request_id": message.id,
                "user_id": message.user_id,
                "attempts": attempts,
                "error_code": code,
            },
        )

    async def _finish(
        self,
        message: RequestMessage,
        state: RequestState,
        result_json: str | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        finished_at = utc_now()
        await self._store.finish(
            message, state, result_json=result_json, error=error, finished_at=finished_at
        )
        self._observer.finished(message, state, finished_at)
