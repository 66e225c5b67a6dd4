#!/usr/bin/env bash
# claude-code-router (ccr), pinned, against the conformance suite: install, configure, start, run, stop.
# Its "Anthropic" transformer passes Claude-format requests to an Anthropic-format provider: here the
# suite's recording upstream.   examples/gateways/claude-code-router/run.sh [SETUP] [extra suite options]
# SETUP: anthropic (the Anthropic transformer, config.json; the default), openai (an OpenAI-format provider, no
# transformer: chat completions), gemini (its gemini transformer: the Gemini API).
source "$(dirname "$0")/../common.sh"
SETUP=$(setup_of "${1:-}" anthropic openai gemini); [ "${1:-}" = "$SETUP" ] && shift
CONFIG="$REPO/examples/gateways/claude-code-router/config.json"; NAME=claude-code-router
[ "$SETUP" = anthropic ] || { CONFIG="$REPO/examples/gateways/claude-code-router/config.$SETUP.json"; NAME="claude-code-router-$SETUP"; }
VERSION=2.0.0   # 3.x needs Node 22 and is configured through its UI's database; 2.0.0 reads config.json
PREFIX="$CACHE/claude-code-router-$VERSION"
[ -x "$PREFIX/node_modules/.bin/ccr" ] || npm install --no-audit --no-fund --prefix "$PREFIX" "@musistudio/claude-code-router@$VERSION"

GATEWAY_PORT=$(free_port); UPSTREAM_PORT=$(free_port)
CCR_HOME="$CACHE/claude-code-router-home"   # ccr reads ~/.claude-code-router/config.json: a private HOME
rm -rf "$CCR_HOME" && mkdir -p "$CCR_HOME/.claude-code-router"
export CCR_PORT=$GATEWAY_PORT CGC_UPSTREAM_MESSAGES_URL="http://127.0.0.1:$UPSTREAM_PORT/v1/messages"
export CGC_UPSTREAM_BASE="http://127.0.0.1:$UPSTREAM_PORT"
export CCR_APIKEY="cgc-ccr-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
export GATEWAY_TOKEN="$CCR_APIKEY"
cp "$CONFIG" "$CCR_HOME/.claude-code-router/config.json"
GATEWAY_LOG="$CACHE/$NAME.log"
HOME="$CCR_HOME" node "$PREFIX/node_modules/@musistudio/claude-code-router/dist/cli.js" start >"$GATEWAY_LOG" 2>&1 &
GATEWAY_PID=$!
trap 'HOME="$CCR_HOME" node "$PREFIX/node_modules/@musistudio/claude-code-router/dist/cli.js" stop >/dev/null 2>&1 || true; kill $GATEWAY_PID 2>/dev/null || true' EXIT
wait_for_port "$GATEWAY_PORT" "$GATEWAY_PID" 60
echo "claude-code-router $VERSION ($SETUP) listening on 127.0.0.1:$GATEWAY_PORT, upstream 127.0.0.1:$UPSTREAM_PORT"
run_suite "$NAME" "http://127.0.0.1:$GATEWAY_PORT" --upstream-format "$SETUP" "$@"
