"""Sections E and F of the protocol contract: request headers (HDR) and body fields (BODY), with SSE-12
and ATTR-3: what Claude Code sends must reach the Anthropic-format upstream unchanged.

Requests start from Claude Code 2.1.331's captured requests (fixtures/claude-code/requests/), sent with
their original headers; the recording upstream shows what arrived. Every failure shows the sent and
received values side by side.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest

from conformance.client import Exchange
from conformance.expect import answered, check, fail, not_applicable
from conformance.formats.base import UpstreamFormat
from conformance.formats.messages import text_of
from conformance.forwarding import (
    beta_values, byte_differences, captured_request, exact_json, header_rows, is_subsequence,
    json_differences, side_by_side, with_marker,
)
from conformance.requests import captured_headers, message_body, with_header
from conformance.upstream import ReceivedRequest
from conformance.upstream.streams import message_script

FUTURE_BETAS = "a-2099-01-01,b-2099-01-01"  # values no gateway can know (HDR-2 check)


@dataclass
class Relayed:
    sent_headers: list[tuple[str, str]]
    sent_body: bytes
    exchange: Exchange
    received: ReceivedRequest
    provider: UpstreamFormat | None = None  # an Anthropic dialect the recording upstream plays (--upstream-format)

    @property
    def received_json(self):
        """The Messages body that arrived, exact numbers kept; for a dialect, its documented changes undone
        (model from the URL, anthropic_version and Bedrock's anthropic_beta removed, spec L2)."""
        body = exact_json(self.received.body)
        if self.provider is None or not isinstance(body, dict) or self.received.call is None:
            return body
        return self.provider.anthropic_body(self.received.call, body)

    @property
    def received_betas(self) -> list[str]:
        """The beta values that arrived: the anthropic-beta header, or Bedrock's anthropic_beta body array (PROV-3)."""
        if self.provider is not None and not self.provider.forwards_anthropic_headers:
            body = exact_json(self.received.body)
            return [str(v) for v in body.get("anthropic_beta") or []] if isinstance(body, dict) else []
        return beta_values(self.received.header("anthropic-beta"))


@pytest.fixture
def relay(gateway, upstream, evidence, model):
    """Send a Claude Code request (captured headers unless given) and return what reached the upstream."""

    def send(body: dict, headers: list[tuple[str, str]] | None = None, requirement: str = "BODY-1", capture: str = "messages-print") -> Relayed:
        # A JSON answer even to stream: true: these tests judge the request, and a stream fault must not touch them.
        scenario = upstream.scenario(message_script("complete_blocks"))
        captured = captured_request(capture)
        headers = captured.headers if headers is None else headers
        exchange = answered(gateway.post_messages(with_marker(body, scenario.marker, model), headers=headers), requirement)
        if not scenario.requests:
            fail(requirement, f"the request never reached the upstream; the gateway answered {exchange.summary(300)}",
                 "the request forwarded to the upstream")
        received = scenario.requests[0]
        relayed = Relayed(exchange.request_headers, exchange.request_body, exchange, received, upstream.recorder.format)
        evidence.add("headers: sent -> received by the upstream", side_by_side(header_rows(headers, received)))
        return relayed

    return send


def print_mode_body() -> dict:
    return copy.deepcopy(captured_request("messages-print").body)


def with_betas(headers, extra: str) -> list[tuple[str, str]]:
    current = next(v for k, v in headers if k.lower() == "anthropic-beta")
    return with_header(headers, "anthropic-beta", f"{current},{extra}")


# ---------------------------------------------------------------- headers (E)

@pytest.mark.req("HDR-1")
def test_anthropic_version_arrives_unchanged(relay):
    relayed = relay(print_mode_body(), requirement="HDR-1")
    received = relayed.received.header("anthropic-version")
    check(received == "2023-06-01", "HDR-1", f"anthropic-version: sent '2023-06-01', the upstream received {received!r}",
          "anthropic-version forwarded unchanged")


@pytest.mark.req("HDR-2")
def test_anthropic_beta_arrives_verbatim_including_unknown_values(relay):
    headers = with_betas(captured_request("messages-print").headers, FUTURE_BETAS)
    relayed = relay(print_mode_body(), headers, requirement="HDR-2")
    sent = beta_values(dict((k.lower(), v) for k, v in headers)["anthropic-beta"])
    received = relayed.received_betas
    check(is_subsequence(sent, received), "HDR-2",
          f"anthropic-beta sent {','.join(sent)!r}; the upstream received {','.join(received)!r} "
          f"(missing or out of order: {[v for v in sent if v not in received] or 'order changed'})",
          "every client value, spelled identically and in the same order (values the gateway adds may appear among them)")


@pytest.mark.req("HDR-4")
def test_unknown_anthropic_header_is_forwarded(relay):
    headers = captured_request("messages-print").headers + [("anthropic-foo", "bar")]
    relayed = relay(print_mode_body(), headers, requirement="HDR-4")
    check(relayed.received.header("anthropic-foo") == "bar", "HDR-4",
          f"anthropic-foo: bar was sent; the upstream received {relayed.received.header('anthropic-foo')!r}",
          "unknown anthropic-* headers forwarded to an Anthropic-format upstream")


@pytest.mark.req("HDR-4")
def test_other_unknown_headers_are_not_rejected(gateway, model, marker):
    headers = captured_headers("messages") + [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
                                             ("x-unknown-probe", "1")]
    exchange = answered(gateway.post_messages(message_body(model, marker), headers=headers), "HDR-4")
    check(not 400 <= exchange.status < 500, "HDR-4", f"a request with traceparent and x-unknown-probe answered {exchange.summary(200)}",
          "unknown headers accepted and ignored, never a 4xx")


HDR5_REQUESTS = ["messages-print", "messages-interactive", "count-tokens-all-tools", "discovery"]
FUTURE_HEADERS = [("anthropic-future-probe", "1"), ("x-claude-code-future-probe", "1")]


def send_captured(gateway, captured, headers, marker, model) -> Exchange:
    if captured.method == "GET":
        return gateway.get_models(headers=headers)
    if "count_tokens" in captured.path:
        return gateway.post_count_tokens(with_marker(captured.body, marker, model), headers=headers)
    return gateway.post_messages(with_marker(captured.body, marker, model), headers=headers)


@pytest.mark.req("HDR-5")
@pytest.mark.parametrize("capture", HDR5_REQUESTS)
def test_claude_code_and_future_headers_are_never_rejected(gateway, endpoints, json_marker, model, capture):
    marker = json_marker
    captured = captured_request(capture)
    if "count_tokens" in captured.path and not endpoints.count_tokens_served:
        not_applicable("count_tokens is not served")
    if "models" in captured.path and not endpoints.models_served:
        not_applicable("/v1/models is not served")
    exchange = answered(send_captured(gateway, captured, captured.headers + FUTURE_HEADERS, marker, model), "HDR-5")
    if 400 <= exchange.status < 500:
        # Only a rejection the headers cause counts: the same request with the docs' minimal headers (spec N.1).
        minimal = [("content-type", "application/json"), ("anthropic-version", "2023-06-01")]
        baseline = answered(send_captured(gateway, captured, minimal, marker, model), "HDR-5")
        if 400 <= baseline.status < 500:
            pytest.skip(f"the {capture} request is refused with minimal headers too (HTTP {baseline.status}): "
                        "its headers are not the cause; other requirements report why")
    check(not 400 <= exchange.status < 500, "HDR-5",
          f"Claude Code's {capture} request ({captured.source}) plus {FUTURE_HEADERS} answered {exchange.summary(200)}, "
          "while the same request with minimal headers was accepted",
          "no 4xx because of any header Claude Code sends or an unknown anthropic-* / x-claude-code-* header")


@pytest.mark.req("HDR-6")
def test_header_names_are_case_insensitive(relay, evidence):
    headers = captured_request("messages-print").headers
    odd_case = [(name.upper() if name.lower().startswith("anthropic-") else name, value) for name, value in headers]
    usual, shouted = relay(print_mode_body(), headers, requirement="HDR-6"), relay(print_mode_body(), odd_case, requirement="HDR-6")
    rows = [("HTTP status", str(usual.exchange.status), str(shouted.exchange.status))]
    rows += [(name, usual.received.header(name), shouted.received.header(name)) for name in ("anthropic-version", "anthropic-beta")]
    evidence.add("the same request with anthropic-* header names as captured -> in upper case", side_by_side(rows))
    differing = [name for name, a, b in rows if a != b]
    check(not differing, "HDR-6", f"upper-case header names were treated differently: {differing} "
          f"({'; '.join(f'{n}: {a!r} vs {b!r}' for n, a, b in rows if a != b)})",
          "header names matched case-insensitively: the same status and the same values forwarded")


# ---------------------------------------------------------------- body (F)

def with_unknown_fields(body: dict) -> dict:
    body = copy.deepcopy(body)
    body["future_top_level_2099"] = {"enabled": True, "weight": 1.0, "big": 9007199254740991}
    body["messages"][0]["content"][0]["future_block_field_2099"] = "kept"
    body["tools"][0]["input_schema"]["future_schema_field_2099"] = [1, 2.5, None]
    body["thinking"]["future_thinking_field_2099"] = "kept"
    return body


@pytest.mark.req("BODY-1")
def test_body_content_arrives_unchanged_including_unknown_fields(relay, evidence):
    relayed = relay(with_unknown_fields(print_mode_body()))
    differences = json_differences(exact_json(relayed.sent_body), relayed.received_json)
    evidence.add("body content: sent vs received (JSON paths)", "\n".join(differences) or "identical content")
    check(not differences, "BODY-1", f"{len(differences)} content difference(s): " + "; ".join(differences[:8]),
          "the same JSON content: no field dropped, added or renamed; values and array order unchanged")


@pytest.mark.req("BODY-17")
def test_body_bytes_arrive_unchanged(relay, evidence):
    relayed = relay(print_mode_body(), requirement="BODY-17")
    difference = byte_differences(relayed.sent_body, relayed.received.body)
    evidence.add("body bytes: sent vs received", difference or "byte-identical")
    check(not difference, "BODY-17", difference, "the request body forwarded byte-for-byte")


@pytest.mark.req("BODY-3")
def test_body_is_not_rewritten_for_content_inspection(relay):
    # What a DLP or WAF rewrite targets: credentials, personal data, markup. Claude Code sends all of it in tool results.
    bait = ("AWS key AKIAIOSFODNN7EXAMPLE, card 4111 1111 1111 1111, mail jane.doe@example.com, "
            "<script>alert(1)</script>, -----BEGIN RSA PRIVATE KEY-----")
    body = print_mode_body()
    body["messages"][0]["content"].insert(0, {"type": "text", "text": bait})
    relayed = relay(body, requirement="BODY-3")
    sent_block = exact_json(relayed.sent_body)["messages"][0]["content"][0]
    received = relayed.received_json
    received_block = received["messages"][0]["content"][0] if received.get("messages") else None
    check(received_block == sent_block, "BODY-3", f"the text block {sent_block} arrived as {received_block}",
          "message content forwarded as sent, inspected without modification")


def feature_request() -> tuple[dict, list[tuple[str, str]]]:
    """Claude Code's print-mode request with every feature of the spec's pass-through table switched on."""
    body = print_mode_body()
    body["output_config"] = {"effort": "high", "format": {"type": "json_schema", "schema": {"type": "object"}}}
    body["tools"].append({"name": "mcp__srv__lookup", "description": "deferred MCP tool", "strict": True,
                          "input_schema": {"type": "object"}, "defer_loading": True, "eager_input_streaming": True})
    body["messages"] += [
        {"role": "assistant", "content": [{"type": "text", "text": "Looking it up."}]},
        {"role": "system", "content": [{"type": "text", "text": "Environment changed.", "cache_control": {"type": "ephemeral"}}]},
        {"role": "user", "content": [{"type": "tool_reference", "tool_name": "mcp__srv__lookup"}, {"type": "text", "text": "go on"}]},
    ]
    headers = with_betas(captured_request("messages-print").headers,
                         "context-1m-2025-08-07,structured-outputs-2025-12-15,fine-grained-tool-streaming-2025-05-14")
    return body, headers


def cache_controls(value):
    """Every cache_control marker, with the start of the text of the block that carries it."""
    if isinstance(value, dict):
        found = [(str(value.get("text", value.get("name", "")))[:40], value["cache_control"])] if "cache_control" in value else []
        return found + [f for k, v in value.items() if k != "cache_control" for f in cache_controls(v)]
    if isinstance(value, list):
        return [f for v in value for f in cache_controls(v)]
    return []


# requirement: (beta values, body parts compared by JSON path). Spec F feature table and SSE-12.
FEATURES = {
    "BODY-4": ((), lambda b: {"thinking": b.get("thinking")}),
    "BODY-5": (("context-management-2025-06-27",), lambda b: {"context_management": b.get("context_management")}),
    "BODY-6": (("context-1m-2025-08-07", "interleaved-thinking-2025-05-14"), lambda b: {}),
    "BODY-7": (("advanced-tool-use-2025-11-20",), lambda b: {
        "tools[].defer_loading/strict": [(t.get("name"), t.get("defer_loading"), t.get("strict")) for t in b.get("tools", [])],
        "tool_reference blocks": [c for m in b.get("messages", []) if isinstance(m.get("content"), list)
                                  for c in m["content"] if c.get("type") == "tool_reference"]}),
    "BODY-8": (("effort-2025-11-24", "structured-outputs-2025-12-15"), lambda b: {"output_config": b.get("output_config")}),
    "BODY-9": ((), lambda b: {"cache_control markers": cache_controls(b)}),
    "SSE-12": (("fine-grained-tool-streaming-2025-05-14",), lambda b: {
        "tools[].eager_input_streaming": [(t.get("name"), t.get("eager_input_streaming")) for t in b.get("tools", [])]}),
}


@pytest.mark.parametrize("requirement", [  # literal IDs: the catalogue's coverage scan reads them from source
    pytest.param("BODY-4", marks=pytest.mark.req("BODY-4")),
    pytest.param("BODY-5", marks=pytest.mark.req("BODY-5")),
    pytest.param("BODY-6", marks=pytest.mark.req("BODY-6")),
    pytest.param("BODY-7", marks=pytest.mark.req("BODY-7")),
    pytest.param("BODY-8", marks=pytest.mark.req("BODY-8")),
    pytest.param("BODY-9", marks=pytest.mark.req("BODY-9")),
    pytest.param("SSE-12", marks=pytest.mark.req("SSE-12")),
])
def test_feature_header_and_body_fields_arrive_intact(relay, evidence, requirement):
    betas, parts = FEATURES[requirement]
    body, headers = feature_request()
    relayed = relay(body, headers, requirement=requirement)
    received_betas = relayed.received_betas
    sent, received = parts(exact_json(relayed.sent_body)), parts(relayed.received_json)
    rows = [(f"anthropic-beta has {b}", "yes", "yes" if b in received_betas else "no") for b in betas]
    rows += [(name, str(sent[name]), str(received.get(name))) for name in sent]
    evidence.add(f"{requirement}: sent -> received", side_by_side(rows))
    lost = [name for name, s, r in rows if s != r]
    check(not lost, requirement, f"lost or changed on the way to the upstream: {lost}: " +
          "; ".join(f"{n}: sent {s[:150]} -> received {r[:150]}" for n, s, r in rows if s != r),
          "the feature's beta header value(s) and body fields reach the upstream intact")


# beta value <-> body field pairs (BODY-2): forward both or neither.
PAIRS = {
    "context-management-2025-06-27": lambda b: b.get("context_management"),
    "structured-outputs-2025-12-15": lambda b: (b.get("output_config") or {}).get("format"),
    "advanced-tool-use-2025-11-20": lambda b: [t.get("defer_loading") for t in b.get("tools", []) if t.get("defer_loading")],
    "fine-grained-tool-streaming-2025-05-14": lambda b: [t for t in b.get("tools", []) if t.get("eager_input_streaming")],
}


@pytest.mark.req("BODY-2")
def test_beta_header_and_its_body_field_travel_together(relay):
    body, headers = feature_request()
    relayed = relay(body, headers, requirement="BODY-2")
    received_betas = relayed.received_betas
    received_body = relayed.received_json
    half_lost = []
    for beta, field in PAIRS.items():
        has_beta, has_field = beta in received_betas, bool(field(received_body))
        if has_beta != has_field:
            half_lost.append(f"{beta}: the upstream got the {'header' if has_beta else 'body field'} without the "
                             f"{'body field' if has_beta else 'header'}")
    check(not half_lost, "BODY-2", "; ".join(half_lost), "each beta header value and its body field forwarded together (or neither)")


@pytest.mark.req("BODY-11", "ATTR-3")
def test_system_attribution_block_arrives_first_and_unchanged(relay):
    relayed = relay(print_mode_body(), requirement="BODY-11")
    sent, received = exact_json(relayed.sent_body)["system"], relayed.received_json.get("system")
    check(isinstance(received, list) and len(received) == len(sent) and received[0] == sent[0], "BODY-11",
          f"system sent as a list of {len(sent)} blocks starting {sent[0]}; the upstream received "
          f"{type(received).__name__} {str(received)[:300]}",
          "system forwarded as the same list: the attribution block first, in its own entry, unchanged")


@pytest.mark.req("BODY-12")
def test_run_model_is_routed_and_arrives_unchanged(relay, model):
    body = print_mode_body()
    body["model"] = model
    relayed = relay(body, requirement="BODY-12")
    received = relayed.received_json.get("model")
    check(relayed.exchange.status == 200, "BODY-12", f"model {model!r} answered {relayed.exchange.summary(200)}", f"{model} routed")
    check(received == model, "BODY-12", f"model sent {model!r}, the upstream received {received!r} (no --model mapping is configured)")


@pytest.mark.req("BODY-13")
def test_message_history_arrives_verbatim(relay, evidence):
    body = print_mode_body()
    tiny_png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    body["messages"] += [
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Check the image first.", "signature": "EqQBCgIYAhIMaGlzdG9yeQ=="},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgyRedacted=="},
            {"type": "tool_use", "id": "toolu_cgc_b13", "name": "Read", "input": {"file_path": "/tmp/a.png"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_cgc_b13", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": tiny_png}}]},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}},
            {"type": "text", "text": "what is in it?"}]},
        {"role": "system", "content": [{"type": "text", "text": "A mid-conversation system entry."}]},
        {"role": "user", "content": [{"type": "text", "text": "answer"}]},
    ]
    relayed = relay(body, requirement="BODY-13")
    sent = exact_json(relayed.sent_body)["messages"][1:]  # the history added after Claude Code's first message
    received = (relayed.received_json.get("messages") or [None])[1:]
    differences = json_differences(sent, received, "$.messages[1:]")
    evidence.add("messages: sent vs received", "\n".join(differences) or "identical")
    check(not differences, "BODY-13", "; ".join(differences[:6]),
          "history forwarded verbatim: thinking with signatures, redacted_thinking, tool_use/tool_result, images, documents, system entries")


