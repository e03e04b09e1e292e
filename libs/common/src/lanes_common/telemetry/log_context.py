"""What every log line carries besides its message: trace ids, request id and user id.

`LogContextFilter` sits on the log handler, so it sees every record whatever
logger emitted it. It adds the current span's ``trace_id``/``span_id`` and the
fields bound for the current request (`log_scope`, `bind_log_fields`), and it
blanks ``extra`` fields whose names say they hold a secret or a user payload:
a last line of defence, since the code never logs those on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import trace

REDACTED = "[redacted]"
SENSITIVE_FIELDS = frozenset(
    {
        "access_token",
        "api_key",
        "authorization",
        "body",
        "cookie",
        "password",
        "payload",
        "payload_json",
        "refresh_token",
        "result",
        "result_json",
        "secret",
        "token",
    }
)

_bound: ContextVar[dict[str, str] | None] = ContextVar("lanes_log_fields", default=None)


@contextmanager
def log_scope(**fields: str | None) -> Iterator[None]:
    """Bind ``fields`` (and whatever `bind_log_fields` adds) to log lines until the block ends."""
    token = _bound.set({name: value for name, value in fields.items() if value is not None})
    try:
        yield
    finally:
        _bound.reset(token)


def bind_log_fields(**fields: str | None) -> None:
    """Add ``fields`` to the log lines of the current scope (a request, a record)."""
    bound = _bound.get()
    if bound is None:
        # Outside any scope: bind for the rest of this task's context.
        bound = {}
        _bound.set(bound)
    bound.update({name: value for name, value in fields.items() if value is not None})


def bound_log_fields() -> dict[str, str]:
    """The fields bound in the current scope."""
    return dict(_bound.get() or {})


class LogContextFilter(logging.Filter):
    """Adds trace and request context to each record and scrubs sensitive ``extra`` fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Enrich ``record`` in place; never drops it."""
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid and not hasattr(record, "trace_id"):
            record.trace_id = trace.format_trace_id(span_context.trace_id)
            record.span_id = trace.format_span_id(span_context.span_id)
        for name, value in (_bound.get() or {}).items():
            # A field passed explicitly with `extra=` wins over the bound one.
            if not hasattr(record, name):
                setattr(record, name, value)
        for name in list(vars(record)):
            if name.lower() in SENSITIVE_FIELDS:
                setattr(record, name, REDACTED)
        return True


def describe_error(exc: BaseException) -> str:
    """An exception as a log field, without the documents a database error may quote.

    PyMongo's write errors repeat the failing operation (``op``), which holds
    the stored payload; only each error's code and message are kept.
    """
    details = getattr(exc, "details", None)
    if not isinstance(details, dict):
        return repr(exc)
    write_errors = details.get("writeErrors")
    errors = write_errors if isinstance(write_errors, list) else [details]
    summary = "; ".join(
        f"code={error.get('code')} {error.get('errmsg', '')}".strip()
        for error in errors
        if isinstance(error, dict)
    )
    return f"{type(exc).__name__}({summary})"
