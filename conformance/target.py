"""The system under test: the gateway (given, or the bundled reference), the recording upstream,
and what the suite learns about them once per run (which credential header works, which optional
endpoints are served)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from conformance.client import CLAUDE_CODE_VARIABLE, Exchange, GatewayClient, StallGuard
from conformance.config import RunConfig
from conformance.live import TokenMeter
from conformance.redaction import Redactor
from conformance.reference import ReferenceGateway
from conformance.requests import COUNT_TOKENS_PATH, MESSAGES_PATH, Routes, captured_headers, message_body
from conformance.serving import BackgroundServer
from conformance.upstream import RecordingUpstream

NOT_SERVED_STATUSES = (404, 501)
# PATH-6 advice: answer the connection-warming HEAD within a few seconds (any status is fine).
STARTUP_PROBE_DEADLINE_S = 5.0  # an optional endpoint the gateway does not implement (TOK-3, PATH-3/4)


@dataclass
class Target:
    config: RunConfig
    gateway_url: str
    upstream: RecordingUpstream | None
    upstream_url: str | None
    redactor: Redactor
    servers: list[BackgroundServer] = field(default_factory=list)
    stall_guard: StallGuard = field(default_factory=StallGuard)
    token_meter: TokenMeter | None = None  # live mode: the provider bills the suite's requests

    def __post_init__(self) -> None:
        self.stall_guard.timeout_s = self.config.timeout_s
        if self.config.live:
            self.token_meter = TokenMeter(self.config.live_token_budget, self.config.model)

    def client(self, credential_mode: str, routes: Routes = Routes(), base_url: str | None = None) -> GatewayClient:
        return GatewayClient(
            base_url or self.gateway_url, self.config.token, credential_mode=credential_mode,
            timeout_s=self.config.timeout_s, redactor=self.redactor, routes=routes, stall_guard=self.stall_guard,
            extra_headers=self.config.gateway_headers, token_meter=self.token_meter,
        )

    def close(self) -> None:
        for server in reversed(self.servers):
            server.stop()


def start_target(config: RunConfig, redactor: Redactor) -> Target:
    """Start the recording upstream (recorder mode) and, without --gateway-url, the reference gateway."""
    servers: list[BackgroundServer] = []
    upstream = None
    upstream_url = None
    try:
        if not config.live:
            upstream = RecordingUpstream(config.provider)
            server = BackgroundServer(upstream, config.upstream_host, config.upstream_port, "recording upstream")
            servers.append(server.start())
            upstream_url = server.url
        gateway_url = config.gateway_url
        if gateway_url is None:
            upstream_key = "ref-upstream-" + secrets.token_hex(12)
            redactor.add(upstream_key, "REFERENCE_UPSTREAM_KEY")
            gateway = ReferenceGateway(upstream_url or "", config.token, upstream_key, upstream_format=config.provider)
            servers.append(BackgroundServer(gateway.app(), name="reference gateway").start())
            gateway_url = servers[-1].url
    except Exception:
        for server in reversed(servers):
            server.stop()
        raise
    return Target(config, gateway_url, upstream, upstream_url, redactor, servers)


def resolve_routes(target: Target, client: GatewayClient) -> Routes:
    for credentials in ("both", "bearer", "x-api-key"):
        for path in (MESSAGES_PATH, MESSAGES_PATH.split("?")[0]):
            status = probe_request(client, target, credentials, f"route probe: {path}", path).status
            if status == 200:
                if "?" in path:
                    return Routes()
                return Routes(path, COUNT_TOKENS_PATH.split("?")[0], query_refused=True)
    return Routes()


@dataclass(frozen=True)
class AuthResolution:
    """How the run sends the credential and which header(s) the gateway reads (AUTH-1's declaration)."""

    mode: str  # what requests carry: bearer | x-api-key | both
    declared: tuple[str, ...]  # headers the gateway reads
    found_by: str  # "--auth" or "probing"
    probe_statuses: dict[str, int | None] = field(default_factory=dict)

    @property
    def working(self) -> bool:
        return bool(self.declared)

    @property
    def claude_code_variable(self) -> str:
        """What a developer sets for this gateway."""
        if set(self.declared) >= {"bearer", "x-api-key"}:
            return "ANTHROPIC_AUTH_TOKEN or ANTHROPIC_API_KEY"
        if self.declared:
            return CLAUDE_CODE_VARIABLE[self.declared[0]]
        return "none works"


def probe_marker(target: Target) -> str:
    return target.upstream.scenario().marker if target.upstream else "conformance-scenario probe"


def probe_request(client: GatewayClient, target: Target, credentials: str, label: str, path: str = MESSAGES_PATH):
    return client.send(
        "POST", path, headers=captured_headers("messages"),
        body=message_body(target.config.model, probe_marker(target)), credentials=credentials, label=label,
    )


def probe_at(target: Target, client: GatewayClient, base_url: str, routes: Routes) -> Exchange:
    """One probe at another base URL (the preflight's check of a suggested ANTHROPIC_BASE_URL)."""
    other = target.client(client.credential_mode, routes, base_url=base_url)
    try:
        return probe_request(other, target, "both", f"preflight: the base URL {base_url}", routes.messages)
    finally:
        client.exchanges.extend(other.exchanges)  # the run's evidence and request count include it
        other.close()


def resolve_auth(target: Target, client: GatewayClient, routes: Routes) -> AuthResolution:
    mode = target.config.auth
    if mode == "bearer":
        return AuthResolution("bearer", ("bearer",), "--auth")
    if mode == "x-api-key":
        return AuthResolution("x-api-key", ("x-api-key",), "--auth")
    if mode == "both":
        return AuthResolution("both", ("bearer", "x-api-key"), "--auth")
    statuses = {
        header: probe_request(client, target, header, f"auth probe: credential in {header} alone", routes.messages).status
        for header in ("bearer", "x-api-key")
    }
    declared = tuple(h for h, status in statuses.items() if status == 200)
    return AuthResolution(declared[0] if declared else "bearer", declared, "probing", statuses)


@dataclass(frozen=True)
class Endpoints:
    """Which optional endpoints the gateway serves (PATH-3, PATH-4), probed with a valid credential."""

    count_tokens_status: int | None
    models_status: int | None
    models_status_without_credential: int | None
    startup_probe: str = ""  # HEAD {base}/api/hello, reported only (PATH-6 is informative)

    @property
    def count_tokens_served(self) -> bool:
        return self.count_tokens_status not in NOT_SERVED_STATUSES

    @property
    def models_served(self) -> bool:
        return self.models_status not in NOT_SERVED_STATUSES

    @property
    def models_authenticated(self) -> bool:
        return self.models_served and self.models_status_without_credential != 200


def probe_endpoints(target: Target, client: GatewayClient) -> Endpoints:
    model = target.config.model
    count = client.call("count_tokens", model, probe_marker(target), label="probe: is count_tokens served?")
    models = client.get_models(label="probe: is /v1/models served?")
    open_models = client.get_models(credentials="none", label="probe: does /v1/models need a credential?")
    hello = client.send("HEAD", "/api/hello", deadline_s=STARTUP_PROBE_DEADLINE_S, label="start-up probe (PATH-6, informative)")
    hello_result = (f"HTTP {hello.status} in {hello.elapsed_s:.3f} s" if hello.status is not None
                    else f"no answer ({hello.error})")
    return Endpoints(count.status, models.status, open_models.status, hello_result)
