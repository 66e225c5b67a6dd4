"""A curl command that re-sends one exchange to the gateway, for a failed test's evidence: a gateway team
reproduces the failure without the suite. Secrets stay variables: the token as $GATEWAY_TOKEN (the
--gateway-token-env name), secret extra headers as variables named after the header."""

from __future__ import annotations

import re

from conformance.client import Exchange

MAX_REPRODUCED = 5  # requests per failed test
MAX_INLINE_BODY = 1024 * 1024  # larger bodies (BODY-16's 32 MB) are described, not inlined
BODY_DELIMITER = "CGC_REQUEST_BODY"


def header_variable(name: str) -> str:
    """X-Tenant-Key -> X_TENANT_KEY: the shell variable a secret header value is read from."""
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _double_quoted(text: str) -> str:
    """Text inside "..." in a POSIX shell, literally (no expansion)."""
    return re.sub(r'([\\"$`])', r"\\\1", text)


def _with_variables(value: str, secrets: dict[str, str]) -> str:
    """A double-quoted shell word in which each secret value becomes ${VARIABLE}."""
    quoted = _double_quoted(value)
    for secret, variable in sorted(secrets.items(), key=lambda item: len(item[0]), reverse=True):
        quoted = quoted.replace(_double_quoted(secret), "${" + variable + "}")
    return f'"{quoted}"'


def curl_command(exchange: Exchange, secrets: dict[str, str], timeout_s: float) -> str:
    """secrets: secret value -> shell variable holding it (the token, secret header values)."""
    lines = []
    needed = sorted({variable for secret, variable in secrets.items()
                     if secret and any(secret in value for _, value in exchange.request_headers)})
    if needed:
        lines.append(f"# needs {', '.join('$' + v for v in needed)} in the environment (a secret header's variable "
                     "holds its value from the --gateway-headers-env lines)")
    method = ["-I"] if exchange.method == "HEAD" else ["-X", exchange.method]
    words = [" ".join(["curl -sS -i -N --max-time", f"{timeout_s:g}", *method, _with_variables(exchange.url, secrets)])]
    words += [f"-H {_with_variables(f'{name}: {value}', secrets)}" for name, value in exchange.request_headers]
    body = exchange.request_body
    if body and len(body) > MAX_INLINE_BODY:
        lines.append(f"# the request body ({len(body)} bytes) is too large to show here; send a body of that size")
        words.append("--data-binary @body.json")
    elif body:
        text = body.decode("utf-8", errors="replace")
        # A quoted here-document inside $( ): the body literally, without the newline a plain one adds
        # (command substitution drops trailing newlines; the suite's JSON bodies end without one).
        words.append(f'--data-binary "$(cat <<\'{BODY_DELIMITER}\'\n{text}\n{BODY_DELIMITER}\n)"')
    lines.append(" \\\n  ".join(words))
    return "\n".join(lines)
