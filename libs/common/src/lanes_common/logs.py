"""Logging setup: one JSON object per line, or plain text for a terminal."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from lanes_common.telemetry.log_context import LogContextFilter

# Attributes every LogRecord has; anything else was passed in `extra=` and is logged.
# uvicorn adds `color_message` (the message with terminal colour codes) to its own.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON, with any ``extra=`` fields at top level."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON object on one line."""
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRS and not name.startswith("_"):
                event[name] = value
        if record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Send the root logger to stderr in the chosen format; safe to call twice."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
        )
    # Trace ids and request context on every line, whichever logger wrote it.
    handler.addFilter(LogContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # librdkafka and the HTTP client log every connection at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # At DEBUG these log whole commands and headers: stored payloads, password
    # hashes, response headers. Never below INFO, whatever the level asked for.
    for chatty in ("pymongo", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.INFO, root.level))
