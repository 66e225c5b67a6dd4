"""Section A of the protocol contract: paths and API formats (PATH)."""

from __future__ import annotations

import pytest

from conformance.expect import answered, check, fail, not_applicable
from conformance.requests import captured_headers, count_tokens_body, message_body
from conformance.shapes import error_envelope_problems, json_problems

REDIRECT_STATUSES = range(300, 400)


@pytest.mark.req("PATH-1")
def test_messages_served_at_base_url(gateway, model, marker):
    exchange = answered(gateway.send("POST", "/v1/messages", headers=captured_headers("messages"),
                                     body=message_body(model, marker)), "PATH-1")
    problems = json_problems(exchange, "message") if exchange.status == 200 else []
    check(exchange.status == 200 and not problems, "PATH-1",
          f"POST {gateway.url('/v1/messages')} answered {exchange.summary()}" + (f"; not a Message: {problems[0]}" if problems else ""),
          "HTTP 200 with a JSON Message at {base}/v1/messages")


ENDPOINTS_WITH_QUERY = {
    "messages": ("/v1/messages", "messages", message_body),
    "count_tokens": ("/v1/messages/count_tokens", "count_tokens", count_tokens_body),
}


@pytest.mark.req("PATH-2")
@pytest.mark.parametrize("endpoint", list(ENDPOINTS_WITH_QUERY))
def test_beta_query_string_routed_like_bare_path(gateway, model, marker, endpoint):
    path, headers, build = ENDPOINTS_WITH_QUERY[endpoint]
    bare = answered(gateway.send("POST", path, headers=captured_headers(headers), body=build(model, marker)), "PATH-2")
    query = answered(gateway.send("POST", path + "?beta=true", headers=captured_headers(headers), body=build(model, marker)), "PATH-2")
    if endpoint == "count_tokens" and bare.status in (404, 501) and query.status in (404, 501):
        not_applicable(f"count_tokens is not served (HTTP {bare.status} on both forms); it is optional (PATH-3)")
    check(query.status == bare.status and (endpoint != "messages" or query.status == 200), "PATH-2",
          f"{path} answered HTTP {bare.status}, but {path}?beta=true answered {query.summary()}",
          f"{path}?beta=true handled exactly like {path} (Claude Code always adds ?beta=true)")


REDIRECT_PROBES = {
    "messages": ("POST", "/v1/messages?beta=true", "messages"),
    "count_tokens": ("POST", "/v1/messages/count_tokens?beta=true", "count_tokens"),
    "models": ("GET", "/v1/models?limit=1000", "discovery"),
}


@pytest.mark.req("PATH-5")
@pytest.mark.parametrize("endpoint", list(REDIRECT_PROBES))
def test_endpoint_answers_without_redirect(gateway, model, marker, endpoint):
    method, path, headers = REDIRECT_PROBES[endpoint]
    body = None if method == "GET" else (message_body if endpoint == "messages" else count_tokens_body)(model, marker)
    exchange = answered(gateway.send(method, path, headers=captured_headers(headers), body=body, follow_redirects=False), "PATH-5")
    check(exchange.status not in REDIRECT_STATUSES, "PATH-5",
          f"{method} {gateway.url(path)} answered HTTP {exchange.status} with Location: {exchange.header('location')}",
          "the endpoint served directly at the base URL, never a 3xx")


@pytest.mark.req("PATH-7")
def test_doubled_v1_path_gets_json_not_found(gateway, model, marker):
    path = "/v1/v1/messages?beta=true"  # what a base URL ending in /v1 makes Claude Code call (capture c)
    exchange = answered(gateway.send("POST", path, headers=captured_headers("messages"), body=message_body(model, marker)), "PATH-7")
    if exchange.status == 200 and not json_problems(exchange, "message"):
        path = "/v1/no-such-endpoint"  # the gateway serves /v1/v1 as an alias on purpose: probe a path it cannot serve
        exchange = answered(gateway.send("POST", path, headers=captured_headers("messages"), body=message_body(model, marker)), "PATH-7")
    if exchange.status != 404:
        fail("PATH-7", f"POST {gateway.url(path)} answered {exchange.summary()}", "HTTP 404 with a not_found_error envelope")
    problems = error_envelope_problems(exchange)
    check(not problems, "PATH-7", f"POST {gateway.url(path)} answered 404 but {problems[0] if problems else ''}: {exchange.summary()}",
          "the 404 body is {\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",...}}")
