"""Every operation declares its error answers as application/problem+json, one shared schema."""

from __future__ import annotations

from wharf.api import create_app
from wharf.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES
from wharf.config import Settings


def test_every_operation_declares_the_problem_answers() -> None:
    document = create_app(Settings()).openapi()
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    assert len(operations) > 50
    for operation in operations:
        for status in PROBLEM_RESPONSES:
            content = operation["responses"][str(status)]["content"]
            assert content == {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (operation["operationId"], status)
    schemas = document["components"]["schemas"]
    assert {"title", "status", "detail", "code"} <= set(schemas["Problem"]["required"])
    assert "HTTPValidationError" not in schemas  # FastAPI's 422 shape, which Wharf never sends
