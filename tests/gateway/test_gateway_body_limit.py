"""The body-size limit works on the bytes received, whatever Content-Length claims."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from lanes_gateway.body_limit import BodySizeLimitMiddleware

LIMIT = 100


class EchoLength:
    """An app that reads the whole body and answers its length."""

    def __init__(self) -> None:
        self.called = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


async def _call(
    chunks: list[bytes], content_length: int | None = None
) -> tuple[EchoLength, int, Any]:
    app = EchoLength()
    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    incoming: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await BodySizeLimitMiddleware(app, max_body_bytes=LIMIT)(scope, receive, send)
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return app, status, json.loads(body)


async def test_body_within_the_limit_reaches_the_app_whole() -> None:
    app, status, length = await _call([b"a" * 60, b"b" * 40], content_length=100)

    assert (app.called, status, length) == (True, 200, 100)


async def test_announced_oversize_is_refused_before_reading() -> None:
    app, status, problem = await _call([b"a" * 10], content_length=LIMIT + 1)

    assert not app.called
    assert status == 413
    assert problem["code"] == "payload_too_large"


async def test_chunked_body_without_length_is_counted() -> None:
    app, status, problem = await _call([b"a" * 60, b"b" * 60])

    assert not app.called
    assert (status, problem["status"]) == (413, 413)


async def test_body_larger_than_its_content_length_claims_is_refused() -> None:
    app, status, _ = await _call([b"a" * 60, b"b" * 60], content_length=10)

    assert not app.called
    assert status == 413


async def test_empty_body_passes() -> None:
    app, status, length = await _call([b""])

    assert (app.called, status, length) == (True, 200, 0)
