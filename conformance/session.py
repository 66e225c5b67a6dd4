"""ConformanceRun: the state of one conformance run, registered as a pytest plugin at configure time.

It owns the target (servers started on first use), records each test's outcome against its
requirements, and at the end rolls results up, writes conformance.json, feeds the HTML report and the
terminal summary, and decides the exit status from the verdict and --fail-on.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from conformance import CLAUDE_CODE_FIXTURE_VERSION
from conformance.catalog import catalog, suite_requirement_ids
from conformance.claude_cli import ClaudeCli, ClaudeCode, find_cli
from conformance.evidence import TestUpstream
from conformance.formats import format_of_request
from conformance.formats.applicability import not_applicable
from conformance.overlap import Overlap, job_names
from conformance.client import NOT_SENT, GatewayClient, request_kind
from conformance.requests import MESSAGES_PATH
from conformance.config import RunConfig
from conformance.expect import NOT_APPLICABLE
from conformance.redaction import Redactor
from conformance.repro import MAX_REPRODUCED, curl_command, header_variable
from conformance.report import html
from conformance.report.document import RunFacts, build_document, upstream_format_fact, write_document
from conformance.report.markdown import render_markdown
from conformance.report.rollup import NEEDS_RECORDER, HANGS, SELF_THROTTLE, ACCEPTED, ERROR, FAILED, NOT_APPLICABLE as NA, PASSED, SKIPPED, Rollup, TestResult, roll_up
from conformance.preflight import Preflight, ProbeSetting, diagnose, suite_error
from conformance.report.staging import ReportStaging
from conformance.serving import ServerError
from conformance.upstream.recorder import scenario_nonce
from conformance.target import AuthResolution, Endpoints, Routes, Target, probe_at, probe_endpoints, resolve_auth, resolve_routes, start_target

REQ_MARKER = "req"
# 3: the gateway could not be tested (set-up or environment: the first line says what to fix); 4: usage (pytest's).
EXIT_OK, EXIT_FAILED, EXIT_NOT_TESTED = 0, 1, 3
LIVE_SPENDING, LIVE_TOKENS_BILLED = "live mode: provider spending", "live mode: tokens billed"
# Tests over five minutes long (SSE-5's 310 s silence): run only when the -m expression names them.
LONG_SILENCE_MARKER = "long_silence"
NOTHING_SELECTED = ("no conformance test was selected (-m/-k left none; the areas are the markers `pytest --markers` "
                    "lists); nothing was judged and no report was written")
LIVE_PROOF_MARKER = "live_proof"  # tests that prove a requirement black-box through the real provider (--upstream live only)
evidence_key = pytest.StashKey[list]()


def requirement_ids(item: pytest.Item) -> tuple[str, ...]:
    return tuple(i for mark in item.iter_markers(REQ_MARKER) for i in mark.args)


class ConformanceRun:
    def __init__(self, config: RunConfig, staging: ReportStaging | None = None) -> None:
        self.config = config
        self.staging = staging
        self.preflight: Preflight | None = None
        self.redactor = Redactor()
        self.redactor.add(config.token, config.token_env)
        for name, value in config.secret_headers:
            self.redactor.add(value, config.header_placeholder(name))
        self.results: dict[str, TestResult] = {}
        self.tested_ids: set[str] = set(suite_requirement_ids())
        self.clients: list[GatewayClient] = []
        self._target: Target | None = None
        self._auth: AuthResolution | None = None
        self._endpoints: Endpoints | None = None
        self._routes: Routes | None = None
        self._claude_cli: tuple[ClaudeCli | None, str] | None = None
        self._started = time.monotonic()
        self.facts = RunFacts(
            gateway_url=config.gateway_url or "(bundled reference gateway)",
            reference_gateway=config.uses_reference_gateway,
            model=config.model,
            upstream_mode=config.upstream_mode,
            upstream_url=None,
            fail_on=config.fail_on,
            started_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            extra_headers=[f"{name}: {value}" for name, value in config.gateway_headers],
            upstream_format={"name": config.upstream_format, "family": config.upstream_family,
                             "title": config.provider.title if config.provider else "Anthropic Messages"},
        )
        self.document: dict | None = None
        self.rollup: Rollup | None = None
        self.nothing_selected = False  # -m/-k left no test to run
        self.overlap = Overlap(self, config.model, serial=config.serial)
        # Requirements that do not apply to a gateway with the declared upstream format (spec L2's table).
        self.inapplicable = not_applicable(config.upstream_format)
        self._drivers: list[ClaudeCode] = []

    # ---- what fixtures hand to tests
    def target(self) -> Target:
        if self._target is None:
            self._target = start_target(self.config, self.redactor)
            self.facts.gateway_url = self._target.gateway_url
            self.facts.upstream_url = self._target.upstream_url
        return self._target

    def client(self, credential_mode: str | None = None) -> GatewayClient:
        """A client with the run's credential mode and routes (probes pass their own mode)."""
        if credential_mode is None:
            client = self.target().client(self.auth().mode, self.routes())
        else:
            client = self.target().client(credential_mode, self._routes or Routes())
        self.clients.append(client)
        return client

    def routes(self) -> Routes:
        if self._routes is None:
            self._routes = resolve_routes(self.target(), self.client("bearer"))
            self.facts.endpoints["messages"] = self._routes.messages + (
                " (?beta=true refused: the other tests use the bare path)" if self._routes.query_refused else "")
        return self._routes

    def auth(self) -> AuthResolution:
        if self._auth is None:
            routes = self.routes()
            self._auth = resolve_auth(self.target(), self.client("bearer"), routes)
            self.facts.auth = {
                "mode": self._auth.mode,
                "declared": list(self._auth.declared),
                "found_by": self._auth.found_by,
                "claude_code_variable": self._auth.claude_code_variable,
                "anthropic_base_url": self.target().gateway_url,
                "probe_statuses": self._auth.probe_statuses,
            }
        return self._auth

    def claude_cli(self) -> tuple[ClaudeCli | None, str]:
        """The Claude Code CLI for the end-to-end area, looked up once; (None, why) when there is none."""
        if self._claude_cli is None:
            self._claude_cli = find_cli(self.config.claude_cli)
            cli, how = self._claude_cli
            if cli is None:
                status = f"not run: {how}"
            elif cli.is_pinned_version:
                status = how
            else:
                status = f"{how}; not the pinned {CLAUDE_CODE_FIXTURE_VERSION}, results may differ"
            self.facts.e2e = {"path": cli.path if cli else None, "version": cli.version if cli else None,
                              "pinned_version": CLAUDE_CODE_FIXTURE_VERSION, "status": status}
        return self._claude_cli

    # ---- what jobs of overlapping tests get (conformance.overlap.JobProvider), and fixtures too
    def upstream_view(self) -> TestUpstream:
        target = self.target()
        if target.upstream is None:
            pytest.skip(NEEDS_RECORDER)
        return TestUpstream(target.upstream, target.redactor)

    def claude_code_driver(self) -> ClaudeCode:
        """The real Claude Code CLI pointed at the gateway with the run's credential and headers; skips, with the
        install command as the reason, when no CLI is found."""
        target = self.target()
        if target.upstream is None:
            pytest.skip(NEEDS_RECORDER)
        cli, why = self.claude_cli()
        if cli is None:
            pytest.skip(why)
        messages = request_kind("POST", MESSAGES_PATH)
        if target.stall_guard.gave_up(messages):  # the CLI's requests would only hang the same way
            pytest.fail(f"Claude Code not started: {target.stall_guard.refusal(messages)}", pytrace=False)
        auth = self.auth()
        driver = ClaudeCode(cli, gateway_url=target.gateway_url, upstream_url=target.upstream_url,
                            credential_header=auth.declared[0] if auth.declared else "bearer", token=self.config.token,
                            headers=self.config.gateway_headers, model=self.config.model, timeout_s=self.config.timeout_s,
                            redactor=target.redactor, upstream_activity=target.upstream.activity_for)
        self._drivers.append(driver)
        return driver

    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            self._endpoints = probe_endpoints(self.target(), self.client())
            self.facts.endpoints |= {
                "count_tokens": "served" if self._endpoints.count_tokens_served else f"not served ({self._endpoints.count_tokens_status})",
                "models": ("not served" if not self._endpoints.models_served
                           else "served, " + ("authenticated" if self._endpoints.models_authenticated else "open without a credential")),
            }
            self.facts.measurements["HEAD /api/hello start-up probe (PATH-6, informative)"] = self._endpoints.startup_probe
        return self._endpoints

    def run_preflight(self) -> Preflight:
        """Start the servers and read the route and credential probes before any test (conformance.preflight)."""
        try:
            target = self.target()
        except ServerError as exc:
            return suite_error(str(exc), "free that port, or choose another with --upstream-listen HOST:PORT")
        routes, auth = self.routes(), self.auth()
        setting = ProbeSetting(
            gateway_url=target.gateway_url, token_env=self.config.token_env, model=self.config.model, live=self.config.live,
            auth_declared_by_option=auth.found_by == "--auth",
            extra_header_names=tuple(name for name, _ in self.config.gateway_headers))
        probes = [e for c in self.clients for e in c.exchanges]
        upstream_reached = bool(target.upstream and target.upstream.all_requests)
        return diagnose(setting, probes, auth.declared if auth.found_by == "probing" else (), target.upstream_url,
                        upstream_reached, lambda base_url: probe_at(target, self.client("both"), base_url, routes),
                        self.other_upstream_format(target))

    def inapplicable_test(self, item: pytest.Item) -> bool:
        """Every requirement the test checks is not applicable to the declared upstream format (spec L2)."""
        ids = requirement_ids(item)
        return bool(ids) and all(i in self.inapplicable for i in ids)

    def other_upstream_format(self, target) -> tuple[str, str, str] | None:
        """A request the recording upstream got in another format than the declared one (a set-up mistake)."""
        for received in target.upstream.all_requests if target.upstream else ():
            found = format_of_request(received.method, received.raw_path, received.data)
            if found is not None and found != self.config.upstream_format:
                return self.config.upstream_format, found, f"{received.method} {received.path}"
        return None

    # ---- pytest hooks
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        if session.config.option.collectonly:
            return None
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if session.testsfailed or not session.items:  # collection errors, or -m/-k left no test: no report
            if self.staging is not None:
                _stop_report_writers(session.config, self.staging.dir)
            if session.testsfailed:
                return None  # pytest reports the collection errors and stops
            self.nothing_selected = True
            if reporter is not None:
                reporter.write_line(f"NOT TESTED: {NOTHING_SELECTED}", red=True, bold=True)
            return True
        self.preflight = self.run_preflight()
        if reporter is not None:
            if self._target is not None and self._target.upstream_url:
                reporter.write_line(f"recording upstream listening on {self._target.upstream_url}; "
                                    f"gateway under test: {self._target.gateway_url}")
            for finding in self.preflight.findings:
                if not finding.blocks:
                    reporter.write_line(f"preflight {'ok' if finding.ok else 'PROBLEM'}: {finding.line()}")
        if self.preflight.blocker is not None:
            if reporter is not None:
                reporter.write_line(f"NOT TESTED: {self.preflight.blocker.line()}", red=True, bold=True)
            return True  # no test runs: the set-up, not the gateway, is what the user must fix
        self.overlap.start(job_names(i for i in session.items if not self.inapplicable_test(i)))
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items) -> None:
        if not self.config.live:  # the recording upstream proves these requirements directly
            live_proofs = [item for item in items if item.get_closest_marker(LIVE_PROOF_MARKER)]
            if live_proofs:
                config.hook.pytest_deselected(items=live_proofs)
                items[:] = [item for item in items if item not in live_proofs]
        if LONG_SILENCE_MARKER not in (config.option.markexpr or ""):  # opt-in: -m long_silence
            long_tests = [item for item in items if item.get_closest_marker(LONG_SILENCE_MARKER)]
            if long_tests:
                config.hook.pytest_deselected(items=long_tests)
                items[:] = [item for item in items if item not in long_tests]
        cat = catalog()
        for item in items:
            ids = requirement_ids(item)
            if self.inapplicable_test(item):
                item.add_marker(pytest.mark.skip(reason=NOT_APPLICABLE + self.inapplicable[ids[0]]))
            if not ids:
                raise pytest.UsageError(f"{item.nodeid}: conformance tests must declare @pytest.mark.req('ID', ...)")
            for requirement_id in ids:
                if requirement_id not in cat:
                    raise pytest.UsageError(f"{item.nodeid}: unknown requirement ID {requirement_id!r} (not in requirements.toml)")
                requirement = cat[requirement_id]
                item.add_marker(requirement.area)
                item.add_marker(requirement.level.lower())
                item.user_properties += [("requirement", requirement_id), ("level", requirement.level)]
            self.tested_ids.update(ids)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        ids = requirement_ids(item)
        if not ids or (report.when == "teardown" and not report.failed) or (report.when == "setup" and report.passed):
            return
        if item.nodeid in self.results and report.when == "teardown":
            return  # the test's own verdict stands; teardown trouble is the suite's
        sources = item.stash.get(evidence_key, [])
        transcript = self.redactor.redact("\n\n".join(source.transcript() for source in sources))
        outcome, message = _outcome(report, call), _message(report)
        reproduce = self._reproduce(sources) if outcome == FAILED else []
        self.results[item.nodeid] = TestResult(item.nodeid, ids, outcome, message, report.duration, transcript, reproduce,
                                               self._run_causes(sources, message) if outcome == FAILED else ())
        if (transcript or reproduce) and report.when in ("call", "setup"):
            from pytest_html import extras

            report.extras = getattr(report, "extras", []) + [extras.html(html.transcript_html(transcript, reproduce))]

    def _run_causes(self, sources, message: str) -> tuple[str, ...]:
        """Run-level causes a failed test's requests show (rollup.RUN_CAUSES): the gateway refused them with its own
        429 while the upstream received nothing for them (a cooldown), or the suite did not send them because the
        gateway's answers already hung."""
        exchanges = [e for source in sources if isinstance(source, GatewayClient) for e in source.exchanges]
        causes = []
        if NOT_SENT in message:  # the failure is a request the suite did not send: nothing of the test was judged
            causes.append(HANGS.id)
        upstream = self._target.upstream if self._target is not None else None
        if upstream is not None and any(e.status == 429 and (nonce := scenario_nonce(e.request_body)) and not upstream.received_for(nonce)
                                        for e in exchanges):
            causes.append(SELF_THROTTLE.id)
        return tuple(causes)

    def _reproduce(self, sources) -> list[str]:
        """curl commands that re-send a failed test's requests to the gateway, secrets left as variables."""
        variables = {self.config.token: self.config.token_env}
        variables |= {value: header_variable(name) for name, value in self.config.secret_headers}
        exchanges = [e for source in sources if isinstance(source, GatewayClient) for e in source.exchanges]
        commands = [curl_command(e, variables, self.config.timeout_s) for e in exchanges[:MAX_REPRODUCED]]
        if len(exchanges) > MAX_REPRODUCED:
            commands.append(f"# ... and {len(exchanges) - MAX_REPRODUCED} more request(s): see the evidence")
        return [self.redactor.redact(command) for command in commands]

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session, exitstatus):
        # Before the other plugins: the document must exist when pytest-html asks for its summary.
        self.overlap.close()
        for driver in self._drivers:
            driver.close()
        if self._target is not None:
            self._target.close()
        blocker = self.preflight.blocker if self.preflight is not None else None
        try:
            self._write_document(blocker)
        except BaseException:
            self.document = None  # nothing is published; the staging folder goes at unconfigure
            raise
        result = yield
        if self.nothing_selected:  # pytest's own status for it, which no CI reads as a pass
            session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
        # Others (syrupy) fold pytest's own status back in; the verdict policy has the last word.
        if self.rollup is not None and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = self.exit_status()
        return result

    def _write_document(self, blocker) -> None:
        if self.results or blocker is not None:
            self.facts.duration_s = time.monotonic() - self._started
            self.facts.requests_sent = sum(len(c.exchanges) for c in self.clients)
            self.facts.warnings = [] if blocker is not None else self._warnings()
            self.facts.preflight = self.preflight.as_json() if self.preflight is not None else []
            if self._target is not None and self._target.token_meter is not None:
                meter = self._target.token_meter
                self.facts.measurements[LIVE_SPENDING] = meter.summary()
                self.facts.measurements[LIVE_TOKENS_BILLED] = meter.spent.total
            self.rollup = roll_up(catalog(), list(self.results.values()), self.tested_ids, self.config.accepted, inapplicable=self.inapplicable,
                                  not_tested=(blocker.verdict, blocker.line()) if blocker is not None else None)
            self.document = build_document(self.facts, self.rollup, self.redactor)
            out = self.staging.dir if self.staging is not None else Path(self.config.report_dir)
            write_document(self.document, out / "conformance.json")
            (out / "conformance.md").write_text(render_markdown(self.document), encoding="utf-8")

    def publish_reports(self, config: pytest.Config) -> None:
        """Called after pytest-html and the JUnit writer wrote into the staging folder: publish all or nothing."""
        if self.staging is None:
            return
        if self.document is None:
            return  # discarded at unconfigure, once every writer is done (pytest-html writes after this hook)
        self.staging.publish()
        _point_report_plugins_at(config, self.staging.dir, Path(self.config.report_dir))

    def pytest_unconfigure(self, config) -> None:
        if self.staging is not None and self.document is None:
            self.staging.discard()

    def exit_status(self) -> int:
        assert self.rollup is not None
        if self.rollup.not_tested or any(t.outcome == ERROR for t in self.results.values()):
            return EXIT_NOT_TESTED
        return EXIT_FAILED if self.rollup.exit_failures(self.config.fail_on) else EXIT_OK

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.rollup is None:
            return
        tr = terminalreporter
        tr.section("Claude Code gateway conformance")
        tr.write_line(f"Verdict: {self.rollup.headline} ({self.rollup.verdict_reason})")
        if not self.rollup.not_tested:
            self._summarise_results(tr)
        tr.write_line(f"Reports: {Path(self.config.report_dir).resolve()} (conformance.html, .json, .md, junit.xml)")

    def _summarise_results(self, tr) -> None:
        covered, total = self.rollup.coverage
        for warning in self.facts.warnings:
            tr.write_line(f"WARNING: {warning}")
        tr.write_line(f"Upstream format: {upstream_format_fact(self.facts.__dict__)}")
        if self._auth is not None:
            tr.write_line(f"Credential: {', '.join(self._auth.declared) or 'no header accepted'} "
                          f"-> Claude Code variable {self._auth.claude_code_variable}")
        for cause in self.rollup.causes:
            r = cause.requirement
            tr.write_line(f"FAILED {r.id} [{r.level}] {r.title} -- first fix: {r.first_fix}")
            for consequence in cause.consequences:
                tr.write_line(f"    consequence: {consequence.requirement.id} [{consequence.requirement.level}] "
                              f"{consequence.requirement.title}")
        counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(self.rollup.counts.items()))
        tr.write_line(f"Requirements: {counts}; coverage {covered} of {total}")
        for r in self.rollup.with_status(ACCEPTED):
            tr.write_line(f"ACCEPTED {r.requirement.id} [{r.requirement.level}] failed, accepted: {r.reason}")
        if self.config.live:
            proven = [r.requirement.id for r in self.rollup.proven_live]
            tr.write_line(f"Proven black-box in live mode: {', '.join(proven) or 'none'}")
            unproven = [r.requirement.id for r in self.rollup.requirements if r.requirement.level == "MUST" and r.status == SKIPPED]
            if unproven:
                tr.write_line(f"Not provable black-box in live mode (MUST): {', '.join(unproven)} "
                              "(they need the recording upstream: --upstream recorder)")
            if LIVE_SPENDING in self.facts.measurements:
                tr.write_line(f"Live mode spent: {self.facts.measurements[LIVE_SPENDING]}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix, summary, postfix, session) -> None:
        if self.document is not None:
            prefix.extend(html.summary_sections(self.document))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report) -> None:
        report.title = "Claude Code gateway conformance"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells) -> None:
        cells.insert(1, "<th>Requirements</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report, cells) -> None:
        ids = [value for name, value in getattr(report, "user_properties", []) if name == "requirement"]
        cells.insert(1, f"<td>{', '.join(ids)}</td>")

    def _warnings(self) -> list[str]:
        warnings = []
        exchanges = [e for c in self.clients for e in c.exchanges]
        if exchanges and all(e.status is None for e in exchanges):
            warnings.append("The gateway never gave an HTTP response: every result below reflects an unreachable or stalled gateway.")
        elif self._auth is not None and not self._auth.working:
            warnings.append(
                f"No credential header was accepted (probe statuses {self._auth.probe_statuses}): most requests were "
                f"rejected, so passing results prove little. Check {self.config.token_env} and --auth."
                + self._routing_hint(exchanges)
            )
        target = self._target
        if target is not None and target.upstream is not None:
            warnings += self._credential_isolation(target, exchanges)
        return warnings


    def _routing_hint(self, exchanges) -> str:
        """When the auth probes were refused with something other than 401/403, the gateway may route by header."""
        probes = [e for e in exchanges if e.label.startswith("auth probe") and e.status is not None]
        if not probes or any(e.status in (401, 403) for e in probes):
            return ""
        sent = ", ".join(name for name, _ in self.config.gateway_headers) or "none"
        return (f" The probes were answered {probes[0].summary(200)}, not 401: if the gateway routes by a header "
                f"(route, tenant, project), send it with --gateway-header 'Name: value' or --gateway-headers-env NAME "
                f"(extra headers sent in this run: {sent}).")

    def _credential_isolation(self, target: Target, exchanges) -> list[str]:
        """The client's key must not travel upstream, nor the gateway's upstream key back to clients (reported, not judged)."""
        received = target.upstream.all_requests
        if not received:
            return []
        carried = sorted({name for r in received for name, value in r.headers if self.config.token in value})
        upstream_keys = {value.removeprefix("Bearer ").strip() for r in received for name, value in r.headers
                         if name in ("authorization", "x-api-key") and self.config.token not in value and len(value) >= 8}
        returned = sorted(key for key in upstream_keys if any(
            key.encode() in e.body or any(key in v for _, v in e.response_headers) for e in exchanges))
        self.facts.measurements["client credential forwarded to the upstream"] = f"yes, in {', '.join(carried)}" if carried else "no"
        warnings = []
        if carried:
            warnings.append(f"The gateway forwarded the client's own credential to the upstream in {', '.join(carried)}: "
                            "a gateway should replace it with its own upstream key.")
        if returned:
            warnings.append("A credential the gateway sent upstream appeared in a response to the client.")
        return warnings


def _outcome(report: pytest.TestReport, call: pytest.CallInfo) -> str:
    # A verdict on the gateway is always pytest.fail (conformance.expect), also from a fixture;
    # any other exception outside the test body is the suite's or its environment's problem.
    if report.when != "call" and report.failed and not (call.excinfo and call.excinfo.errisinstance(pytest.fail.Exception)):
        return ERROR
    if report.skipped:
        return NA if _message(report).startswith(NOT_APPLICABLE) else SKIPPED
    return PASSED if report.passed else FAILED


def _message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return report.longrepr[2].removeprefix("Skipped: ")
    return report.longreprtext if report.failed else ""


def _staged_report_writers(config: pytest.Config, staged: Path) -> list[tuple[object, str]]:
    """pytest-html's report plugin and pytest's JUnit writer, when they write into the staging folder, with the
    attribute that holds their file's path."""
    from _pytest.junitxml import xml_key

    writers = [(plugin, "_report_path") for plugin in config.pluginmanager.get_plugins()
               if isinstance(getattr(plugin, "_report_path", None), Path)]
    if (junit := config.stash.get(xml_key, None)) is not None:
        writers.append((junit, "logfile"))
    return [(writer, attribute) for writer, attribute in writers
            if Path(getattr(writer, attribute)).parent.resolve() == staged.resolve()]


def _point_report_plugins_at(config: pytest.Config, staged: Path, published: Path) -> None:
    """pytest-html and the JUnit writer print where they wrote; after publishing, that is the report dir."""
    for writer, attribute in _staged_report_writers(config, staged):
        path = published.resolve() / Path(getattr(writer, attribute)).name
        setattr(writer, attribute, path if attribute == "_report_path" else str(path))


def _stop_report_writers(config: pytest.Config, staged: Path) -> None:
    """A run that selected no test writes no report: the writers are unregistered before the session's end, when
    they would write into the staging folder the run discards."""
    from _pytest.junitxml import xml_key

    for writer, attribute in _staged_report_writers(config, staged):
        config.pluginmanager.unregister(writer)
        if attribute == "logfile":
            del config.stash[xml_key]  # else pytest's unconfigure unregisters it a second time
