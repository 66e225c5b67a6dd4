"""RunConfig: the command-line options and the environment, resolved once into a frozen record."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from conformance.formats import ANTHROPIC, FORMAT_NAMES, family, translated
from conformance.formats.base import UpstreamFormat
from conformance.live import DEFAULT_TOKEN_BUDGET

AUTH_MODES = ("auto", "bearer", "x-api-key", "both")
UPSTREAM_MODES = ("recorder", "live")
FAIL_ON = ("must", "should")
DEFAULT_MODEL = "claude-sonnet-4-6"
DEFAULT_TOKEN_ENV = "GATEWAY_TOKEN"
# Bound on every network operation; a gateway slower than this on one read is treated as stalled.
DEFAULT_TIMEOUT_S = 30.0
# The suite's scripted streams pause up to 2 s between bytes (keep-alive and buffering scripts): a shorter read
# timeout would call a correct gateway stalled.
MIN_TIMEOUT_S = 3.0
# Shorter credentials cannot be redacted from reports without replacing ordinary text too.
MIN_TOKEN_LENGTH = 5


class ConfigError(ValueError):
    """An option or environment value the run cannot start with."""


@dataclass(frozen=True)
class RunConfig:
    gateway_url: str | None  # None: the bundled reference gateway is started
    token_env: str
    token: str = field(repr=False)  # never printed: repr, reports and transcripts leave it out
    auth: str
    model: str
    upstream_mode: str
    upstream_host: str
    upstream_port: int  # 0: a free port
    report_dir: Path
    fail_on: str
    timeout_s: float
    accepted: dict[str, str] = field(default_factory=dict)  # requirement ID -> written reason (--accept)
    # Sent on every request (--gateway-header, --gateway-headers-env); values from the variable are secrets.
    extra_headers: tuple[tuple[str, str], ...] = ()
    secret_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    headers_env: str | None = None
    claude_cli: str | None = None  # --claude-cli: the Claude Code binary for the end-to-end area
    serial: bool = False  # --serial: no overlapping of long deliberate waits (conformance.overlap)
    live_token_budget: int = DEFAULT_TOKEN_BUDGET  # --live-token-budget: cap on the tokens live mode may spend
    upstream_format: str = ANTHROPIC  # --upstream-format: the wire format the gateway speaks to its upstream

    @property
    def provider(self) -> UpstreamFormat | None:
        """The provider the recording upstream plays; None for the Anthropic API (a relay)."""
        return translated(self.upstream_format)

    @property
    def upstream_family(self) -> str:
        return family(self.upstream_format)

    @property
    def uses_reference_gateway(self) -> bool:
        return self.gateway_url is None

    @property
    def live(self) -> bool:
        return self.upstream_mode == "live"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a report, log or transcript."""
        return (self.token, *(value for _, value in self.secret_headers))

    @property
    def gateway_headers(self) -> tuple[tuple[str, str], ...]:
        """Every extra header the run sends, the plain ones first."""
        return self.extra_headers + self.secret_headers

    def header_placeholder(self, name: str) -> str:
        """How a secret header value is shown in reports: <GATEWAY_HEADERS:X-Tenant-Key>."""
        return f"{self.headers_env}:{name}"



def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"--upstream-listen wants HOST:PORT, got {value!r}")
    return host, int(port)


