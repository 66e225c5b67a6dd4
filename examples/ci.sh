#!/usr/bin/env bash
# Gate a gateway release on Claude Code conformance (any CI system).
# Needs: GATEWAY_URL (what developers put in ANTHROPIC_BASE_URL) and GATEWAY_TOKEN (a key the gateway accepts),
# Node and npm, and the gateway under test routed to the recording upstream at 127.0.0.1:9090.
set -euo pipefail
pip install claude-gateway-conformance
npm install -g @anthropic-ai/claude-code@2.1.331   # the real CLI for the end-to-end area (found as `claude` on PATH)
status=0
claude-gateway-conformance --gateway-url="$GATEWAY_URL" --upstream-listen=127.0.0.1:9090 \
    --report-dir=reports --fail-on=must ${ACCEPT_FILE:+--accept-file="$ACCEPT_FILE"} || status=$?
cat reports/conformance.md            # the verdict and failures in the job log
exit "$status"                        # 0 conformant at MUST level, 1 a MUST failed, 3 suite error, 4 usage error
