#!/usr/bin/env bash
# LiteLLM proxy, pinned, against the conformance suite: install, configure, start, run, stop.
#   examples/gateways/litellm/run.sh [extra suite options]
source "$(dirname "$0")/../common.sh"
VERSION=1.106.12   # litellm[proxy] 1.110.x needs the litellm-proxy package, which this index lacks
VENV="$CACHE/litellm-$VERSION"
[ -x "$VENV/bin/litellm" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "litellm[proxy]==$VERSION"; }

GATEWAY_PORT=$(free_port); UPSTREAM_PORT=$(free_port)
export CGC_UPSTREAM_BASE="http://127.0.0.1:$UPSTREAM_PORT" CGC_UPSTREAM_KEY="cgc-upstream-key"
export LITELLM_MASTER_KEY="sk-cgc-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
export GATEWAY_TOKEN="$LITELLM_MASTER_KEY" LITELLM_TELEMETRY=False
GATEWAY_LOG="$CACHE/litellm.log"
"$VENV/bin/litellm" --config "$REPO/examples/gateways/litellm/config.yaml" --host 127.0.0.1 --port "$GATEWAY_PORT" >"$GATEWAY_LOG" 2>&1 &
GATEWAY_PID=$!
trap 'kill $GATEWAY_PID 2>/dev/null || true' EXIT
wait_for_port "$GATEWAY_PORT" "$GATEWAY_PID" 120
echo "LiteLLM $VERSION listening on 127.0.0.1:$GATEWAY_PORT, upstream 127.0.0.1:$UPSTREAM_PORT"
run_suite litellm "http://127.0.0.1:$GATEWAY_PORT" "$@"