def build_config(
    *,
    gateway_url: str | None,
    token_env: str = DEFAULT_TOKEN_ENV,
    auth: str = "auto",
    model: str = DEFAULT_MODEL,
    upstream_mode: str = "recorder",
    upstream_listen: str | None = None,
    report_dir: str | Path = "reports",
    fail_on: str = "must",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    accept: list[str] | None = None,
    accept_file: str | Path | None = None,
    gateway_header: list[str] | None = None,
    gateway_headers_env: str | None = None,
    claude_cli: str | None = None,
    serial: bool = False,
    live_token_budget: int = DEFAULT_TOKEN_BUDGET,
    upstream_format: str = ANTHROPIC,
    environ: dict[str, str] | None = None,
) -> RunConfig:
    environ = os.environ if environ is None else environ
    if auth not in AUTH_MODES:
        raise ConfigError(f"--auth must be one of {AUTH_MODES}, got {auth!r}")
    if upstream_mode not in UPSTREAM_MODES:
        raise ConfigError(f"--upstream must be one of {UPSTREAM_MODES}, got {upstream_mode!r}")
    if fail_on not in FAIL_ON:
        raise ConfigError(f"--fail-on must be one of {FAIL_ON}, got {fail_on!r}")
    if timeout_s < MIN_TIMEOUT_S:
        raise ConfigError(f"--timeout must be at least {MIN_TIMEOUT_S:g} s: the suite's scripted streams pause up to 2 s "
                          "between bytes, and a shorter read timeout would call a correct gateway stalled")
    if upstream_format not in FORMAT_NAMES:
        raise ConfigError(f"--upstream-format must be one of {FORMAT_NAMES}, got {upstream_format!r}")
    if live_token_budget < 0:
        raise ConfigError(f"--live-token-budget wants a number of tokens, 0 or more, got {live_token_budget}")
    token = environ.get(token_env, "")
    if gateway_url is None:
        if upstream_mode == "live":
            raise ConfigError("--upstream live needs --gateway-url: the reference gateway only talks to the recorder")
        # The reference gateway accepts whatever token the run uses; make one up when none is set.
        token = token or "cgc-" + secrets.token_urlsafe(24)
    elif 0 < len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"the credential in {token_env} is {len(token)} characters long; the suite removes it from every "
                          f"report and log, which needs at least {MIN_TOKEN_LENGTH} characters to work without mangling them")
    elif not token:
        raise ConfigError(
            f"the gateway credential is read from the environment variable {token_env} "
            f"(set it, or name another with --gateway-token-env); it is never taken as an option value"
        )
    else:
        gateway_url = gateway_url.rstrip("/")
        if not gateway_url.startswith(("http://", "https://")):
            raise ConfigError(f"--gateway-url must start with http:// or https://, got {gateway_url!r}")
    host, port = parse_listen(upstream_listen) if upstream_listen else ("127.0.0.1", 0)
    accepted = parse_accepted(list(accept or []) + (read_accept_file(accept_file) if accept_file else []))
    extra_headers = tuple(parse_header_line(line, "--gateway-header") for line in gateway_header or [])
    secret_headers: tuple[tuple[str, str], ...] = ()
    if gateway_headers_env:
        if gateway_headers_env not in environ:
            raise ConfigError(f"--gateway-headers-env names {gateway_headers_env}, which is not set in the environment")
        lines = [line for line in environ[gateway_headers_env].splitlines() if line.strip()]
        secret_headers = tuple(parse_header_line(line, f"${gateway_headers_env}", show_value=False) for line in lines)
    return RunConfig(
        gateway_url=gateway_url,
        token_env=token_env,
        token=token,
        auth=auth,
        model=model,
        upstream_mode=upstream_mode,
        upstream_host=host,
        upstream_port=port,
        report_dir=Path(report_dir),
        fail_on=fail_on,
        timeout_s=float(timeout_s),
        accepted=accepted,
        extra_headers=extra_headers,
        secret_headers=secret_headers,
        headers_env=gateway_headers_env,
        claude_cli=claude_cli,
        serial=serial,
        live_token_budget=live_token_budget,
        upstream_format=upstream_format,
    )


HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token


def parse_header_line(line: str, origin: str, show_value: bool = True) -> tuple[str, str]:
    """`Name: value`, the ANTHROPIC_CUSTOM_HEADERS format, as a (name, value) pair."""
    name, sep, value = line.partition(":")
    name, value = name.strip(), value.strip()
    named = bool(sep and HEADER_NAME.match(name))
    if not named or any(c in value for c in "\r\n\0"):
        if show_value:
            shown = repr(line)
        else:  # the line may hold a secret: show at most a well-formed name
            shown = f"'{name}: <hidden>'" if named else "a line without a 'Name:' (not shown: it may hold a secret)"
        raise ConfigError(f"{origin} wants 'Name: value' header lines, got {shown}")
    return name, value


def read_accept_file(path: str | Path) -> list[str]:
    """One `ID=reason` per line; blank lines and lines starting with # are ignored."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"--accept-file {path}: {exc}") from None
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def parse_accepted(entries: list[str]) -> dict[str, str]:
    from conformance.catalog import catalog

    accepted = {}
    for entry in entries:
        requirement_id, sep, reason = entry.partition("=")
        requirement_id, reason = requirement_id.strip(), reason.strip()
        if not sep or not reason:
            raise ConfigError(f"--accept wants ID=reason (a known failure needs a written reason), got {entry!r}")
        if requirement_id not in catalog():
            raise ConfigError(f"--accept names {requirement_id!r}, which is not a requirement in the catalogue")
        accepted[requirement_id] = reason
    return accepted
