"""The server's log lines: one configuration, made once by ``wharf up``, text or JSON.

Every record carries the id of the request it was written for (``request_id``), when there is
one: the API middleware sets :data:`REQUEST_ID` for the request, and a filter on the handler
copies it onto each record, whichever logger wrote it.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

REQUEST_ID: ContextVar[str | None] = ContextVar("wharf_request_id", default=None)
"""The id of the request being handled (``None`` outside one)."""

LogFormat = Literal["text", "json"]

# Loggers that follow WHARF_LOG_LEVEL; every other library logs warnings and errors only.
LEVELLED_LOGGERS = ("wharf", "uvicorn", "uvicorn.error")

# Attributes every LogRecord has: anything else on a record came in through ``extra=``.
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (keeps one given through ``extra``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``2026-01-02T03:04:05.678Z INFO wharf.builds build #3 of ws/app is complete``."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        request_id = getattr(record, "request_id", None)
        if request_id and "request_id=" not in line:
            line += f" request_id={request_id}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message``, then
    ``request_id`` and any ``extra=`` fields, then ``exception`` (a traceback as one string)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def make_formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(level: str, log_format: LogFormat, stream: TextIO | None = None) -> None:
    """Send every log record to ``stream`` (stderr) in one format; Wharf's and uvicorn's
    loggers at ``level``, the rest at warning. Replaces handlers set up before."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(RequestIdFilter())
    numeric = logging.getLevelName(level.upper())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(numeric, logging.WARNING))
    logging.captureWarnings(True)  # a library's warning gets a time and a level too
    for name in LEVELLED_LOGGERS:
        logging.getLogger(name).setLevel(numeric)
    # uvicorn's own handlers would print a second, differently formatted copy.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
