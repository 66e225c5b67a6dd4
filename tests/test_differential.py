"""The E2E-5 comparison: what the contract forbids a gateway to change is found, volatile values are not."""

from __future__ import annotations

import json

from conformance.differential import compare
from conformance.upstream import ReceivedRequest


def request(body: dict, **headers: str) -> ReceivedRequest:
    return ReceivedRequest("POST", "/v1/messages?beta=true", [(k.replace("_", "-"), v) for k, v in headers.items()],
                           json.dumps(body).encode(), 0.0, None)


BODY = {"model": "m", "stream": True, "metadata": {"user_id": "11111111-2222-3333-4444-555555555555"},
        "messages": [{"role": "user", "content": "conformance-scenario aaaa Today's date is 2026-11-26."}]}
HEADERS = {"anthropic_version": "2023-06-01", "anthropic_beta": "a-2025-01-01,b-2025-02-02",
           "x_claude_code_session_id": "11111111-2222-3333-4444-555555555555"}


def test_volatile_ids_the_nonce_and_the_prompt_date_are_not_differences():
    later = json.loads(json.dumps(BODY).replace("1111", "9999").replace("aaaa", "bbbb").replace("2026-11-26", "2026-11-27"))
    session = {**HEADERS, "x_claude_code_session_id": "99999999-2222-3333-4444-555555555555"}
    found = compare([request(BODY, **HEADERS)], [request(later, **session)], set())
    assert found.forbidden == [] and found.allowed == []


def test_a_changed_anthropic_version_is_forbidden_even_though_it_is_a_date():
    found = compare([request(BODY, **HEADERS)], [request(BODY, **{**HEADERS, "anthropic_version": "2024-01-01"})], set())
    assert [rid for rid, _ in found.forbidden] == ["HDR-1"]


def test_betas_may_be_merged_but_not_reordered_or_dropped():
    merged = compare([request(BODY, **HEADERS)], [request(BODY, **{**HEADERS, "anthropic_beta": "a-2025-01-01,b-2025-02-02,gw-1"})], set())
    reordered = compare([request(BODY, **HEADERS)], [request(BODY, **{**HEADERS, "anthropic_beta": "b-2025-02-02,a-2025-01-01"})], set())
    renamed = compare([request(BODY, **HEADERS)], [request(BODY, **{**HEADERS, "anthropic_beta": "a-2025-01-02,b-2025-02-02"})], set())
    assert merged.forbidden == [] and merged.allowed
    assert [rid for rid, _ in reordered.forbidden] == ["HDR-2"] and [rid for rid, _ in renamed.forbidden] == ["HDR-2"]


def test_body_changes_and_missing_turns_are_forbidden_extra_requests_are_listed():
    changed = compare([request(BODY, **HEADERS)], [request({**BODY, "model": "other"}, **HEADERS)], set())
    assert [rid for rid, _ in changed.forbidden] == ["BODY-1"]
    missing = compare([request(BODY, **HEADERS)], [], set())
    assert missing.forbidden and "never reached the upstream" in missing.forbidden[0][1]
    fallback = {**BODY, "stream": False}
    extra = compare([request(BODY, **HEADERS)], [request(BODY, **HEADERS), request(fallback, **HEADERS)], set())
    assert extra.forbidden == [] and "extra request" in extra.allowed[0]


def test_headers_the_run_adds_and_the_credential_swap_are_not_compared():
    relayed = {**HEADERS, "x_tenant": "t", "authorization": "Bearer gateway-key"}
    found = compare([request(BODY, **HEADERS, authorization="Bearer client")], [request(BODY, **relayed)], {"x-tenant"})
    assert found.forbidden == [] and found.allowed == []
