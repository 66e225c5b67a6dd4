"""Section A of the protocol contract: paths and API formats (PATH)."""

from __future__ import annotations

import pytest

from conformance.expect import answered, check, fail, not_applicable
from conformance.requests import COUNT_TOKENS_PATH, ENDPOINTS, MESSAGES_PATH, captured_headers, count_tokens_body, message_body
from conformance.shapes import error_envelope_problems, json_problems
from conformance.target import NOT_SERVED_STATUSES

REDIRECT_STATUSES = range(300, 400)


@pytest.mark.req("PATH-1")
def test_messages_served_at_base_url(gateway, model, marker):
    path = MESSAGES_PATH.split("?")[0]  # the docs' connectivity check: the bare path (spec N.1)
    exchange = answered(gateway.send("POST", path, headers=captured_headers("messages"), body=message_body(model, marker)), "PATH-1")
    problems = json_problems(exchange, "message") if exchange.status == 200 else []
    check(exchange.status == 200 and not problems, "PATH-1",
          f"POST {gateway.url(path)} answered {exchange.summary()}" + (f"; not a Message: {problems[0]}" if problems else ""),
          "HTTP 200 with a JSON Message at {base}/v1/messages")


QUERY_FORMS = {
    "messages": (MESSAGES_PATH, "messages", message_body),
    "count_tokens": (COUNT_TOKENS_PATH, "count_tokens", count_tokens_body),
}


@pytest.mark.req("PATH-2")
@pytest.mark.parametrize("endpoint", list(QUERY_FORMS))
def test_beta_query_string_routed_like_bare_path(gateway, model, marker, endpoint):
    with_query, headers, build = QUERY_FORMS[endpoint]
    bare = with_query.split("?")[0]
    plain = answered(gateway.send("POST", bare, headers=captured_headers(headers), body=build(model, marker)), "PATH-2")
    query = answered(gateway.send("POST", with_query, headers=captured_headers(headers), body=build(model, marker)), "PATH-2")
    if endpoint == "count_tokens" and plain.status in NOT_SERVED_STATUSES and query.status in NOT_SERVED_STATUSES:
        not_applicable(f"count_tokens is not served (HTTP {plain.status} on both forms); it is optional (PATH-3)")
    check(query.status == plain.status and (endpoint != "messages" or query.status == 200), "PATH-2",
          f"{bare} answered HTTP {plain.status}, but {with_query} answered {query.summary()}",
          f"{with_query} handled exactly like {bare} (Claude Code always adds ?beta=true)")


@pytest.mark.req("PATH-5")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_endpoint_answers_without_redirect(gateway, model, marker, endpoint):
    exchange = answered(gateway.call(endpoint, model, marker, follow_redirects=False), "PATH-5")
    check(exchange.status not in REDIRECT_STATUSES, "PATH-5",
          f"{exchange.method} {exchange.url} answered HTTP {exchange.status} with Location: {exchange.header('location')}",
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
    check(not problems, "PATH-7", f"POST {gateway.url(path)} answered 404 but {'; '.join(problems)}: {exchange.summary()}",
          "the 404 body is {\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",...}}")
