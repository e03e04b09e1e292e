"""The runner's decisions, with an in-memory status store: pure logic, no servers."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime
from typing import Any

from lanes_common.messages import RequestMessage, new_request_id, utc_now
from lanes_common.states import RequestState, can_transition
from lanes_processor.backoff import Backoff
from lanes_processor.consumer.runner import RequestRunner, RetryPolicy
from lanes_processor.handlers import HandlerError, HandlerRequest
from lanes_processor.records import ConsumedRecord
from lanes_processor.store import WriteOutcome

WAIT = 2.0


class MemoryStore:
    """The store's contract (forward-only transitions) kept in a dict."""

    def __init__(self) -> None:
        self.states: dict[str, RequestState] = {}
        self.attempts: defaultdict[str, int] = defaultdict(int)
        self.finished: dict[str, tuple[RequestState, str | None, dict[str, str] | None]] = {}

    def _move(self, request_id: str, state: RequestState) -> WriteOutcome:
        if not can_transition(self.states.get(request_id), state):
            return WriteOutcome.SUPERSEDED
        self.states[request_id] = state
        return WriteOutcome.APPLIED

    async def begin_attempt(
        self, message: RequestMessage, partition: int, offset: int, attempt: int
    ) -> WriteOutcome:
        outcome = self._move(message.id, RequestState.PROCESSING)
        if outcome is WriteOutcome.APPLIED:
            self.attempts[message.id] = max(self.attempts[message.id], attempt)
        return outcome

    async def finish(
        self,
        message: RequestMessage,
        state: RequestState,
        result_json: str | None = None,
        error: dict[str, str] | None = None,
        finished_at: datetime | None = None,
    ) -> WriteOutcome:
        request_id = message.id
        outcome = self._move(request_id, state)
        if outcome is WriteOutcome.APPLIED:
            self.finished[request_id] = (state, result_json, error)
        return outcome


class MemoryDeadLetters:
    def __init__(self) -> None:
        self.published: list[tuple[int, str, int]] = []

    async def publish(self, record: ConsumedRecord, code: str, error: str, attempts: int) -> None:
        self.published.append((record.offset, code, attempts))


class FixedBackoff(Backoff):
    """Always the same wait, so a test knows a request is parked in its backoff."""

    def delay(self, attempt: int, rng: Any = None) -> float:
        return self.base


def record_of(message: RequestMessage, offset: int = 0) -> ConsumedRecord:
    return ConsumedRecord("t", 0, offset, message.key(), message.encode(), message.headers())


def message_of(type_: str, user: str = "u", payload: Any = None) -> RequestMessage:
    return RequestMessage(
        id=new_request_id(), user_id=user, type=type_, payload=payload, enqueued_at=utc_now()
    )


def runner_with(
    handlers: dict[str, Any], max_in_flight: int = 10, backoff: float = 0.0, max_attempts: int = 3
) -> tuple[RequestRunner, MemoryStore, MemoryDeadLetters]:
    store, dead_letters = MemoryStore(), MemoryDeadLetters()
    policy = RetryPolicy(max_attempts, FixedBackoff(backoff, backoff), handler_timeout=5)
    runner = RequestRunner(handlers, store, dead_letters, policy, max_in_flight)  # type: ignore[arg-type]
    return runner, store, dead_letters


async def always_fails(request: HandlerRequest) -> Any:
    raise HandlerError("broken")


async def echo(request: HandlerRequest) -> Any:
    return {"echo": request.payload}


async def test_a_request_waiting_to_retry_holds_no_in_flight_slot() -> None:
    runner, store, _ = runner_with(
        {"fail": always_fails, "echo": echo}, max_in_flight=1, backoff=60
    )
    poison, healthy = message_of("fail", "poison"), message_of("echo", "healthy")
    retrying = asyncio.create_task(runner.run(record_of(poison)))
    # The poison's first attempt fails and it parks in a 60 s backoff; the one slot is free.
    await asyncio.wait_for(runner.run(record_of(healthy, 1)), WAIT)
    assert store.finished[healthy.id][0] is RequestState.SUCCEEDED
    assert store.attempts[poison.id] == 1
    assert not retrying.done()
    retrying.cancel()


