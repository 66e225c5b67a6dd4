"""Live mode (--upstream live): requirements the recording upstream proves by watching the upstream, proven
black-box instead, through the gateway's real provider. The Anthropic API answers these probes deterministically,
most of them with a refusal it does not bill:
- an unknown `anthropic-beta` value: 400 naming it ("Unexpected value(s) `...` for the `anthropic-beta` header"): the
  gateway forwarded the header (HDR-2); a 200 means it dropped or filtered it;
- an unknown top-level body field: 400 "<field>: Extra inputs are not permitted" (BODY-1);
- a signed thinking block sent back in the next turn: refused if one byte of it changed (SSE-9);
- a streamed answer of a few hundred tokens arrives spread over time, unless buffered (SSE-1);
- an invalid request (temperature 5): the API's own error body, which the gateway must relay (ERR-1);
- an unknown model: 404 (ERR-7).

A check whose answer depends on the Anthropic API's behaviour first sends a control request the API always refuses
(temperature 5). When that is not refused as the API refuses it, the gateway's provider is not the Anthropic API (a
translating router) and the check is not applicable, with that reason: never a failure.
Deselected in recorder mode, where the recording upstream proves these requirements directly.
"""

from __future__ import annotations

import secrets

import pytest

from conformance.expect import answered, check, fail, not_applicable
from conformance.requests import captured_headers, message_body, with_header
from conformance.streaming import ReceivedStream

pytestmark = pytest.mark.live_proof

LIVE_TEXT = "conformance live check"
CONTROL_TEMPERATURE = 5  # the API allows 0 to 1: it refuses this with 400 "temperature: Input should be ..."
THINKING_BUDGET = 1024  # the API's smallest thinking budget
UNROUTED_MODEL = "claude-nonexistent-conformance-9"
# SSE-1: an answer that takes the provider seconds to generate arrives spread over at least this span when relayed as
# it arrives; all of it within BURST_S after a wait of at least WAITED_S means the gateway held it back.
SPREAD_S, BURST_S, WAITED_S = 0.5, 0.1, 1.0


def probe_name() -> str:
    return "cgc-probe-" + secrets.token_hex(4)


def anthropic_api_control(gateway, model: str, requirement: str):
    """The control request: the exchange when the provider refused temperature 5 as the Anthropic API does (its
    answer names `temperature`, relayed or wrapped); otherwise the check cannot decide and is not applicable."""
    body = {**message_body(model, LIVE_TEXT), "temperature": CONTROL_TEMPERATURE}
    exchange = answered(gateway.post_messages(body, label="control: temperature 5, which the Anthropic API refuses"), requirement)
    if exchange.status is not None and exchange.status >= 400 and b"temperature" in exchange.body:
        return exchange
    if exchange.status == 200:
        not_applicable(f"the gateway's provider accepted temperature {CONTROL_TEMPERATURE}, which the Anthropic API refuses "
                       "with 400: it is not the Anthropic API (a translating router), so its answer cannot show this")
    not_applicable(f"the control request (temperature {CONTROL_TEMPERATURE}, refused by the Anthropic API with 400 naming "
                   f"temperature) was answered {exchange.summary(200)}: cannot tell whether the provider is the Anthropic API")


@pytest.mark.req("ERR-1")
def test_provider_error_reaches_the_client_as_the_provider_sent_it(gateway, model):
    exchange = anthropic_api_control(gateway, model, "ERR-1")
    body = exchange.json()
    error = body.get("error") if isinstance(body, dict) else None
    relayed = (exchange.status == 400 and isinstance(error, dict) and error.get("type") == "invalid_request_error"
               and str(error.get("message", "")).startswith("temperature"))
    check(relayed, "ERR-1", f"the Anthropic API refuses temperature {CONTROL_TEMPERATURE} with HTTP 400 invalid_request_error "
          f"'temperature: ...'; the client received {exchange.summary(400)}",
          "the provider's error status and body unchanged (Claude Code's recovery reads the API's wording)")


@pytest.mark.req("HDR-2")
def test_unknown_beta_value_reaches_the_provider(gateway, model):
    anthropic_api_control(gateway, model, "HDR-2")
    probe = probe_name()
    headers = captured_headers("messages")
    betas = next((v for k, v in headers if k.lower() == "anthropic-beta"), "")
    exchange = answered(gateway.post_messages(message_body(model, LIVE_TEXT),
                                              headers=with_header(headers, "anthropic-beta", f"{betas},{probe}")), "HDR-2")
    if exchange.status == 200:
        fail("HDR-2", f"anthropic-beta carried Claude Code's values plus {probe!r}, which the Anthropic API refuses with "
             f"400 naming it; the gateway answered 200: it dropped or filtered the header on the way",
             "every anthropic-beta value forwarded verbatim (the API decides which it knows)")
    if probe.encode() not in exchange.body:
        not_applicable(f"the answer names neither the probe value nor success ({exchange.summary(300)}): cannot tell "
                       "whether the header reached the provider")


