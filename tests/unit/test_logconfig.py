"""``wharf up``'s logging: one format for every line, levels for Wharf's and uvicorn's loggers."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from wharf.logconfig import REQUEST_ID, configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back for the other tests."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    names = ("wharf", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level) for n in names}
    saved_propagate = {n: logging.getLogger(n).propagate for n in names}
    yield
    root.handlers[:] = saved_root[0]
    root.setLevel(saved_root[1])
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = saved_propagate[name]
    logging.captureWarnings(False)


@pytest.mark.usefixtures("restore_logging")
def test_text_lines_have_time_level_logger_and_the_request_id() -> None:
    out = io.StringIO()
    configure_logging("info", "text", stream=out)
    logging.getLogger("wharf.builds").info("build #%d of %s is complete", 3, "default/app")
    token = REQUEST_ID.set("req-1")
    try:
        logging.getLogger("wharf.api").warning("something odd")
    finally:
        REQUEST_ID.reset(token)
    first, second = out.getvalue().splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(stamp + r" INFO wharf\.builds build #3 of default/app is complete", first)
    assert re.fullmatch(stamp + r" WARNING wharf\.api something odd request_id=req-1", second)


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_are_one_object_each_with_extra_fields_and_tracebacks() -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    logging.getLogger("wharf.access").info("GET /x 200", extra={"status": 200, "path": "/x"})
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logging.getLogger("wharf.jobs").exception("job failed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    access, failure = (json.loads(line) for line in lines)
    assert access["logger"] == "wharf.access"
    assert (access["level"], access["message"]) == ("INFO", "GET /x 200")
    assert (access["status"], access["path"]) == (200, "/x")
    assert "request_id" not in access
    assert failure["level"] == "ERROR"
    assert "ValueError: boom" in failure["exception"]


@pytest.mark.usefixtures("restore_logging")
def test_the_level_applies_to_wharf_and_uvicorn_while_libraries_stay_quiet() -> None:
    out = io.StringIO()
    configure_logging("debug", "text", stream=out)
    logging.getLogger("wharf.replicas").debug("probing")
    logging.getLogger("uvicorn.error").debug("uvicorn detail")
    logging.getLogger("sqlalchemy.engine").info("SELECT 1")
    text = out.getvalue()
    assert "probing" in text
    assert "uvicorn detail" in text
    assert "SELECT 1" not in text

    out = io.StringIO()
    configure_logging("warning", "text", stream=out)
    logging.getLogger("wharf.builds").info("build #1 is running")
    logging.getLogger("wharf.builds").warning("interrupted")
    assert "build #1 is running" not in out.getvalue()
    assert "interrupted" in out.getvalue()
