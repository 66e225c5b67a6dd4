"""Shape checks against schemas/: each returns the problems found (empty when the shape is right),
phrased for a failure message."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from conformance.client import Exchange
from conformance.resources import schema

# ERR-2's status -> error.type table (spec section I; api/errors#http-errors).
ERROR_TYPE_FOR_STATUS = {
    400: ("invalid_request_error",),
    401: ("authentication_error",),
    402: ("billing_error",),
    403: ("permission_error",),
    404: ("not_found_error",),
    409: ("conflict_error",),
    413: ("request_too_large",),
    429: ("rate_limit_error", "billing_error"),
    500: ("api_error",),
    504: ("timeout_error",),
    529: ("overloaded_error",),
}


def schema_problems(instance: Any, schema_name: str) -> list[str]:
    validator = Draft202012Validator(schema(schema_name))
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top level)'}: {error.message}"
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    ]


def json_problems(exchange: Exchange, schema_name: str) -> list[str]:
    """Problems with an exchange's body as a JSON document of the given schema."""
    body = exchange.json()
    if body is None:
        return [f"the body is not JSON (content-type {exchange.content_type or 'none'}, {len(exchange.body)} bytes)"]
    return schema_problems(body, schema_name)


def error_envelope_problems(exchange: Exchange) -> list[str]:
    """ERR-2: a gateway-originated error is the Anthropic envelope with the type matching the status."""
    problems = json_problems(exchange, "error")
    if problems:
        return problems
    error_type = exchange.json()["error"]["type"]
    expected = ERROR_TYPE_FOR_STATUS.get(exchange.status or 0)
    if expected and error_type not in expected:
        return [f"error.type is {error_type!r}; for HTTP {exchange.status} the envelope uses {' or '.join(expected)}"]
    return []