@pytest.mark.req("BODY-1")
def test_unknown_body_field_reaches_the_provider(gateway, model):
    anthropic_api_control(gateway, model, "BODY-1")
    field = probe_name().replace("-", "_")
    exchange = answered(gateway.post_messages({**message_body(model, LIVE_TEXT), field: True}), "BODY-1")
    if exchange.status == 200:
        fail("BODY-1", f"the request carried the top-level field {field!r}, which the Anthropic API refuses with 400 "
             f"'{field}: Extra inputs are not permitted'; the gateway answered 200: it removed the field on the way",
             "the same JSON content upstream: no field dropped, added or renamed")
    if field.encode() not in exchange.body:
        not_applicable(f"the answer names neither the probe field nor success ({exchange.summary(300)}): cannot tell "
                       "whether the field reached the provider")


@pytest.mark.req("SSE-9")
def test_signed_thinking_block_survives_the_round_trip(gateway, model):
    anthropic_api_control(gateway, model, "SSE-9")
    thinking = {"type": "enabled", "budget_tokens": THINKING_BUDGET}
    first = {**message_body(model, LIVE_TEXT, stream=True, max_tokens=THINKING_BUDGET + 16, text="Reply with one word."),
             "thinking": thinking}
    stream = ReceivedStream(answered(gateway.post_messages(first, label="turn 1: streamed, thinking on"), "SSE-9"))
    deltas = [d.get("delta", {}) for d in stream.datas if d["type"] == "content_block_delta"]
    text = "".join(d.get("thinking", "") for d in deltas if d.get("type") == "thinking_delta")
    signature = "".join(d.get("signature", "") for d in deltas if d.get("type") == "signature_delta")
    answer = "".join(d.get("text", "") for d in deltas if d.get("type") == "text_delta") or "ok"
    if stream.exchange.status != 200 or not signature:
        not_applicable(f"turn 1 brought no signed thinking block to send back ({stream.exchange.summary(300)})")
    history = [*first["messages"],
               {"role": "assistant", "content": [{"type": "thinking", "thinking": text, "signature": signature},
                                                 {"type": "text", "text": answer}]},
               {"role": "user", "content": [{"type": "text", "text": f"Reply with ok.\n{LIVE_TEXT}"}]}]
    second = {**first, "stream": False, "messages": history}
    exchange = answered(gateway.post_messages(second, label="turn 2: the thinking block sent back"), "SSE-9")
    if exchange.status != 200 and b"signature" in exchange.body:
        fail("SSE-9", f"the thinking block the gateway streamed in turn 1, sent back unchanged in turn 2, was refused: "
             f"{exchange.summary(400)}; its text or signature changed on the way out (stream) or back (history)",
             "thinking blocks and their signatures byte-exact in both directions")
    check(exchange.status == 200, "SSE-9", f"turn 2 answered {exchange.summary(300)}", "HTTP 200 for the thinking history")


@pytest.mark.req("SSE-1")
def test_long_answer_arrives_as_it_is_generated(gateway, model, measurements):
    body = message_body(model, LIVE_TEXT, stream=True, max_tokens=300,
                        text="Count from 1 to 100, one number per line, nothing else.")
    stream = ReceivedStream(answered(gateway.post_messages(body), "SSE-1"))
    arrivals = [e.received_at for e, d in stream.typed
                if d["type"] == "content_block_delta" and d.get("delta", {}).get("type") == "text_delta"]
    if stream.exchange.status != 200 or len(arrivals) < 10:
        not_applicable(f"the answer brought {len(arrivals)} text deltas ({stream.exchange.summary(200)}): too few to see pacing")
    spread, waited = arrivals[-1] - arrivals[0], arrivals[0] - stream.exchange.started_at
    measurements["live mode: a 100-number answer's text deltas spread over"] = f"{spread:.2f} s ({len(arrivals)} deltas)"
    if spread >= SPREAD_S:
        return
    if spread <= BURST_S and waited >= WAITED_S:
        fail("SSE-1", f"all {len(arrivals)} text deltas of a long answer arrived within {spread * 1000:.0f} ms, "
             f"{waited:.1f} s after the request: the gateway held the stream back and released it at once",
             "events relayed as the provider sends them (no buffering)")
    not_applicable(f"the provider answered too quickly to tell ({len(arrivals)} deltas over {spread:.2f} s, "
                   f"the first after {waited:.2f} s)")


@pytest.mark.req("ERR-7")
def test_unrouted_model_gets_404(gateway):
    exchange = answered(gateway.post_messages(message_body(UNROUTED_MODEL, LIVE_TEXT)), "ERR-7")
    check(exchange.status == 404, "ERR-7", f"model {UNROUTED_MODEL!r} answered {exchange.summary(200)}",
          "HTTP 404 for a model name the gateway does not route (from the gateway or relayed from the provider)")
