#!/usr/bin/env bash
# Nucleus start-up, memory and deployment latency, measured on the release binaries (issue 5's benchmark).
#   bash scripts/bench-nucleus.sh [RUNS]
# Prints: time from exec to the IPC socket accepting a connection, time to the restored components RUNNING after
# a restart, idle RSS/PSS of the nucleus with the two samples deployed, and `deployment create` → RUNNING for a
# component with a trivial install. Each figure is the median of RUNS (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
if [ -n "${GG_BIN_DIR:-}" ]; then
    BIN="$GG_BIN_DIR"    # already-built release binaries
else
    source scripts/lib/release-build.sh
    release_build >/dev/null
    BIN="$(release_bin_path)"
fi
# WORK, PIDS (each stopped on exit, then WORK removed), wait_for (scripts/lib/work-directory.sh)
source scripts/lib/work-directory.sh
make_work_directory ggbench
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$PORT" > "$WORK/mosquitto.conf"
/usr/sbin/mosquitto -c "$WORK/mosquitto.conf" >/dev/null 2>&1 &
PIDS+=($!)
printf 'system:\n  thingName: bench\nservices:\n  aws.greengrass.Nucleus:\n    configuration:\n      iotDataEndpoint: 127.0.0.1\n      mqtt:\n        port: %s\n' "$PORT" > "$WORK/config.yaml"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ns() { date +%s%N; }

# start_nucleus BINARY ROOT [ARGS...] (scripts/lib/start-nucleus.sh)
source scripts/lib/start-nucleus.sh  # the working directory is the repository root from here on
stop_nucleus() { kill -TERM "$1"; wait_for "nucleus $1 stopped" 300 sh -c "! kill -0 $1 2>/dev/null"; }
running() { [ "$("$ROOT/bin/greengrass-cli" component list | grep -c 'State: RUNNING')" -ge "$1" ]; }

echo "== start to IPC socket accepting (empty root), ms"
for i in $(seq 1 "$RUNS"); do
    read -r ms pid < <(start_nucleus "$BIN/greengrass-nucleus" "$WORK/start$i")
    PIDS+=("$pid")
    stop_nucleus "$pid"
    echo "$ms"
done | median | sed 's/^/median: /'

ROOT="$WORK/root"
read -r _ NPID < <(start_nucleus "$BIN/greengrass-nucleus" "$ROOT" --config "$WORK/config.yaml")
PIDS+=("$NPID")
"$ROOT/bin/greengrass-cli" deployment create --recipeDir recipes --artifactDir artifacts \
    --merge com.example.IoTCorePublisher=1.0.0 --merge com.example.IoTCoreSubscriber=1.0.0 >/dev/null
wait_for "the samples RUNNING" 200 running 2
sleep 5
echo "== idle memory of the nucleus with the two samples deployed (after 5 s)"
grep -E "VmRSS|RssAnon|RssFile" /proc/$NPID/status
awk '/^Pss:/ {s+=$2} END {print "Pss:\t" s " kB"}' /proc/$NPID/smaps

echo "== deployment create -> RUNNING, trivial install (Install: true, Run: sleep), ms"
mkdir -p "$WORK/r"
for i in $(seq 1 "$RUNS"); do
    printf 'RecipeFormatVersion: "2020-01-25"\nComponentName: bench.Trivial\nComponentVersion: "1.0.%s"\nManifests:\n  - Lifecycle:\n      Install: "true"\n      Run: exec sleep 600\n' "$i" > "$WORK/r/trivial.yaml"
    t0=$(now_ns)
    "$ROOT/bin/greengrass-cli" deployment create --recipeDir "$WORK/r" --merge "bench.Trivial=1.0.$i" >/dev/null
    # Polled without a pause (the figure includes the polling), bounded at 3,000 polls.
    for _ in $(seq 1 3000); do
        details="$("$ROOT/bin/greengrass-cli" component details -n bench.Trivial)"
        grep -q "Version: 1.0.$i" <<<"$details" && grep -q "State: RUNNING" <<<"$details" && break
    done
    echo $(( ($(now_ns) - t0) / 1000000 ))
done | median | sed 's/^/median (includes the CLI polling): /'

echo "== restart: SIGTERM, start again (3 deployed components): socket accepting, and all RUNNING, ms"
stop_nucleus "$NPID"
: > "$WORK/restart-socket"; : > "$WORK/restart-running"
for i in $(seq 1 "$RUNS"); do
    t0=$(now_ns)
    read -r ms NPID < <(start_nucleus "$BIN/greengrass-nucleus" "$ROOT")
    PIDS+=("$NPID")
    echo "$ms" >> "$WORK/restart-socket"
    for _ in $(seq 1 3000); do running 3 && break; done
    echo $(( ($(now_ns) - t0) / 1000000 )) >> "$WORK/restart-running"
    stop_nucleus "$NPID"
done
median < "$WORK/restart-socket" | sed 's/^/median to socket accepting: /'
median < "$WORK/restart-running" | sed 's/^/median to all RUNNING: /'
