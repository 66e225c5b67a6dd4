"""End to end with the real Claude Code CLI (E2E-1..5): Claude Code itself, in print mode, talks to the
gateway, which talks to the recording upstream; the upstream's answers are scripted, so what the CLI
prints and what the upstream received can both be judged. Evidence: the CLI's own output (stream-json)
and every request that reached the upstream."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from conformance.claude_cli import ClaudeCode, CliRun
from conformance.differential import compare
from conformance.expect import check, fail
from conformance.overlap import overlapping
from conformance.upstream.answers import error_body, text_stream_events, tool_use_events
from conformance.upstream.recorder import Scenario
from conformance.upstream.script import json_script, sse_script

# A streamed answer with several deltas, multi-byte text and JSON-escaped characters: what the CLI prints
# must be exactly their concatenation.
ANSWER_DELTAS = ["Gateway check: ", "the stream ", "arrived whole — ", "café ✓ \"quoted\" \\ ", "done."]
NOTE_FILE, NOTE_TEXT = "notes.txt", "the conformance word is pumpernickel"
THINKING = ("The user wants the note; read it first.", "EqQBCgIYAhIMc2lnbmVkLWUyZS10aGlua2luZy1jb25mb3JtYW5jZQ==")
TOOL_ID = "toolu_cgc_e2e_01"


def read_turns(model: str, workdir, thinking: tuple[str, str] | None = None) -> tuple:
    """Turn 1 asks Claude Code to Read the note (after a signed thinking block, if given); turn 2 answers."""
    ask = sse_script(tool_use_events(model, TOOL_ID, "Read", {"file_path": str(workdir / NOTE_FILE)}, thinking=thinking))
    answer = sse_script(text_stream_events(model, ["The note says: ", NOTE_TEXT]))
    return ask, answer


def request_json(received) -> dict:
    return received.messages_request()


def next_turn(requests, requirement: str, carrying: str):
    """The first request of the conversation's second turn (after Claude Code ran the tool)."""
    __tracebackhide__ = True
    follow_ups = [r for r in requests if r.turn == 2]
    if not follow_ups:
        fail(requirement, f"{len(requests)} request(s) reached the upstream, none of them the turn after the tool call",
             f"a second turn carrying {carrying}")
    return follow_ups[0]


def completed(run, requirement: str, expected: str) -> None:
    """Fail when Claude Code did not end its run with a successful result line."""
    __tracebackhide__ = True
    check(run.succeeded, requirement, run.outcome(), expected)


# Each CLI run is a job that starts with the run (conformance.overlap): the CLI's start-up and its retries are
# deliberate waits the other tests need not queue behind.
@overlapping("e2e-streamed-text")
def streamed_text_run(job) -> tuple[CliRun, Scenario]:
    scenario = job.upstream().scenario(sse_script(text_stream_events(job.model, ANSWER_DELTAS)))
    return job.claude_code().run(f"{scenario.marker} Reply with the gateway check sentence."), scenario


@pytest.mark.req("E2E-1")
@pytest.mark.overlapping("e2e-streamed-text")
def test_streamed_text_answer_is_printed_in_full(overlapped):
    run, scenario = overlapped("e2e-streamed-text")
    completed(run, "E2E-1", "Claude Code ends the turn successfully and prints the streamed answer")
    expected = "".join(ANSWER_DELTAS)
    check(run.answer == expected, "E2E-1", f"Claude Code printed {run.answer!r}", f"the whole streamed answer, {expected!r}")
    streams = [request_json(r).get("stream") for r in scenario.requests]
    check(streams == [True], "E2E-1",
          f"the upstream received the turn {len(streams)} times (stream = {streams}): Claude Code retried it or fell back to "
          "a non-streaming request, which it does when the stream it got was broken or empty",
          "one streaming request; the stream relayed so that Claude Code needs no fallback")


@dataclass
class ReadScenario:
    """The thinking + Read scenario through the gateway: one CLI run shared by E2E-2, E2E-3 and E2E-5
    (each CLI start costs about a second of CPU); the job's evidence is shown in each test."""

    driver: ClaudeCode
    run: CliRun
    scenario: Scenario
    call_ids: bool = True  # the upstream's tool calls carry ids (not Gemini's: formats.base.UpstreamFormat.call_ids)


def run_read_scenario(driver: ClaudeCode, upstream, model: str, direct: bool) -> tuple[CliRun, Scenario]:
    (driver.workdir / NOTE_FILE).write_text(NOTE_TEXT + "\n")
    scenario = upstream.scenario(*read_turns(model, driver.workdir, thinking=THINKING), by_turn=True)
    run = driver.run(f"{scenario.marker} What does {NOTE_FILE} say?", direct=direct, allowed_tools=("Read",))
    return run, scenario


@overlapping("e2e-thinking-read")
def thinking_read_run(job) -> ReadScenario:
    driver, upstream = job.claude_code(), job.upstream()
    provider = upstream.recorder.format
    return ReadScenario(driver, *run_read_scenario(driver, upstream, job.model, direct=False), provider is None or provider.call_ids)


