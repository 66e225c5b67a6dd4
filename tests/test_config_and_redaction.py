"""RunConfig from options and environment; redaction of credentials."""

from __future__ import annotations

import pytest

from conformance.client import Exchange, render_exchange
from conformance.config import ConfigError, build_config
from conformance.redaction import Redactor


def test_token_comes_from_the_named_environment_variable_and_never_from_repr():
    config = build_config(gateway_url="https://gw.example.com/anthropic/", token_env="MY_TOKEN", environ={"MY_TOKEN": "s3cret"})
    assert config.token == "s3cret" and config.gateway_url == "https://gw.example.com/anthropic"
    assert "s3cret" not in repr(config)


def test_token_too_short_to_redact_is_a_usage_error_that_does_not_show_it():
    with pytest.raises(ConfigError, match="in GATEWAY_TOKEN is 1 characters long") as refused:
        build_config(gateway_url="https://gw.example.com", environ={"GATEWAY_TOKEN": "x"})
    assert "'x'" not in str(refused.value)


def test_missing_token_for_a_real_gateway_is_a_usage_error_naming_the_variable():
    with pytest.raises(ConfigError, match="GATEWAY_TOKEN"):
        build_config(gateway_url="https://gw.example.com", environ={})


def test_reference_gateway_makes_up_a_token_when_none_is_set():
    assert build_config(gateway_url=None, environ={}).token.startswith("cgc-")


@pytest.mark.parametrize("kwargs", [{"auth": "cookie"}, {"upstream_mode": "mock"}, {"fail_on": "may"},
                                    {"upstream_listen": "8080"}, {"timeout_s": 0}])
def test_bad_option_values_are_refused(kwargs):
    with pytest.raises(ConfigError):
        build_config(gateway_url=None, environ={}, **kwargs)


def test_live_mode_needs_a_gateway_url():
    with pytest.raises(ConfigError, match="--gateway-url"):
        build_config(gateway_url=None, upstream_mode="live", environ={})


def test_redactor_replaces_every_secret_longest_first():
    redactor = Redactor()
    redactor.add("abc", "SHORT")
    redactor.add("abcdef", "LONG")
    assert redactor.redact("x abcdef y abc") == "x <LONG> y <SHORT>"


def test_rendered_exchange_never_shows_the_token():
    exchange = Exchange("t", "POST", "http://gw/v1/messages", [("Authorization", "Bearer tok-123"), ("x-api-key", "tok-123")],
                        b'{"echo":"tok-123"}', 0.0, status=401, chunks=[(0.1, b"bad key tok-123")])
    redactor = Redactor()
    redactor.add("tok-123", "GATEWAY_TOKEN")
    text = render_exchange(exchange, redactor)
    assert "tok-123" not in text and "<GATEWAY_TOKEN>" in text


def test_gateway_headers_come_from_options_and_a_secret_variable():
    config = build_config(gateway_url=None, gateway_header=["X-Route:  team-a "], gateway_headers_env="HDRS",
                          environ={"HDRS": "X-Tenant-Key: k-123\n\nX-Project: p"})
    assert config.gateway_headers == (("X-Route", "team-a"), ("X-Tenant-Key", "k-123"), ("X-Project", "p"))
    assert {"k-123", "p"} <= set(config.secrets) and "team-a" not in config.secrets
    assert "k-123" not in repr(config) and config.header_placeholder("X-Tenant-Key") == "HDRS:X-Tenant-Key"


@pytest.mark.parametrize("line", ["no colon", "Bad Name: v", ": empty name"])
def test_malformed_header_lines_are_refused(line):
    with pytest.raises(ConfigError, match="--gateway-header"):
        build_config(gateway_url=None, environ={}, gateway_header=[line])


def test_curl_command_keeps_secrets_as_variables_and_the_body_exact():
    import subprocess

    from conformance.repro import curl_command

    body = '{"text":"it\'s \\"quoted\\" $HOME `x` \\\\ caf\u00e9"}'.encode()
    exchange = Exchange("t", "POST", "http://127.0.0.1:9/v1/messages?beta=true",
                        [("Authorization", "Bearer tok-1"), ("X-Tenant-Key", "k-2"), ("X-Plain", 'a"b$c')], body, 0.0)
    command = curl_command(exchange, {"tok-1": "GATEWAY_TOKEN", "k-2": "X_TENANT_KEY"}, 5)
    assert "tok-1" not in command and "k-2" not in command
    assert "${GATEWAY_TOKEN}" in command and "${X_TENANT_KEY}" in command
    # What the shell makes of the command: print curl's arguments instead of running it.
    echoed = subprocess.run(["bash", "-c", "curl() { printf '%s\\n' \"$@\"; }\n" + command], capture_output=True,
                            env={"GATEWAY_TOKEN": "tok-1", "X_TENANT_KEY": "k-2", "PATH": "/usr/bin:/bin"})
    arguments = echoed.stdout.decode().split("\n")
    assert "Authorization: Bearer tok-1" in arguments and "X-Tenant-Key: k-2" in arguments and 'X-Plain: a"b$c' in arguments
    assert body.decode() in echoed.stdout.decode() and f"{body.decode()}\n" == echoed.stdout.decode().split("--data-binary\n", 1)[1]
