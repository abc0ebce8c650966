"""Structured JSON logs: one object per line, with the request id, never a personal value.

Mamori's own log calls pass only codes, route templates, counts and ids in
``extra``; this formatter writes exactly those fields and the message, and
drops exception text from libraries (which may quote input) in favour of
the exception's type.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

FIELDS = ("request_id", "method", "route", "status", "ms", "code", "rule", "actor", "purpose")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                doc[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            doc["exception"] = record.exc_info[0].__name__
        return json.dumps(doc, ensure_ascii=False, default=str)


def configure(level: str = "INFO", stream: object = None) -> None:
    """Send Mamori's and uvicorn's logs through the JSON formatter."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter())
    for name in ("mamori", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    # uvicorn's access log repeats the raw path and query; Mamori writes its own line.
    logging.getLogger("uvicorn.access").disabled = True
