"""A new user's first runs: each set-up mistake ends "not tested" with one line saying what to fix and exit 3,
never NOT CONFORMANT, a traceback or a stale report; environment errors are one line with their exit code."""

from __future__ import annotations

import json
import subprocess
import sys

import certifi

from conformance.serving import BackgroundServer
from conformance.upstream import RecordingUpstream
from tests.conftest import REPO, free_port, reference_gateway, run_against, run_suite
from tests.tls_front import tls_front

EXIT_NOT_TESTED, EXIT_USAGE = 3, 4
REPORTS = {"conformance.html", "conformance.json", "conformance.md", "junit.xml"}
FAST = ("-m", "not streaming and not e2e")


def assert_not_tested(run, *phrases: str) -> dict:
    """The run stopped before any test, said why once, and published a complete, consistent report set."""
    output = run.stdout + run.stderr
    assert run.returncode == EXIT_NOT_TESTED, output[-3000:]
    assert "Traceback" not in output and "INTERNALERROR" not in output, output[-3000:]
    assert "NOT CONFORMANT" not in output
    document = run.document
    assert document["verdict"] == "not tested" and document["tests"] == []
    assert {p.name for p in run.report_dir.iterdir()} == REPORTS
    blocker = next(f for f in document["preflight"] if f["blocks"])
    for phrase in phrases:
        assert phrase in output and phrase in blocker["message"] + blocker["fix"], (phrase, output[-2000:])
    assert "NOT TESTED" in (run.report_dir / "conformance.md").read_text()
    return blocker


def test_nothing_listening_at_the_url(tmp_path):
    port = free_port()
    run = run_suite(tmp_path, "--gateway-url", f"http://127.0.0.1:{port}", token="cgc-first-run-token")
    assert_not_tested(run, f"nothing is listening at 127.0.0.1:{port}", "start the gateway")


def test_base_url_ending_in_v1_says_what_to_set_instead(tmp_path):
    with reference_gateway() as gateway:
        run = run_suite(tmp_path, "--gateway-url", gateway.url + "/v1", "--upstream-listen", f"127.0.0.1:{gateway.upstream_port}",
                        token=gateway.token)
    blocker = assert_not_tested(run, "ends in /v1", f"set ANTHROPIC_BASE_URL (and --gateway-url) to {gateway.url}")
    assert f"{gateway.url}/v1/v1/messages" in blocker["message"] and "answers HTTP 200" in blocker["message"]


def test_gateway_routed_to_another_upstream(tmp_path):
    # The gateway answers 200 from an upstream that is not the suite's (no --upstream-listen given).
    with reference_gateway() as gateway, BackgroundServer(RecordingUpstream(), port=gateway.upstream_port):
        run = run_suite(tmp_path, "--gateway-url", gateway.url, token=gateway.token)
    blocker = assert_not_tested(run, "received no request")
    recorder = run.document["upstream_url"]
    assert f"recording upstream listening on {recorder}" in run.stdout and recorder in blocker["fix"]


def test_gateway_that_cannot_reach_the_recording_upstream(tmp_path):
    with reference_gateway() as gateway:  # its upstream port has nothing listening: it answers 502
        run = run_suite(tmp_path, "--gateway-url", gateway.url, token=gateway.token)
    assert_not_tested(run, "cannot reach it", "--upstream-listen")


def test_live_mode_with_the_provider_down(tmp_path):
    with reference_gateway() as gateway:
        run = run_suite(tmp_path, "--gateway-url", gateway.url, "--upstream", "live", token=gateway.token)
    assert_not_tested(run, "could not reach its provider", "HTTP 502")


def test_credential_the_gateway_refuses(tmp_path):
    with reference_gateway() as gateway:
        run = run_suite(tmp_path, "--gateway-url", gateway.url, "--upstream-listen", f"127.0.0.1:{gateway.upstream_port}",
                        token="cgc-not-the-gateway-key")
    blocker = assert_not_tested(run, "refused the key from $GATEWAY_TOKEN", "--gateway-token-env")
    assert "cgc-not-the-gateway-key" not in run.stdout + json.dumps(run.document)
    assert blocker["check"] == "credential"


def test_model_the_router_does_not_route(tmp_path):
    with reference_gateway("listed-models-only") as gateway:
        run = run_against(gateway, tmp_path, "--model", "claude-unrouted-9")
    assert_not_tested(run, "does not route the model claude-unrouted-9", "--model")