# Bodies of a long session: a 200k-token conversation is about 1 MB of JSON; nginx's default limit is 1 MiB.
LARGE_BODY_SIZES = {"2 MB": 2_000_000, "10 MB": 10_000_000}


@pytest.mark.req("BODY-16")
@pytest.mark.parametrize("size", list(LARGE_BODY_SIZES))
def test_large_request_body_reaches_the_upstream(after_timed_streams, relay, size, run_config):
    body = print_mode_body()
    long_result = ("line of a long tool result: file contents, logs, diffs 0123456789\n" * (LARGE_BODY_SIZES[size] // 66 + 1))[:LARGE_BODY_SIZES[size]]
    if run_config.provider is None:
        body["messages"][0]["content"].insert(0, {"type": "tool_result", "tool_use_id": "toolu_cgc_big", "content": long_result})
    else:  # a tool result needs its call in another format's history: a long text is as large
        body["messages"][0]["content"].insert(0, {"type": "text", "text": long_result})
    relayed = relay(body, requirement="BODY-16")
    if run_config.provider is None:
        intact = relayed.received_json["messages"][0]["content"][0].get("content") == long_result
    else:
        intact = any(long_result in text_of(m["content"]) for m in relayed.received.messages_request()["messages"])
    check(relayed.exchange.status == 200 and intact, "BODY-16",
          f"a {len(relayed.sent_body) / 1e6:.1f} MB request answered {relayed.exchange.summary(200)}; the tool result "
          f"{'arrived intact' if intact else 'was changed on the way'}",
          "bodies as large as the upstream accepts (32 MB) forwarded, and the answer relayed")
