"""The recording upstream on a real port: scenario keying, scripted steps, and the record of what arrived."""

from __future__ import annotations

import httpx
import pytest

from conformance.serving import BackgroundServer, ServerError
from conformance.upstream import Close, Event, Raw, RecordingUpstream, Sleep, json_script, sse_script


@pytest.fixture
def upstream():
    recorder = RecordingUpstream()
    with BackgroundServer(recorder, name="test upstream") as server:
        recorder.url = server.url
        yield recorder


def post(upstream, path: str, body: bytes, **kwargs) -> httpx.Response:
    return httpx.post(upstream.url + path, content=body, headers={"X-Odd-Case": "v", "content-type": "application/json"},
                      timeout=5, **kwargs)


def test_scripted_answer_is_found_by_the_nonce_in_the_body_and_the_request_recorded(upstream):
    scenario = upstream.scenario(json_script({"hello": 1}, status=201, headers=(("request-id", "req_1"),)))
    body = f'{{"messages":[{{"role":"user","content":"x {scenario.marker}"}}]}}'.encode()
    response = post(upstream, "/prefix/v1/messages?beta=true", body)
    assert (response.status_code, response.json(), response.headers["request-id"]) == (201, {"hello": 1}, "req_1")
    [received] = scenario.requests
    assert received.raw_path == "/prefix/v1/messages?beta=true" and received.query == "beta=true"
    assert received.kind == "messages" and received.body == body and received.header("X-ODD-CASE") == "v"


def test_body_without_marker_gets_a_400_that_names_the_problem(upstream):
    response = post(upstream, "/v1/messages", b'{"messages":[]}')
    assert response.status_code == 400 and "BODY-1" in response.json()["error"]["message"]
    assert upstream.unmatched[0].nonce is None


def test_unscripted_marker_gets_the_default_answer_for_the_endpoint(upstream):
    marker = upstream.scenario().marker
    message = post(upstream, "/v1/messages", f'{{"model":"m","messages":[{{"role":"user","content":"{marker}"}}]}}'.encode())
    count = post(upstream, "/v1/messages/count_tokens", f'{{"messages":[{{"role":"user","content":"{marker}"}}]}}'.encode())
    models = httpx.get(upstream.url + "/v1/models?limit=1000", timeout=5)
    assert message.json()["type"] == "message" and count.json()["input_tokens"] > 0 and models.json()["data"]


def test_steps_are_sent_in_order_with_their_send_times(upstream):
    script = sse_script([Event("a", {"type": "a"}), Sleep(0.2), Raw(b": keep\n\n"), Event("b", {"type": "b"})])
    scenario = upstream.scenario(script)
    response = post(upstream, "/v1/messages", scenario.marker.encode())
    assert response.text == 'event: a\ndata: {"type":"a"}\n\n: keep\n\nevent: b\ndata: {"type":"b"}\n\n'
    assert response.headers["content-type"].startswith("text/event-stream")
    times = [t for t, _, _ in scenario.log.sent]
    assert len(times) == 3 and times[1] - times[0] >= 0.19


def test_close_step_drops_the_connection_mid_body(upstream):
    scenario = upstream.scenario(sse_script([Event("a", {"type": "a"}), Close()]))
    with pytest.raises(httpx.HTTPError):
        post(upstream, "/v1/messages", scenario.marker.encode())


def test_a_taken_port_is_an_environment_error_with_the_reason(upstream):
    port = int(upstream.url.rsplit(":", 1)[1])
    with pytest.raises(ServerError, match="cannot listen"):
        BackgroundServer(RecordingUpstream(), "127.0.0.1", port, "second upstream")
