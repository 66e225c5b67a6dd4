# Shared by the gateway recipes: free ports, waiting for a listener, running the suite, timing.
# Sourced, not run. Every gateway runs on 127.0.0.1 only, routed to the suite's recording upstream.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="$REPO/.cache/gateways"   # pinned gateway installs (git ignores .cache/)
mkdir -p "$CACHE"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_for_port() {  # wait_for_port PORT PID SECONDS
  local deadline=$((SECONDS + $3))
  until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.5)" 2>/dev/null; do
    kill -0 "$2" 2>/dev/null || { echo "the gateway exited before listening; its log:" >&2; cat "$GATEWAY_LOG" >&2; return 1; }
    [ $SECONDS -lt $deadline ] || { echo "the gateway did not listen on $1 within $3 s; its log:" >&2; cat "$GATEWAY_LOG" >&2; return 1; }
    sleep 0.5
  done
}

# setup_of ARG SETUPS...: the set-up a recipe was asked for (its first argument when it names one, else the first).
setup_of() {
  local asked=$1; shift
  for setup in "$@"; do [ "$asked" = "$setup" ] && { echo "$setup"; return; }; done
  echo "$1"
}

# run_suite NAME GATEWAY_URL [suite options...]: the suite against a started gateway; keeps its exit status.
run_suite() {
  local name=$1 url=$2; shift 2
  local started=$SECONDS status=0
  (cd "$REPO" && python3 -m pytest --gateway-url "$url" --upstream-listen "127.0.0.1:$UPSTREAM_PORT" \
      --report-dir "reports/gateways/$name" "$@") || status=$?
  echo "$name: suite finished in $((SECONDS - started)) s with exit status $status; report: reports/gateways/$name/"
  return $status
}
