"""lanes-client and the ``lanes`` CLI against the real stack (here to share its processes).

The CLI runs as a real subprocess with its own config folder: enqueue 100
with ``--count``, watch them finish, cancel one, replay a dead letter.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from lanes_client import (
    AsyncLanesClient,
    ConflictError,
    LanesClient,
    NotFoundError,
    RequestState,
)
from lanes_devstack.waiting import wait_until
from tests.events.conftest import EventsStack

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


def lanes(config_dir: Path, *args: str, timeout: float = 120) -> Any:
    """Run ``lanes --json ARGS`` and return its JSON output (a list for JSON lines)."""
    done = subprocess.run(
        [sys.executable, "-m", "lanes_client.cli", "--json", *args],
        env={**os.environ, "LANES_CONFIG_DIR": str(config_dir)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return lines[0] if len(lines) == 1 else lines


def wait_until_streaming(url: str, token: str, timeout: float = 60) -> None:
    """Until the CLI's watch holds one of the user's streams.

    The stack allows 3 streams per user: once 2 of ours and the watch's are
    open, a third of ours is refused (429). A real condition, no timing.
    """
    headers = {"Authorization": f"Bearer {token}"}

    def third_stream_refused() -> bool:
        with (
            httpx.Client(base_url=url, timeout=30) as http,
            http.stream("GET", "/v1/events", headers=headers) as first,
            http.stream("GET", "/v1/events", headers=headers) as second,
            http.stream("GET", "/v1/events", headers=headers) as third,
        ):
            assert first.status_code == 200 and second.status_code == 200
            return third.status_code == 429

    wait_until(third_stream_refused, timeout, "the watch holding a stream")


def test_cli_enqueues_watches_cancels_and_replays(
    events_stack: EventsStack, tmp_path: Path
) -> None:
    config = tmp_path / "lanes"
    username = f"cli{uuid.uuid4().hex[:10]}"
    lanes(config, "--url", events_stack.url, "login", "--register",
          "--username", username, "--password", PASSWORD)  # fmt: skip
    credentials = config / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600

    token = json.loads(credentials.read_text())["profiles"]["default"]["access_token"]

    # With no processor running, the hundred stay queued: one of them can surely be cancelled.
    events_stack.stop_processing()
    try:
        ids = lanes(config, "enqueue", "sleep", "--payload", '{"ms": 5}', "--count", "100")["ids"]
        assert len(set(ids)) == 100
        assert lanes(config, "cancel", ids[-1])["state"] == "cancelled"
        with subprocess.Popen(
            [sys.executable, "-m", "lanes_client.cli", "--json", "watch", "--until-idle"],
            env={**os.environ, "LANES_CONFIG_DIR": str(config)},
            stdout=subprocess.PIPE,
            text=True,
        ) as watching:
            try:
                wait_until_streaming(events_stack.url, token)
                events_stack.start_processing()
                output, _ = watching.communicate(timeout=300)
            except BaseException:
                watching.kill()
                raise
    finally:
        if not events_stack.stack.processors:
            events_stack.start_processing()
    assert watching.returncode == 0
    watched = [json.loads(line)["status"] for line in output.splitlines()]
    finished = {w["request_id"]: w["state"] for w in watched if w["state"] != "processing"}
    assert {finished.get(i) for i in ids[:-1]} == {"succeeded"}, "the watch missed some"
    listed = lanes(config, "ls", "--limit", "200")
    states = sorted(r["state"] for r in listed)
    assert states == ["cancelled"] + ["succeeded"] * 99

    failing = lanes(config, "enqueue", "fail", "--payload", '{"message": "boom"}')["ids"][0]
    ending = lanes(config, "watch", failing)  # one line when it ended before the watch began
    last = ending[-1] if isinstance(ending, list) else ending
    assert last["status"]["state"] == "dead_lettered"
    replayed = lanes(config, "dlq", "replay")["replayed"]
    assert [r["id"] for r in replayed] == [failing]
    again = lanes(config, "dlq", "replay", failing)["replayed"]
    assert again[0]["replayed_as"] == replayed[0]["replayed_as"]  # once only
    summary = lanes(config, "queue")
    assert summary["counts"]["succeeded"] == 99


async def test_async_client_watches_pages_and_raises_typed_errors(
    events_stack: EventsStack,
) -> None:
    username = f"aio{uuid.uuid4().hex[:10]}"
    async with AsyncLanesClient(events_stack.url) as client:
        await client.register(username, PASSWORD)
        await client.login(username, PASSWORD)
        ids = [(await client.enqueue("echo", {"n": n})).id for n in range(5)]
        states = [e.status.state async for e in client.watch(ids[-1])]
        assert states[-1] is RequestState.SUCCEEDED
        listed = [r.id async for r in client.list(page_size=2)]
        assert listed == list(reversed(ids))
        with pytest.raises(ConflictError) as conflict:
            await client.cancel(ids[-1])
        assert conflict.value.code == "not_cancellable"
        with pytest.raises(NotFoundError):
            await client.get(str(uuid.uuid4()))
        summary = await client.queue()
        assert summary.counts[RequestState.SUCCEEDED] == 5


def test_sync_client_refreshes_an_expired_token(events_stack: EventsStack) -> None:
    username = f"sync{uuid.uuid4().hex[:10]}"
    with LanesClient(events_stack.url) as first:
        first.register(username, PASSWORD)
        tokens = first.login(username, PASSWORD)
    saved = []
    with LanesClient(
        events_stack.url,
        access_token="expired.or.garbage",
        refresh_token=tokens.refresh_token,
        access_expires_at=time.time() + 600,
        on_tokens=saved.append,
    ) as client:
        accepted = client.enqueue("echo", {"hello": "world"})
        assert [e.status.state for e in client.watch(accepted.id)][-1] is RequestState.SUCCEEDED
        assert client.get(accepted.id).result == {"echo": {"hello": "world"}}
    assert len(saved) == 1  # refreshed once, after the 401