async def test_attempts_in_flight_are_bounded() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    running = 0
    most = 0

    async def gated(request: HandlerRequest) -> Any:
        nonlocal running, most
        running += 1
        most = max(most, running)
        if running == 2:
            started.set()
        await release.wait()
        running -= 1
        return None

    runner, store, _ = runner_with({"gated": gated}, max_in_flight=2)
    messages = [message_of("gated", f"user-{n}") for n in range(3)]
    tasks = [asyncio.create_task(runner.run(record_of(m, n))) for n, m in enumerate(messages)]
    await asyncio.wait_for(started.wait(), WAIT)
    assert sum(m.id in store.states for m in messages) == 2  # the third waits for a slot
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    assert most == 2
    assert all(store.finished[m.id][0] is RequestState.SUCCEEDED for m in messages)


async def test_exhausted_retries_dead_letter_after_exactly_max_attempts() -> None:
    runner, store, dead_letters = runner_with({"fail": always_fails}, max_attempts=3)
    poison = message_of("fail")
    await asyncio.wait_for(runner.run(record_of(poison, 7)), WAIT)
    assert store.attempts[poison.id] == 3
    assert dead_letters.published == [(7, "handler_error", 3)]
    state, _, error = store.finished[poison.id]
    assert state is RequestState.DEAD_LETTERED
    assert error == {"code": "handler_error", "message": "broken"}


async def test_a_result_that_is_not_json_fails_once_without_retries() -> None:
    async def returns_a_set(request: HandlerRequest) -> Any:
        return {1, 2}

    runner, store, dead_letters = runner_with({"sets": returns_a_set})
    message = message_of("sets")
    await asyncio.wait_for(runner.run(record_of(message)), WAIT)
    state, result_json, error = store.finished[message.id]
    assert (state, result_json) == (RequestState.FAILED, None)
    assert error is not None and error["code"] == "permanent_error"
    assert "not JSON" in error["message"]
    assert store.attempts[message.id] == 1
    assert dead_letters.published == []


async def test_unknown_types_are_dead_lettered_at_once() -> None:
    runner, store, dead_letters = runner_with({})
    message = message_of("no-such-type")
    await asyncio.wait_for(runner.run(record_of(message)), WAIT)
    assert dead_letters.published == [(0, "unknown_type", 1)]
    assert store.finished[message.id][0] is RequestState.DEAD_LETTERED


async def test_a_finished_request_is_not_run_again() -> None:
    calls = 0

    async def counting(request: HandlerRequest) -> Any:
        nonlocal calls
        calls += 1
        return calls

    runner, store, _ = runner_with({"count": counting})
    message = message_of("count")
    await runner.run(record_of(message))
    await runner.run(record_of(message))  # redelivered after a crash, say
    assert calls == 1
    assert store.finished[message.id] == (RequestState.SUCCEEDED, "1", None)


async def test_an_attempt_that_overruns_its_timeout_counts_as_failed() -> None:
    async def never_answers(request: HandlerRequest) -> Any:
        await asyncio.Event().wait()

    store, dead_letters = MemoryStore(), MemoryDeadLetters()
    policy = RetryPolicy(max_attempts=2, backoff=FixedBackoff(0, 0), handler_timeout=0.05)
    runner = RequestRunner({"hang": never_answers}, store, dead_letters, policy)  # type: ignore[arg-type]
    message = message_of("hang")
    await asyncio.wait_for(runner.run(record_of(message)), WAIT)
    assert store.attempts[message.id] == 2
    assert dead_letters.published == [(0, "timeout", 2)]
    assert store.finished[message.id][0] is RequestState.DEAD_LETTERED
