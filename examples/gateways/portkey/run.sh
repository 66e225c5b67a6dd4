#!/usr/bin/env bash
# The Portkey AI gateway (open source), pinned, against the conformance suite. Portkey routes by request
# headers: x-portkey-provider picks the provider, x-portkey-custom-host its base URL (here the suite's
# recording upstream), so the suite sends them with --gateway-header, as Claude Code would send them
# from ANTHROPIC_CUSTOM_HEADERS. The credential is passed through to the provider (Portkey's open-source
# gateway has no client keys of its own).   examples/gateways/portkey/run.sh [SETUP] [extra suite options]
# SETUP: anthropic (the default) or bedrock (x-portkey-provider: bedrock, which Portkey calls through Bedrock Converse, with the custom host and dummy AWS
# credentials in headers; Portkey's /v1/messages translates only for Anthropic, Bedrock and Vertex providers).
source "$(dirname "$0")/../common.sh"
SETUP=$(setup_of "${1:-}" anthropic bedrock); [ "${1:-}" = "$SETUP" ] && shift
NAME=portkey; [ "$SETUP" = anthropic ] || NAME="portkey-$SETUP"
VERSION=1.15.2
PREFIX="$CACHE/portkey-gateway-$VERSION"
[ -f "$PREFIX/node_modules/@portkey-ai/gateway/build/start-server.js" ] || npm install --no-audit --no-fund --prefix "$PREFIX" "@portkey-ai/gateway@$VERSION"

GATEWAY_PORT=$(free_port); UPSTREAM_PORT=$(free_port)
export GATEWAY_TOKEN="cgc-portkey-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
GATEWAY_LOG="$CACHE/$NAME.log"
node -r "$REPO/examples/gateways/bind-loopback.cjs" "$PREFIX/node_modules/@portkey-ai/gateway/build/start-server.js" --port="$GATEWAY_PORT" --headless >"$GATEWAY_LOG" 2>&1 &
GATEWAY_PID=$!
trap 'kill $GATEWAY_PID 2>/dev/null || true' EXIT
wait_for_port "$GATEWAY_PORT" "$GATEWAY_PID" 60
echo "Portkey gateway $VERSION ($SETUP) listening on 127.0.0.1:$GATEWAY_PORT, upstream 127.0.0.1:$UPSTREAM_PORT"
if [ "$SETUP" = bedrock ]; then
  # Dummy AWS credentials: the recording upstream does not check SigV4 signatures.
  run_suite "$NAME" "http://127.0.0.1:$GATEWAY_PORT" --upstream-format bedrock-converse \
    --gateway-header "x-portkey-provider: bedrock" \
    --gateway-header "x-portkey-custom-host: http://127.0.0.1:$UPSTREAM_PORT" \
    --gateway-header "x-portkey-aws-access-key-id: AKIDCONFORMANCEDUMMY" \
    --gateway-header "x-portkey-aws-secret-access-key: cgc-dummy-secret" \
    --gateway-header "x-portkey-aws-region: us-east-1" "$@"
else
  run_suite "$NAME" "http://127.0.0.1:$GATEWAY_PORT" \
    --gateway-header "x-portkey-provider: anthropic" \
    --gateway-header "x-portkey-custom-host: http://127.0.0.1:$UPSTREAM_PORT/v1" "$@"
fi
