#!/usr/bin/env bash
# LiteLLM proxy, pinned, against the conformance suite: install, configure, start, run, stop.
#   examples/gateways/litellm/run.sh [SETUP] [extra suite options]
# SETUP: anthropic (a relay, config.yaml; the default), openai-responses (an openai/ model: LiteLLM's /v1/messages
# sends it to /v1/responses), openai-chat (a hosted_vllm/ model: chat completions), bedrock (a bedrock/ Claude
# model, InvokeModel, endpoint override and dummy AWS credentials).
source "$(dirname "$0")/../common.sh"
SETUP=$(setup_of "${1:-}" anthropic openai-responses openai-chat bedrock); [ "${1:-}" = "$SETUP" ] && shift
declare -A FORMAT=([anthropic]=anthropic [openai-responses]=openai-responses [openai-chat]=openai [bedrock]=bedrock)
CONFIG="$REPO/examples/gateways/litellm/config.yaml"; NAME=litellm
[ "$SETUP" = anthropic ] || { CONFIG="$REPO/examples/gateways/litellm/config.$SETUP.yaml"; NAME="litellm-$SETUP"; }
VERSION=1.106.12   # litellm[proxy] 1.110.x needs the litellm-proxy package, which this index lacks
VENV="$CACHE/litellm-$VERSION"
[ -x "$VENV/bin/litellm" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "litellm[proxy]==$VERSION"; }

GATEWAY_PORT=$(free_port); UPSTREAM_PORT=$(free_port)
export CGC_UPSTREAM_BASE="http://127.0.0.1:$UPSTREAM_PORT" CGC_UPSTREAM_KEY="cgc-upstream-key"
export CGC_UPSTREAM_OPENAI_BASE="http://127.0.0.1:$UPSTREAM_PORT/v1"
export LITELLM_MASTER_KEY="sk-cgc-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
export GATEWAY_TOKEN="$LITELLM_MASTER_KEY" LITELLM_TELEMETRY=False
GATEWAY_LOG="$CACHE/$NAME.log"
"$VENV/bin/litellm" --config "$CONFIG" --host 127.0.0.1 --port "$GATEWAY_PORT" >"$GATEWAY_LOG" 2>&1 &
GATEWAY_PID=$!
trap 'kill $GATEWAY_PID 2>/dev/null || true' EXIT
wait_for_port "$GATEWAY_PORT" "$GATEWAY_PID" 120
echo "LiteLLM $VERSION ($SETUP) listening on 127.0.0.1:$GATEWAY_PORT, upstream 127.0.0.1:$UPSTREAM_PORT"
run_suite "$NAME" "http://127.0.0.1:$GATEWAY_PORT" --upstream-format "${FORMAT[$SETUP]}" "$@"
