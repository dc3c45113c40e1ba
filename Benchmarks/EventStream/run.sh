#!/usr/bin/env bash
# Event-stream benchmarks: codec + Swift round trip (ordo-one/benchmark), then the real Python SDK doing the same
# request/response work against the Swift server in its own process, comparing CPU per request.
# Usage (from the repository root): bash Benchmarks/EventStream/run.sh [python-requests]
set -euo pipefail
cd "$(dirname "$0")"
requests="${1:-5000}"

swift package --disable-sandbox benchmark --target EventStreamBenchmarks --no-progress

swift build -c release --product IPCBenchServer
dir="$(mktemp -d /tmp/esbXXXXXX)"
socket="$dir/ipc.socket"
trap 'rm -rf "$dir"' EXIT
coproc SERVER { "$(swift build -c release --show-bin-path)/IPCBenchServer" "$socket"; }
read -r ready <&"${SERVER[0]}"
[ "$ready" = "READY" ] || { echo "server did not start" >&2; exit 1; }
# Measure the server's CPU over exactly the client's run: baseline it right before, read it right after.
result="$(python3 python_baseline.py "$socket" "$requests")"
eval "exec ${SERVER[1]}>&-"   # EOF on the server's stdin: it prints its CPU time and exits
read -r _ server_cpu <&"${SERVER[0]}"
wait "$SERVER_PID" || true
python3 - "$result" "$server_cpu" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); server_cpu = float(sys.argv[2]); n = r["requests"]
print("\nPython SDK (awsiotsdk clientv2) → Swift server, PublishToTopic, %d sequential requests" % n)
print("  ops/s            %10.0f" % r["ops_per_s"])
print("  p50 latency      %10.1f µs" % r["p50_us"])
print("  p99 latency      %10.1f µs" % r["p99_us"])
print("  client CPU/req   %10.1f µs" % (r["client_cpu_s"] / n * 1e6))
print("  server CPU/req   %10.1f µs  (includes the 200 warm-up requests; server process total / %d)" % (server_cpu / n * 1e6, n))
print("  server/client CPU ratio  %.3f  (target <= 0.1)" % (server_cpu / r["client_cpu_s"]))
PY
