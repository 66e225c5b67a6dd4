"""The preflight: before any test, tell a set-up the user must fix from a gateway that breaks the contract.

A new user's first runs are mostly set-up mistakes (a base URL ending in /v1, the credential in a header
the gateway does not read, a model the router does not route, a gateway that does not reach the
recording upstream). Judging the gateway then would be wrong: a report that says "not conformant" about
a typo is what a procurement reviewer would attach. So the probes the run makes anyway (route and
credential probes) are read first; when they show that the gateway cannot be tested as configured, the
run ends "not tested" with one line saying what to fix, and no test is run.

Only evidence that points at the set-up blocks the run; a gateway that answers but answers wrongly still
gets its verdict from the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from conformance.client import CONNECTION_FAILURES, Exchange

NOT_TESTED, ERROR = "not tested", "error"
# Suffixes a developer may wrongly keep in ANTHROPIC_BASE_URL: Claude Code appends /v1/messages itself.
API_SUFFIXES = ("/v1/messages", "/v1")
GATEWAY_UNREACHABLE_UPSTREAM = (502, 503, 504)  # what gateways answer when their upstream is down
RECORDER_SETUP_README = "README.md#with-the-recording-upstream-full-run"


@dataclass(frozen=True)
class Finding:
    """One preflight observation. A blocking finding ends the run with `verdict` before any test."""

    check: str  # reachability | base URL | credential | model | recording upstream | provider | rate limit | suite
    ok: bool
    message: str
    fix: str = ""
    blocks: bool = False
    verdict: str = NOT_TESTED

    def line(self) -> str:
        """The one line the terminal and the reports lead with."""
        text = f"{self.check}: {self.message}"
        return f"{text}. Fix: {self.fix}" if self.fix else text


@dataclass
class Preflight:
    findings: list[Finding] = field(default_factory=list)

    @property
    def blocker(self) -> Finding | None:
        return next((f for f in self.findings if f.blocks), None)

    def as_json(self) -> list[dict[str, object]]:
        return [{"check": f.check, "ok": f.ok, "message": f.message, "fix": f.fix, "blocks": f.blocks} for f in self.findings]


@dataclass(frozen=True)
class ProbeSetting:
    """What the run was told: the pieces of RunConfig the diagnosis reads."""

    gateway_url: str
    token_env: str
    model: str
    live: bool
    auth_declared_by_option: bool
    extra_header_names: tuple[str, ...] = ()


def suite_error(message: str, fix: str) -> Preflight:
    """The suite's own environment failed (e.g. the recording upstream cannot bind): never the gateway's fault."""
    return Preflight([Finding("suite environment", False, message, fix, blocks=True, verdict=ERROR)])


def diagnose(
    setting: ProbeSetting,
    probes: list[Exchange],
    credential_headers_accepted: tuple[str, ...],
    upstream_url: str | None,
    upstream_reached: bool,
    probe_at: Callable[[str], Exchange] | None = None,
    other_format: tuple[str, str, str] | None = None,
) -> Preflight:
    """Read the route and credential probes. probe_at(base_url) sends one more probe to another base URL
    (used to confirm the fix for a base URL that ends in /v1). other_format: (declared format, the format of a request
    the recording upstream received instead, that request's method and path)."""
    findings: list[Finding] = []
    if other_format is not None:
        declared, found, request = other_format
        return Preflight([Finding(
            "upstream format", False,
            f"the run declares --upstream-format {declared}, but the gateway sent the recording upstream {request}, a "
            f"{found} request: the recording upstream cannot play the provider the gateway talks to",
            f"run with --upstream-format {found} (README: translating gateways)", blocks=True)])
    answered = [e for e in probes if e.status is not None]
    if probes and not answered and all(e.error_kind in CONNECTION_FAILURES for e in probes):
        return Preflight([_unreachable(setting.gateway_url, probes[0])])
    if probes and not answered:
        findings.append(Finding("reachability", False, f"the gateway accepted connections but gave no HTTP response "
                                f"({probes[0].error}); the tests will fail on it"))
        return Preflight(findings)
    findings.append(Finding("reachability", True, f"{_host(setting.gateway_url)} answers HTTP"))
    served = any(e.status == 200 and e.completed for e in answered)  # a 200 whose body never came is no answer

    suffix = next((s for s in API_SUFFIXES if urlsplit(setting.gateway_url).path.rstrip("/").endswith(s)), None)
    if suffix:
        findings.append(_base_url_suffix(setting.gateway_url, suffix, served, answered, probe_at))
        if findings[-1].blocks:
            return Preflight(findings)

    if served:
        if credential_headers_accepted:
            findings.append(Finding("credential", True, f"accepted in {', '.join(credential_headers_accepted)}"))
        findings.append(Finding("model", True, f"{setting.model} is routed (the probe was answered HTTP 200)"))
        if upstream_url is not None and not upstream_reached:
            findings.append(Finding(
                "recording upstream", False,
                f"the gateway answered HTTP 200 but the recording upstream at {upstream_url} received no request: the "
                "gateway is routed to another upstream, so nothing the suite checks would be about this gateway",
                f"route the gateway's Anthropic upstream to {upstream_url} (a fixed address: --upstream-listen HOST:PORT; "
                f"{RECORDER_SETUP_README})", blocks=True))
        elif upstream_url is not None:
            findings.append(Finding("recording upstream", True, f"{upstream_url} receives the gateway's requests"))
        return Preflight(findings)

    findings.append(_refusal(setting, answered, upstream_url, upstream_reached))
    return Preflight(findings)


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _unreachable(gateway_url: str, probe: Exchange) -> Finding:
    parts = urlsplit(gateway_url)
    host = parts.hostname or gateway_url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if probe.error_kind == "dns":
        return Finding("reachability", False, f"cannot resolve the gateway's host {host} ({probe.error})",
                       "check the host name in --gateway-url (the ANTHROPIC_BASE_URL developers will use)", blocks=True)
    if probe.error_kind == "tls":
        return Finding("reachability", False, f"the TLS handshake with {host}:{port} failed ({probe.error})",
                       "serve a certificate this machine trusts; for a private CA, point SSL_CERT_FILE at its bundle "
                       "(the suite gives Claude Code the same bundle, as NODE_EXTRA_CA_CERTS)", blocks=True)
    if probe.error_kind == "connect-timeout":
        return Finding("reachability", False, f"no TCP connection to {host}:{port} ({probe.error})",
                       "check the address, and firewalls or proxies between this machine and the gateway", blocks=True)
    return Finding("reachability", False, f"nothing is listening at {host}:{port} ({probe.error})",
                   "start the gateway, or correct the host and port in --gateway-url", blocks=True)


def _base_url_suffix(gateway_url: str, suffix: str, served: bool, answered: list[Exchange],
                     probe_at: Callable[[str], Exchange] | None) -> Finding:
    fixed = gateway_url.rstrip("/")[: -len(suffix)]
    called = f"{gateway_url.rstrip('/')}/v1/messages"
    if served:
        return Finding("base URL", False, f"--gateway-url ends in {suffix}, and the gateway serves {called}: Claude Code "
                       "would work with this ANTHROPIC_BASE_URL, but most gateways expect it without the suffix",
                       f"check that developers are given {gateway_url} exactly")
    confirmation = ""
    if probe_at is not None:
        retry = probe_at(fixed)
        confirmation = f"; {fixed}/v1/messages answers {retry.summary(120)}" if retry.status is not None else ""
    return Finding("base URL", False,
                   f"--gateway-url ends in {suffix}: Claude Code appends /v1/messages, so it would call {called}, which "
                   f"answered {answered[0].summary(120)}{confirmation}",
                   f"drop {suffix}: set ANTHROPIC_BASE_URL (and --gateway-url) to {fixed}", blocks=True)


def _refusal(setting: ProbeSetting, answered: list[Exchange], upstream_url: str | None, upstream_reached: bool) -> Finding:
    """No probe was answered 200: say why, when the answers point at the set-up."""
    statuses = sorted({e.status for e in answered})
    first = answered[0].summary(160)
    naming_model = [e for e in answered if e.status in (400, 404, 422) and setting.model.lower() in e.body.decode("utf-8", "replace").lower()]
    if naming_model:
        return Finding("model", False, f"the gateway does not route the model {setting.model}: it answered {naming_model[0].summary(160)}",
                       "pass a model name the gateway routes with --model (the name developers will select in Claude Code)",
                       blocks=True)
    if setting.auth_declared_by_option:
        # The run declared the header the gateway reads: a refusal is AUTH-1's finding, not a set-up question.
        return Finding("credential", False, f"the header declared with --auth was refused ({first}); AUTH-1 reports it")
    if statuses and all(s in (401, 403) for s in statuses):
        return Finding("credential", False,
                       f"the gateway refused the key from ${setting.token_env} in Authorization: Bearer and in x-api-key ({first})",
                       f"check the value of {setting.token_env} (or name the right variable with --gateway-token-env): "
                       "it must be a key the gateway accepts", blocks=True)
    if statuses == [404]:
        sent = ", ".join(setting.extra_header_names) or "none"
        return Finding("base URL", False,
                       f"POST {setting.gateway_url.rstrip('/')}/v1/messages answered {first}, with every credential header",
                       "check the path prefix in --gateway-url (what developers put in ANTHROPIC_BASE_URL, without /v1); "
                       "if the gateway routes by a header (route, tenant, project), send it with --gateway-header 'Name: value' "
                       f"or --gateway-headers-env NAME (extra headers sent in this run: {sent})", blocks=True)
    if statuses == [429]:
        return Finding("rate limit", False, f"the gateway throttled the suite's first requests ({first})",
                       "lift the gateway's rate limit for the test key while the suite runs (Claude Code retries by itself)",
                       blocks=True)
    if setting.live and all(s in GATEWAY_UNREACHABLE_UPSTREAM for s in statuses):
        return Finding("provider", False, f"the gateway could not reach its provider: it answered {first}",
                       "check the gateway's provider configuration and the provider's status, then run again", blocks=True)
    if upstream_url is not None and not upstream_reached and all(s >= 500 for s in statuses):
        return Finding("recording upstream", False,
                       f"the gateway answered {first} and the recording upstream at {upstream_url} received nothing: the "
                       "gateway cannot reach it",
                       f"route the gateway's Anthropic upstream to {upstream_url} (a fixed address: --upstream-listen "
                       f"HOST:PORT; {RECORDER_SETUP_README})", blocks=True)
    return Finding("credential", False, f"no credential header was accepted (probe statuses {statuses}; first answer {first}); "
                   "the tests will judge what the gateway does")
