"""The suite as users run it: the default main job, the documented options, the reports, and secrecy."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema

from conformance.resources import schema
from conformance.serving import BackgroundServer
from conformance.upstream import RecordingUpstream
from tests.conftest import reference_gateway, run_against, run_suite

# Option tests that are not about streaming or the real CLI leave out the seconds-long scripted streams
# and the end-to-end area.
NO_STREAMING = ("-m", "not streaming and not e2e")


def test_default_run_uses_the_reference_gateway_and_writes_three_reports(reference_run):
    assert reference_run.returncode == 0, reference_run.stdout[-2000:]
    document = reference_run.document
    jsonschema.validate(document, schema("report"))
    assert document["gateway"]["reference"] is True and document["verdict"] in ("conformant", "incomplete")
    assert document["coverage"]["tested"] > 0 and document["coverage"]["total"] == len(document["requirements"])
    html = (reference_run.report_dir / "conformance.html").read_text()
    assert 'id="cgc-verdict"' in html and 'id="cgc-matrix"' in html and "<script src=" not in html
    properties = ET.parse(reference_run.report_dir / "junit.xml").getroot().iter("property")
    assert {"PATH-1", "AUTH-3"} <= {p.get("value") for p in properties if p.get("name") == "requirement"}
    assert "Verdict:" in reference_run.stdout and "coverage" in reference_run.stdout


def test_distinctive_token_appears_in_no_report_file_and_no_output(tmp_path):
    token = "cgc-leak-canary-7f3a9e2b41d8c605"
    with reference_gateway("html-401", token=token) as gateway:
        run = run_against(gateway, tmp_path / "reports")
    assert run.returncode == 0 and run.requirements_with("failed") == ["ERR-2"]  # failures carry transcripts
    assert any(t["transcript"] for t in run.document["tests"])
    for path in (tmp_path / "reports").rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), path
    assert token not in run.stdout + run.stderr


def test_gateway_with_a_path_prefix_passes_like_the_reference(tmp_path, reference_run):
    with reference_gateway(prefix="/anthropic") as gateway:
        run = run_against(gateway, tmp_path)
    assert run.returncode == 0, run.stdout[-2000:]
    assert run.requirements_with("passed") == reference_run.requirements_with("passed")
    assert run.document["gateway"]["auth"]["anthropic_base_url"].endswith("/anthropic")


def test_live_mode_skips_upstream_tests_with_the_reason_and_is_incomplete(tmp_path):
    with reference_gateway() as gateway, BackgroundServer(RecordingUpstream(), port=gateway.upstream_port):
        run = run_suite(tmp_path, "--gateway-url", gateway.url, "--upstream", "live", token=gateway.token)
    assert run.returncode == 0, run.stdout[-2000:]
    skipped = [t for t in run.document["tests"] if t["outcome"] == "skipped"]
    assert skipped and all("--upstream live" in t["message"] for t in skipped)
    assert run.document["verdict"] == "incomplete" and run.document["upstream_mode"] == "live"


def test_forwarded_client_credential_is_reported(tmp_path):
    with reference_gateway("forward-client-token") as gateway:
        run = run_against(gateway, tmp_path, "-m", "forwarding")
    assert run.returncode == 0 and run.requirements_with("failed") == []
    assert any("forwarded the client's own credential" in w for w in run.document["warnings"])
    assert run.document["measurements"]["client credential forwarded to the upstream"].startswith("yes")


def test_deselected_areas_are_reported_as_not_run(tmp_path):
    run = run_suite(tmp_path, "-m", "auth")
    statuses = {r["id"]: r["status"] for r in run.document["requirements"]}
    assert statuses["AUTH-3"] == "passed" and statuses["SSE-1"] == "not_run" and statuses["PATH-1"] == "not_run"
    assert run.document["verdict"] == "incomplete" and run.returncode == 0


def test_fail_on_should_turns_a_should_failure_into_a_failing_exit(tmp_path):
    with reference_gateway("bearer-only") as gateway:
        default = run_against(gateway, tmp_path / "must", "-m", "auth")
        strict = run_against(gateway, tmp_path / "should", "--fail-on", "should", "-m", "auth")
    assert default.returncode == 0 and strict.returncode == 1
    assert default.requirements_with("failed") == strict.requirements_with("failed") == ["AUTH-9"]


def test_auth_auto_reports_the_claude_code_variable_to_set(tmp_path):
    with reference_gateway("x-api-key-only") as gateway:
        run = run_against(gateway, tmp_path, "-m", "auth")
    auth = run.document["gateway"]["auth"]
    assert auth["declared"] == ["x-api-key"] and auth["claude_code_variable"] == "ANTHROPIC_API_KEY"
    assert auth["found_by"] == "probing" and "ANTHROPIC_API_KEY" in run.stdout


def test_declaring_a_header_the_gateway_does_not_read_fails_auth_1(tmp_path):
    with reference_gateway("x-api-key-only") as gateway:
        run = run_against(gateway, tmp_path, "--auth", "bearer", "-m", "auth")
    assert "AUTH-1" in run.requirements_with("failed") and run.returncode == 1


def test_missing_token_variable_is_a_usage_error_that_names_it(tmp_path):
    run = run_suite(tmp_path, "--gateway-url", "http://127.0.0.1:9", "--gateway-token-env", "NO_SUCH_TOKEN_VAR")
    assert run.returncode == 4 and "NO_SUCH_TOKEN_VAR" in run.stderr


def test_accepted_failure_is_reported_with_its_reason_and_does_not_fail_the_run(tmp_path):
    accept_file = tmp_path / "accepted.txt"
    accept_file.write_text("# known since 1.4\nSSE-10=upstream closes early; fix due in 1.6\n")
    with reference_gateway("close-after-message-delta") as gateway:
        failing = run_against(gateway, tmp_path / "plain", "-m", "streaming")
        accepted = run_against(gateway, tmp_path / "accepted", "-m", "streaming", "--accept-file", str(accept_file))
    assert failing.returncode == 1 and failing.requirements_with("failed") == ["SSE-10"]
    assert accepted.returncode == 0 and accepted.requirements_with("accepted") == ["SSE-10"]
    row = next(r for r in accepted.document["requirements"] if r["id"] == "SSE-10")
    assert row["reason"] == "upstream closes early; fix due in 1.6"
    markdown = (tmp_path / "accepted" / "conformance.md").read_text()
    assert "| SSE-10 " in markdown and "accepted: upstream closes early; fix due in 1.6" in markdown
    assert "ACCEPTED SSE-10" in accepted.stdout
    # Never hidden behind the verdict: the headline counts accepted MUST failures.
    assert accepted.document["verdict_headline"] == "INCOMPLETE with 1 accepted MUST failure (SSE-10)"
    assert "Verdict: INCOMPLETE with 1 accepted MUST failure (SSE-10)" in accepted.stdout
    assert "INCOMPLETE with 1 accepted MUST failure (SSE-10)" in markdown
    # diff shows passed -> accepted as a change to review, without calling it a regression.
    diff = subprocess.run([sys.executable, "-m", "conformance.cli", "diff", str(tmp_path / "plain" / "conformance.json"),
                           str(tmp_path / "accepted" / "conformance.json")], capture_output=True, text=True)
    assert diff.returncode == 0 and "SSE-10 [MUST]: failed -> accepted" in diff.stdout


def test_accept_needs_a_known_id_and_a_reason(tmp_path):
    for value in ("SSE-10", "NOPE-1=because"):
        run = run_suite(tmp_path, "--accept", value, *NO_STREAMING)
        assert run.returncode == 4 and "--accept" in run.stderr


def test_diff_lists_status_changes_and_fails_on_regressions(tmp_path, reference_run):
    with reference_gateway("drop-pings") as gateway:
        broken = run_against(gateway, tmp_path, "-m", "streaming")
    assert broken.requirements_with("failed") == ["SSE-4"]
    command = [sys.executable, "-m", "conformance.cli", "diff"]
    regression = subprocess.run([*command, str(reference_run.report_dir / "conformance.json"), str(tmp_path / "conformance.json")],
                                capture_output=True, text=True)
    recovery = subprocess.run([*command, str(tmp_path / "conformance.json"), str(reference_run.report_dir / "conformance.json")],
                              capture_output=True, text=True)
    assert regression.returncode == 1 and "REGRESSION SSE-4 [MUST]: passed -> failed" in regression.stdout
    assert recovery.returncode == 0 and "SSE-4 [MUST]: failed -> passed" in recovery.stdout


def test_diff_shows_a_requirement_newly_accepted_as_a_change_to_review(tmp_path, reference_run):
    with reference_gateway("drop-pings") as gateway:
        run_against(gateway, tmp_path, "-m", "streaming", "--accept", "SSE-4=pings dropped by the load balancer; fix in 2.1")
    diff = subprocess.run([sys.executable, "-m", "conformance.cli", "diff", str(reference_run.report_dir / "conformance.json"),
                           str(tmp_path / "conformance.json")], capture_output=True, text=True)
    assert diff.returncode == 0, diff.stdout
    first_change = diff.stdout.splitlines()[1]
    assert first_change.startswith("NEWLY ACCEPTED FAILURE SSE-4 [MUST]: passed -> accepted")
    assert "pings dropped by the load balancer" in first_change


def test_header_routed_gateway_without_its_headers_is_not_tested_with_a_hint(tmp_path):
    with reference_gateway("route-by-header") as gateway:
        run = run_against(gateway, tmp_path, *NO_STREAMING, "-m", "auth")
    assert run.returncode == 3 and run.document["verdict"] == "not tested", run.stdout[-2000:]
    blocker = next(f for f in run.document["preflight"] if f["blocks"])
    assert "--gateway-header" in blocker["fix"] and "no route for this request" in blocker["message"]


def test_bad_header_options_are_usage_errors_that_keep_the_secret(tmp_path):
    bad_line = run_suite(tmp_path, "--gateway-header", "no colon here", *NO_STREAMING)
    assert bad_line.returncode == 4 and "--gateway-header" in bad_line.stderr
    unset = run_suite(tmp_path, "--gateway-headers-env", "CGC_UNSET_HEADERS", *NO_STREAMING)
    assert unset.returncode == 4 and "CGC_UNSET_HEADERS" in unset.stderr
    secret_line = run_suite(tmp_path, "--gateway-headers-env", "CGC_HEADERS", *NO_STREAMING,
                            env={"CGC_HEADERS": "X-Ok: fine\nbad header line with cgc-secret-value"})
    assert secret_line.returncode == 4 and "cgc-secret-value" not in secret_line.stderr + secret_line.stdout


def test_failed_test_carries_a_curl_command_that_reproduces_it(tmp_path):
    with reference_gateway("query-string-404") as gateway:
        run = run_against(gateway, tmp_path, "-m", "paths")
        failed = next(t for t in run.document["tests"] if t["outcome"] == "failed" and "[messages]" in t["nodeid"])
        command = failed["reproduce"][-1]  # the ?beta=true request; the first is the bare-path comparison
        assert "${GATEWAY_TOKEN}" in command and gateway.token not in command and "?beta=true" in command
        assert "Reproduce with curl" in (tmp_path / "conformance.html").read_text()
        # The gateway is still up: the command alone, with the token in the environment, gets the same 404.
        replay = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30,
                                env={"PATH": os.environ["PATH"], "GATEWAY_TOKEN": gateway.token})
    assert replay.returncode == 0 and replay.stdout.startswith("HTTP/1.1 404"), replay.stdout[:300] + replay.stderr[:300]
    passed = [t for t in run.document["tests"] if t["outcome"] == "passed"]
    assert passed and all(t["reproduce"] == [] for t in passed)


def test_without_the_claude_cli_the_e2e_area_is_skipped_with_the_install_command(tmp_path):
    run = run_suite(tmp_path, "-m", "e2e", "--claude-cli", str(tmp_path / "no-such-claude"))
    assert run.returncode == 0, run.stdout[-2000:]
    e2e = [r for r in run.document["requirements"] if r["area"] == "e2e"]
    assert e2e and all(r["status"] == "skipped" for r in e2e)
    assert all("npm install @anthropic-ai/claude-code@2.1.331" in r["reason"] for r in e2e)
    assert run.document["claude_code_cli"]["status"].startswith("not run") and run.document["verdict"] == "incomplete"