@overlapping("e2e-control")
def direct_control_run(job) -> tuple[CliRun, Scenario]:
    """The control: the same scenario with Claude Code straight at the recording upstream, after the run through
    the gateway and in the same HOME and working directory (so the prompt's paths match)."""
    through_gateway = job.needs("e2e-thinking-read")
    return run_read_scenario(through_gateway.driver, job.upstream(), job.model, direct=True)


@pytest.fixture
def read_scenario(overlapped) -> ReadScenario:
    return overlapped("e2e-thinking-read")


@pytest.mark.req("E2E-2")
@pytest.mark.overlapping("e2e-thinking-read")
def test_tool_round_trip_completes(read_scenario):
    run, requests = read_scenario.run, read_scenario.scenario.requests
    completed(run, "E2E-2", "Claude Code runs the Read tool, sends its result and prints the final answer")
    check(run.answer == f"The note says: {NOTE_TEXT}", "E2E-2", f"Claude Code printed {run.answer!r}",
          "the answer of the turn after the tool result")
    history = request_json(next_turn(requests, "E2E-2", "the tool_result"))["messages"]
    last = history[-1]
    results = [b for b in last.get("content", []) if isinstance(b, dict) and b.get("type") == "tool_result"]
    # A provider whose calls carry no ids (Gemini) pairs the result with the call before it: the upstream's id for it.
    call_id = TOOL_ID if read_scenario.call_ids else next(
        (b.get("id") for m in reversed(history[:-1]) for b in m.get("content", []) if isinstance(b, dict) and b.get("type") == "tool_use"), TOOL_ID)
    check(last.get("role") == "user" and results and results[0].get("tool_use_id") == call_id, "E2E-2",
          f"the second request's last message is {json.dumps(last)[:400]}",
          f"a user message with a tool_result for {call_id}")
    check(NOTE_TEXT in json.dumps(results[0].get("content")), "E2E-2",
          f"the tool_result that reached the upstream is {json.dumps(results[0])[:400]}",
          f"the tool_result holding the file's text ({NOTE_TEXT!r}), as Claude Code produced it")


@pytest.mark.req("E2E-3")
@pytest.mark.overlapping("e2e-thinking-read")
def test_signed_thinking_block_comes_back_byte_exact(read_scenario):
    run, requests = read_scenario.run, read_scenario.scenario.requests
    completed(run, "E2E-3", "Claude Code finishes the thinking + tool turn and the next one")
    history = request_json(next_turn(requests, "E2E-3", "the thinking block"))["messages"]
    blocks = [b for m in history if m.get("role") == "assistant" for b in m.get("content", [])
              if isinstance(b, dict) and b.get("type") == "thinking"]
    sent = {"thinking": THINKING[0], "signature": THINKING[1]}
    got = {k: blocks[0].get(k) for k in sent} if blocks else None
    check(got == sent, "E2E-3", f"the next request's thinking block was {got!r}",
          f"thinking and signature exactly as the upstream streamed them: {sent!r}")


@overlapping("e2e-rate-limit")
def rate_limit_run(job) -> tuple[CliRun, Scenario]:
    refusal = json_script(error_body("rate_limit_error", "conformance: scripted 429"), status=429, headers=(("retry-after", "1"),))
    scenario = job.upstream().scenario(refusal, sse_script(text_stream_events(job.model, ["recovered"])))
    return job.claude_code().run(f"{scenario.marker} Say recovered.", max_retries=2), scenario


@pytest.mark.req("E2E-4")
@pytest.mark.overlapping("e2e-rate-limit")
def test_recovers_after_a_rate_limit(overlapped, evidence):
    run, scenario = overlapped("e2e-rate-limit")
    attempts = len(scenario.requests)
    evidence.add("attempts that reached the upstream", f"{attempts} (the first answered 429 with retry-after: 1, the next ones 200)")
    completed(run, "E2E-4", "Claude Code retries after the 429 and prints the answer of the retry")
    check(run.answer == "recovered" and attempts >= 2, "E2E-4",
          f"Claude Code printed {run.answer!r} after {attempts} attempt(s) reached the upstream",
          "a retry after the 429, then the retry's answer 'recovered'")


@pytest.fixture
def direct_control(overlapped) -> Scenario:
    """The control run's scenario. It talks to the suite's own upstream, so a failure here is the suite's: it
    raises in set-up and the test reports an error, never a failure."""
    run, scenario = overlapped("e2e-control")
    if not run.succeeded or not scenario.requests:
        raise RuntimeError(f"the control run straight at the recording upstream failed: {run.outcome()}")
    return scenario


@pytest.mark.req("E2E-5")
@pytest.mark.overlapping("e2e-thinking-read", "e2e-control")
def test_upstream_receives_what_claude_code_sends_directly(direct_control, read_scenario, evidence, run_config):
    differences = compare(direct_control.requests, read_scenario.scenario.requests,
                          {name.lower() for name, _ in run_config.gateway_headers})
    evidence.add("what the upstream received: Claude Code directly vs through the gateway (volatile ids normalised)",
                 differences.report())
    if differences.forbidden:
        first_id, first = differences.forbidden[0]
        against = f", against {first_id}" if first_id else ""
        fail("E2E-5", f"{len(differences.forbidden)} forbidden difference(s); the first{against}: {first}",
             "the same body (BODY-1), anthropic-version (HDR-1) and anthropic-beta values (HDR-2) as Claude Code sent directly")