def test_model_option_reaches_every_replayed_request(tmp_path):
    with reference_gateway("listed-models-only") as gateway:
        run = run_against(gateway, tmp_path, "-m", "forwarding", "--model", "claude-haiku-4-5")
    assert run.returncode == 0 and run.requirements_with("failed") == [], run.stdout[-3000:]
    sent = [line for t in run.document["tests"] for line in t["transcript"].splitlines() if line.startswith("> (")]
    assert sent and not [line for line in sent if '"model":"claude-sonnet-4-6"' in line]
    assert any('"model":"claude-haiku-4-5"' in line for line in sent)


def pytest_in_checkout(*args: str, token: str = "cgc-first-run-token", env: dict[str, str] | None = None
                       ) -> subprocess.CompletedProcess:
    """`pytest ARGS` from the checkout root, no test path given: what a user types."""
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "GATEWAY_TOKEN": token, "HOME": str(REPO), **(env or {})})


def test_options_written_with_a_space_work_like_with_equals(tmp_path):
    report_dir = tmp_path / "existing"
    report_dir.mkdir()
    run = pytest_in_checkout("--report-dir", str(report_dir), "--claude-cli", str(tmp_path / "no-such-claude"), "-m", "paths or e2e")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "tests/" not in run.stdout and {p.name for p in report_dir.iterdir()} == REPORTS
    document = json.loads((report_dir / "conformance.json").read_text())
    assert {t["nodeid"].split("::")[0].split("/")[0] for t in document["tests"]} == {"conformance"}
    assert document["claude_code_cli"]["status"].startswith("not run") and str(tmp_path / "no-such-claude") in run.stdout + json.dumps(document)


def test_collect_only_writes_no_report(tmp_path):
    (tmp_path / "conformance.json").write_text('{"stale": true}')
    run = pytest_in_checkout("--co", "-q", "--report-dir", str(tmp_path))
    assert run.returncode == 0 and "collected" in run.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["conformance.json"] and "stale" in (tmp_path / "conformance.json").read_text()


def test_selection_that_leaves_no_test_says_so_fails_and_keeps_the_last_report(tmp_path):
    (tmp_path / "conformance.json").write_text('{"stale": true}')
    for selection in (("-m", "no_such_area"), ("-k", "no_such_test")):
        run = run_suite(tmp_path, *selection)
        output = run.stdout + run.stderr
        assert run.returncode == 5, output[-2000:]  # pytest's "no tests ran": never read as a pass
        assert "NOT TESTED: no conformance test was selected" in output and "Traceback" not in output, output[-2000:]
        assert [p.name for p in tmp_path.iterdir()] == ["conformance.json"] and "stale" in (tmp_path / "conformance.json").read_text()


def test_a_suite_module_that_cannot_be_imported_is_pytests_collection_error_and_writes_no_report(tmp_path):
    # A broken install, simulated: a plugin makes one suite module's import fail.
    (tmp_path / "break_one_module.py").write_text('import sys\nsys.modules["conformance.suite.test_paths"] = None\n')
    report_dir = tmp_path / "report"
    run = pytest_in_checkout("-p", "break_one_module", "--report-dir", str(report_dir), env={"PYTHONPATH": str(tmp_path)})
    output = run.stdout + run.stderr
    assert run.returncode == 2 and "error during collection" in output, output[-3000:]
    assert "Traceback (most recent call last)" not in output, output[-3000:]  # pytest's own report of the error only
    assert not report_dir.exists() or list(report_dir.iterdir()) == []


def test_pytest_xdist_is_a_usage_error_in_one_line(tmp_path):
    # pytest-xdist is installed with the self-tests, as it may be on a user's CI image.
    run = pytest_in_checkout("-n", "2", "-m", "paths", "--report-dir", str(tmp_path))
    output = run.stdout + run.stderr
    assert run.returncode == EXIT_USAGE and "does not run under pytest-xdist" in output and "Traceback" not in output, output[-2000:]
    assert list(tmp_path.iterdir()) == []


def test_gateway_behind_a_private_ca_passes_end_to_end_when_ssl_cert_file_trusts_it(tmp_path):
    # README "First run": for a private CA, point SSL_CERT_FILE at its bundle. Claude Code must trust it too, even
    # when NODE_EXTRA_CA_CERTS names another bundle (CI images often set it to the system one).
    bundle = tmp_path / "private-ca.pem"
    with reference_gateway() as gateway, tls_front(gateway.url, bundle) as url:
        run = run_suite(tmp_path / "report", "--gateway-url", url, "--upstream-listen", f"127.0.0.1:{gateway.upstream_port}",
                        "-m", "e2e or paths", token=gateway.token,
                        env={"SSL_CERT_FILE": str(bundle), "NODE_EXTRA_CA_CERTS": certifi.where()})
    assert run.returncode == 0 and run.requirements_with("failed") == [], run.stdout[-3000:]
    assert {"E2E-1", "E2E-2", "PATH-2"} <= set(run.requirements_with("passed")), run.stdout[-3000:]


