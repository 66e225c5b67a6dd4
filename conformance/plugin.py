"""pytest glue for claude-gateway-conformance: options, markers, fixtures. The logic lives in
importable modules (config, target, session, report); this file only wires them to pytest."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.catalog import AREAS
from conformance.cmdline import repair_early_setup, value_options
from conformance.client import GatewayClient
from conformance.config import AUTH_MODES, DEFAULT_MODEL, DEFAULT_TIMEOUT_S, DEFAULT_TOKEN_ENV, FAIL_ON, UPSTREAM_MODES, ConfigError, RunConfig, build_config
from conformance.formats import ANTHROPIC, FORMAT_NAMES
from conformance.live import DEFAULT_TOKEN_BUDGET
from conformance.report.staging import ReportDirError, ReportStaging
from conformance.overlap import OVERLAP_MARKER
from conformance.session import EXIT_NOT_TESTED, ConformanceRun, evidence_key
from conformance.target import AuthResolution, Endpoints, Routes, Target
from conformance.evidence import Notes, TestUpstream
from conformance.upstream.streams import message_script

SUITE_DIR = Path(__file__).resolve().parent / "suite"
run_key = pytest.StashKey[ConformanceRun]()
OPTION_GROUP = "claude-gateway-conformance"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(OPTION_GROUP, "Claude Code gateway conformance")
    group.addoption("--gateway-url", dest="cgc_gateway_url", metavar="URL", default=None,
                    help="gateway base URL exactly as set in ANTHROPIC_BASE_URL (no trailing /v1; a path prefix is kept). "
                         "Default: the bundled reference gateway.")
    group.addoption("--gateway-token-env", dest="cgc_token_env", metavar="NAME", default=DEFAULT_TOKEN_ENV,
                    help=f"environment variable holding the gateway credential (default {DEFAULT_TOKEN_ENV}); never pass the token itself")
    group.addoption("--gateway-header", dest="cgc_gateway_header", metavar="'NAME: VALUE'", action="append", default=[],
                    help="a header sent on every request, e.g. a routing or tenant header (repeatable; shown in the report)")
    group.addoption("--gateway-headers-env", dest="cgc_gateway_headers_env", metavar="NAME", default=None,
                    help="environment variable holding newline-separated 'Name: value' headers (the ANTHROPIC_CUSTOM_HEADERS "
                         "format) sent on every request; for secret values: they are redacted like the token")
    group.addoption("--auth", dest="cgc_auth", choices=AUTH_MODES, default="auto",
                    help="how the credential is sent: bearer (ANTHROPIC_AUTH_TOKEN), x-api-key (ANTHROPIC_API_KEY), "
                         "both (apiKeyHelper), or auto: find which header the gateway accepts (default auto)")
    group.addoption("--model", dest="cgc_model", metavar="ID", default=DEFAULT_MODEL,
                    help=f"model name the gateway routes (default {DEFAULT_MODEL})")
    group.addoption("--upstream", dest="cgc_upstream", choices=UPSTREAM_MODES, default="recorder",
                    help="recorder: the gateway routes to the suite's recording upstream (default); live: the gateway uses its "
                         "real provider and tests that script or observe the upstream are skipped")
    group.addoption("--upstream-format", dest="cgc_upstream_format", choices=FORMAT_NAMES, default=ANTHROPIC,
                    help="the wire format the gateway speaks to its upstream: anthropic (a relay, default), or the provider "
                         "format it translates to; the recording upstream then plays that provider (README: translating "
                         "gateways)")
    group.addoption("--upstream-listen", dest="cgc_upstream_listen", metavar="HOST:PORT", default=None,
                    help="where the recording upstream listens (default a free port on 127.0.0.1, printed at start-up)")
    group.addoption("--report-dir", dest="cgc_report_dir", metavar="DIR", default="reports",
                    help="where conformance.html, conformance.json and junit.xml are written (default reports/)")
    group.addoption("--fail-on", dest="cgc_fail_on", choices=FAIL_ON, default="must",
                    help="exit non-zero on MUST failures only (must, default) or on SHOULD failures too (should)")
    group.addoption("--accept", dest="cgc_accept", metavar="ID=REASON", action="append", default=[],
                    help="accept a known failure of requirement ID with a written reason (repeatable); it is reported as "
                         "accepted, never hidden, and does not fail the run")
    group.addoption("--accept-file", dest="cgc_accept_file", metavar="FILE", default=None,
                    help="accepted known failures, one ID=reason per line (# comments allowed)")
    group.addoption("--claude-cli", dest="cgc_claude_cli", metavar="PATH", default=None,
                    help="the Claude Code binary for the end-to-end area (default: claude on PATH, else the project's "
                         "pinned npm install in node_modules/)")
    group.addoption("--serial", dest="cgc_serial", action="store_true", default=False,
                    help="run every test's exchanges one after another, each when its test asks for it (default: the "
                         "exchanges of tests with long deliberate waits start together with the run); same verdicts")
    group.addoption("--live-token-budget", dest="cgc_live_token_budget", metavar="TOKENS", type=int,
                    default=DEFAULT_TOKEN_BUDGET,
                    help="--upstream live: the most tokens the run may have the provider bill (input, cache and output, "
                         "from the answers' usage); a request that could exceed it is not sent and its test not judged "
                         f"(default {DEFAULT_TOKEN_BUDGET})")
    group.addoption("--timeout", dest="cgc_timeout", metavar="SECONDS", type=float, default=DEFAULT_TIMEOUT_S,
                    help=f"bound on each network read; a gateway silent for longer fails the test (default {DEFAULT_TIMEOUT_S:g})")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    # The first moment the suite's options are known: make `--report-dir /abs/dir` mean `--report-dir=/abs/dir`.
    repair_early_setup(early_config, args, value_options(parser, OPTION_GROUP))


# pytest-xdist would split the run over processes, each with its own recording upstream and half the evidence;
# the suite overlaps its long exchanges itself (conformance/overlap.py), so it gains nothing from -n.
XDIST_REFUSED = ("the conformance suite does not run under pytest-xdist (-n/--dist): it starts its long exchanges "
                 "concurrently itself and judges them in one process. Run it without -n (or with -p no:xdist)")


def targets_suite(config: pytest.Config) -> bool:
    """True when this pytest run collects the conformance suite (not, e.g., the self-tests)."""
    if config.getoption("cgc_gateway_url"):
        return True
    for arg in config.args:
        location = arg.split("::")[0]
        if config.getoption("pyargs", False) and location.startswith("conformance.suite"):
            return True
        path = Path(location).resolve()
        if path == SUITE_DIR or SUITE_DIR in path.parents or path in SUITE_DIR.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "req(*ids): protocol-contract requirement IDs this test checks")
    config.addinivalue_line("markers", "live_proof: proves a requirement black-box through the real provider; runs only "
                                       "with --upstream live")
    config.addinivalue_line("markers", "long_silence: over five minutes (SSE-5's 310 s upstream silence); runs only "
                                       "when -m names it, e.g. -m 'long_silence or not long_silence'")
    for area in AREAS:
        config.addinivalue_line("markers", f"{area}: conformance tests of the {area.replace('_', ' ')} area")
    config.addinivalue_line("markers", f"{OVERLAP_MARKER}(*jobs): the @overlapping jobs a test reads (started with the run)")
    config.addinivalue_line("markers", "must: tests of MUST requirements")
    config.addinivalue_line("markers", "should: tests of SHOULD requirements")
    if not targets_suite(config) or hasattr(config, "workerinput"):
        return
    if getattr(config.option, "numprocesses", None) or getattr(config.option, "dist", "no") != "no":
        raise pytest.UsageError(XDIST_REFUSED)
    try:
        run_config = build_config(
            gateway_url=config.getoption("cgc_gateway_url"),
            token_env=config.getoption("cgc_token_env"),
            auth=config.getoption("cgc_auth"),
            model=config.getoption("cgc_model"),
            upstream_mode=config.getoption("cgc_upstream"),
            upstream_listen=config.getoption("cgc_upstream_listen"),
            report_dir=config.getoption("cgc_report_dir"),
            fail_on=config.getoption("cgc_fail_on"),
            timeout_s=config.getoption("cgc_timeout"),
            accept=config.getoption("cgc_accept"),
            accept_file=config.getoption("cgc_accept_file"),
            gateway_header=config.getoption("cgc_gateway_header"),
            gateway_headers_env=config.getoption("cgc_gateway_headers_env"),
            claude_cli=config.getoption("cgc_claude_cli"),
            serial=config.getoption("cgc_serial"),
            live_token_budget=config.getoption("cgc_live_token_budget"),
            upstream_format=config.getoption("cgc_upstream_format"),
        )
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.option.collectonly:
        return  # --collect-only runs nothing and writes no report
    try:
        staging = ReportStaging(run_config.report_dir).prepare()
    except ReportDirError as exc:
        pytest.exit(str(exc), returncode=EXIT_NOT_TESTED)
    if not config.getoption("htmlpath", None):
        config.option.htmlpath = str(staging.path("conformance.html"))
        config.option.self_contained_html = True
    if not config.option.xmlpath:
        config.option.xmlpath = str(staging.path("junit.xml"))
    run = ConformanceRun(run_config, staging)
    config.stash[run_key] = run
    config.pluginmanager.register(run, "claude-gateway-conformance-run")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # trylast, and registered before pytest-html: runs after every report writer, before the terminal summary.
    run = session.config.stash.get(run_key, None)
    if run is not None:
        run.publish_reports(session.config)


def _run(request: pytest.FixtureRequest) -> ConformanceRun:
    run = request.config.stash.get(run_key, None)
    if run is None:
        pytest.skip("the conformance plugin is not active for this run (run the suite in conformance/suite)")
    return run


@pytest.fixture(scope="session")
def run_config(request: pytest.FixtureRequest) -> RunConfig:
    return _run(request).config


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    """The gateway under test and the recording upstream, started once per run."""
    return _run(request).target()


@pytest.fixture(scope="session")
def routes(request: pytest.FixtureRequest, target: Target) -> Routes:
    """The inference paths to use (Claude Code's ?beta=true form unless the gateway refuses it)."""
    return _run(request).routes()


@pytest.fixture(scope="session")
def auth(request: pytest.FixtureRequest, target: Target) -> AuthResolution:
    """Which credential header(s) the gateway reads (--auth, or found by probing)."""
    return _run(request).auth()


@pytest.fixture(scope="session")
def endpoints(request: pytest.FixtureRequest, target: Target) -> Endpoints:
    """Which optional endpoints (count_tokens, /v1/models) the gateway serves."""
    return _run(request).endpoints()


@pytest.fixture
def gateway(request: pytest.FixtureRequest, target: Target, auth: AuthResolution) -> GatewayClient:
    """A client sending the run's credential; its exchanges become the test's evidence."""
    client = _run(request).client()
    request.node.stash.setdefault(evidence_key, []).append(client)
    yield client
    client.close()


@pytest.fixture
def upstream(request: pytest.FixtureRequest, target: Target) -> TestUpstream:
    """The recording upstream, seen through this test's scenarios; tests that need it skip in --upstream live.
    What reached the upstream for the test's scenarios becomes part of its evidence."""
    view = _run(request).upstream_view()
    request.node.stash.setdefault(evidence_key, []).append(view)
    return view


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Notes:
    """Free-form evidence a test adds to its report row (e.g. sent and received values side by side)."""
    notes = Notes()
    request.node.stash.setdefault(evidence_key, []).append(notes)
    return notes


@pytest.fixture(scope="session")
def measurements(request: pytest.FixtureRequest) -> dict:
    """Figures a test measured, shown under "What was tested" in every report."""
    return _run(request).facts.measurements


@pytest.fixture
def overlapped(request: pytest.FixtureRequest):
    """Reads the result of a job declared with @overlapping (conformance.overlap): the exchange of a test with
    long deliberate waits, started with the run. What the job gathered becomes the test's evidence."""
    run = _run(request)
    evidence = request.node.stash.setdefault(evidence_key, [])

    def read(name: str):
        try:
            result = run.overlap.result(name)
        except BaseException as exc:
            evidence.extend(getattr(exc, "cgc_sources", []))
            raise
        evidence.extend(result.sources)
        return result.value

    return read


@pytest.fixture
def after_timed_streams(request: pytest.FixtureRequest) -> None:
    """For a test that sends a heavy request: wait until the timed exchanges started with the run are done
    (conformance.overlap.Overlap.quiet)."""
    _run(request).overlap.quiet()


@pytest.fixture
def model(run_config: RunConfig) -> str:
    return run_config.model


@pytest.fixture
def marker(target: Target) -> str:
    """A scenario marker for a request whose answer the test does not script: the recording upstream
    answers its default for the endpoint; in live mode the marker is plain text."""
    if target.upstream is None:
        return "conformance-scenario live"
    return target.upstream.scenario().marker


@pytest.fixture
def json_marker(target: Target) -> str:
    """Like `marker`, but the recording upstream answers every request with a JSON Message, even one with
    stream: true, for tests that judge the request and not the stream."""
    if target.upstream is None:
        return "conformance-scenario live"
    return target.upstream.scenario(message_script("complete_blocks")).marker