def test_proxy_variables_for_the_outside_world_never_catch_loopback_traffic(tmp_path):
    # CI runners behind a corporate proxy set these for every process; nothing listens at the proxy address here.
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    proxies = {name: dead_proxy for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")}
    run = run_suite(tmp_path, "-m", "paths or e2e", env=proxies)  # the bundled reference: suite, gateway, CLI on loopback
    assert run.returncode == 0 and run.requirements_with("failed") == [], run.stdout[-3000:]
    assert {"PATH-2", "E2E-1"} <= set(run.requirements_with("passed")), run.stdout[-3000:]


def test_report_dir_that_cannot_be_written_is_one_line(tmp_path):
    a_file = tmp_path / "plain-file"
    a_file.write_text("")
    for report_dir in ("/proc/cgc-reports", str(a_file / "reports")):
        run = run_suite(tmp_path / "unused", "--report-dir", report_dir, *FAST)
        output = run.stdout + run.stderr
        assert run.returncode == EXIT_NOT_TESTED, output[-2000:]
        assert f"--report-dir {report_dir}: cannot write there" in output
        assert "Traceback" not in output and "INTERNALERROR" not in output and len(output.strip().splitlines()) <= 3


def test_busy_upstream_port_is_one_line_and_blames_no_requirement(tmp_path):
    with BackgroundServer(RecordingUpstream()) as taken:
        run = run_suite(tmp_path, "--upstream-listen", f"127.0.0.1:{taken.port}", *FAST)
    output = run.stdout + run.stderr
    assert run.returncode == EXIT_NOT_TESTED and "Traceback" not in output and len(output.splitlines()) < 20, output[-3000:]
    assert run.document["verdict"] == "error" and run.requirements_with("failed") == []
    assert output.count(f"cannot listen on 127.0.0.1:{taken.port}") == 2  # the NOT TESTED line and the verdict line


def test_accept_file_that_cannot_be_read_is_a_usage_error(tmp_path):
    run = run_suite(tmp_path, "--accept-file", str(tmp_path / "missing.txt"), *FAST)
    assert run.returncode == EXIT_USAGE and "--accept-file" in run.stderr and "Traceback" not in run.stderr


def test_diff_with_a_bad_input_is_not_a_regression(tmp_path, reference_run):
    good = str(reference_run.report_dir / "conformance.json")
    not_json, not_ours = tmp_path / "notes.json", tmp_path / "other.json"
    not_json.write_text("not json at all")
    not_ours.write_text('{"hello": "world"}')
    for old in (str(tmp_path / "missing.json"), str(not_json), str(not_ours)):
        result = subprocess.run([sys.executable, "-m", "conformance.cli", "diff", old, good], capture_output=True, text=True)
        assert result.returncode == EXIT_USAGE and old in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_gateway_that_throttles_itself_is_named_once_as_the_cause(tmp_path):
    with reference_gateway("cooldown-after-429") as gateway:
        run = run_against(gateway, tmp_path, "-m", "not e2e and not discovery")
    assert run.returncode == 1, run.stdout[-3000:]
    causes = run.document["root_causes"]
    assert causes[0]["id"] == "GATEWAY-THROTTLE" and len(causes[0]["consequences"]) >= 10
    # Every failed requirement is a consequence of the cooldown: none is reported as a cause of its own.
    assert sorted(causes[0]["consequences"]) == run.requirements_with("failed") and len(causes) == 1
    assert run.stdout.count("FAILED GATEWAY-THROTTLE") == 1 and "disable_cooldowns" in run.stdout
    assert run.document["verdict_reason"].startswith("MUST requirements failed: GATEWAY-THROTTLE")


def test_undeclared_translation_names_the_format_the_gateway_speaks(tmp_path):
    # The gateway translates to Gemini; the run declares OpenAI: the suite names the format it saw, not a model problem.
    with reference_gateway(upstream_format="gemini") as gateway:
        run = run_against(gateway, tmp_path, "--upstream-format", "openai")
    blocker = assert_not_tested(run, "--upstream-format openai", "a gemini request", "run with --upstream-format gemini")
    assert blocker["check"] == "upstream format" and ":streamGenerateContent" not in blocker["fix"]
